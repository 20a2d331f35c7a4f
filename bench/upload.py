"""A warm app's answer to an upload: from choosing a file to its verdict on the page, in a real browser.

Prints figures; asserts nothing. Run: ``python -m bench.upload [--songs 6] [--seconds 30]``.

One server is started and warmed up (its model loaded, a first song analysed and explained, as
after a few minutes of use). Then each song, a stretch of a different demo track cut and encoded
here as a 192 kbit/s MP3 (new bytes: no cached result), is uploaded from a fresh page, and two
moments are timed from ``set_input_files``: the verdict's heading is on the page (what "within a
second" promises), and the whole page is (the charts, the "why" map, the downloads).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.load import CHROMIUM, CHROMIUM_ARGS
from deploy.replicas import app_command, free_port, healthy, stop_process
from tests.support import ROOT, machine, sounds

HEADING = re.compile(r"\d+%|^This sounds like|not sound like music|silence|no steady beat")  # every headline
TIMEOUT_S = 120


def songs(folder: Path, count: int, seconds: float) -> list[Path]:
    """``count`` MP3s of real music, each beginning with another demo track."""
    return [sounds.medley(folder / f"song{i}.mp3", seconds, first=i) for i in range(count)]


def upload(browser, port: int, song: Path) -> tuple[float, float, str]:
    """(seconds to the verdict's heading, seconds to the whole page, the heading) for one upload."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto(f"http://127.0.0.1:{port}")
        expect(page.get_by_text("to begin")).to_be_visible(timeout=TIMEOUT_S * 1000)
        began = time.perf_counter()
        page.set_input_files("input[type=file]", str(song))
        heading = page.get_by_role("heading").filter(has_text=HEADING).first
        expect(heading).to_be_visible(timeout=TIMEOUT_S * 1000)
        verdict = time.perf_counter() - began
        expect(page.get_by_text("Download CSV")).to_be_visible(timeout=TIMEOUT_S * 1000)
        expect(page.locator("[data-testid=stImage] img")).to_have_count(2, timeout=TIMEOUT_S * 1000)
        return verdict, time.perf_counter() - began, heading.inner_text()
    finally:
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = subprocess.Popen(app_command(port), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL, start_new_session=True,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    try:
        deadline = time.perf_counter() + TIMEOUT_S
        while not healthy(port, timeout=0.5):
            if time.perf_counter() > deadline:
                raise SystemExit("streamlit did not start")
            time.sleep(0.1)
        with tempfile.TemporaryDirectory(prefix="genre-bench-") as tmp, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            warm, *timed = songs(Path(tmp), args.songs + 1, args.seconds)
            upload(browser, port, warm)  # loads the model, traces the "why" map
            runs = []
            for song in timed:
                runs.append(upload(browser, port, song))
                print(f"{song.name}: verdict {runs[-1][0]:.2f} s, whole page {runs[-1][1]:.2f} s  {runs[-1][2]!r}")
            browser.close()
    finally:
        stop_process(server)
    print(f"\n{args.songs} uploads of {args.seconds:g}-s MP3s to a warm server, a fresh page each: verdict on the page "
          f"median {statistics.median(r[0] for r in runs):.2f} s (best {min(r[0] for r in runs):.2f}, worst "
          f"{max(r[0] for r in runs):.2f}); whole page median {statistics.median(r[1] for r in runs):.2f} s")
    print(f"measured on {machine.cpu()}; browser and server share these cores")


if __name__ == "__main__":
    sys.exit(main())
