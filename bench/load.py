"""Load benchmark: many people using one app server at once, each with their own song.

Starts ``streamlit run app.py`` on a free port, opens N headless Chromium pages (each its own
browser context, so its own Streamlit session), lets them all upload a different file at the
same moment, and checks that every page shows *its own* answer: the verdict, clip count and
short-song note on the page, and the JSON it downloads (file name, sha256, duration,
probabilities), must equal what ``genre.predict`` gives for that same file in this process,
with the same model. A few sessions upload bad files and must show the package's own error.
Prints latency percentiles and the server's peak memory; asserts nothing, but exits 1 when any
session got a wrong or missing answer.

    python -m bench.load [--sessions 8] [--bad 2] [--timeout 600] [--replicas N]

``--replicas 2`` runs two app processes behind nginx (deploy/nginx-replicas.conf, sticky by cookie;
needs Debian's nginx) and reports each replica's memory and how many sessions each served.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

from genre import GenreError, load_model, predict
from deploy.replicas import Replicas, app_command, free_port, healthy, stop_process
from tests.support.sounds import SONG_RATE, encode, synth

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
DEMO_DIR = ROOT / "assets" / "demo"
VERDICT = re.compile(r"(It sounds like|Maybe) (.+?): (\d+)%")


# --- The files: four demo songs, then generated ones of other lengths and formats --------

def make_files(folder: Path, sessions: int, bad: int) -> list[Path]:
    """``sessions`` distinct good files, then ``bad`` files the package refuses."""
    made = sorted(DEMO_DIR.glob("*.mp3"))[:sessions]
    formats = [("wav", []), ("flac", []), ("ogg", ["-c:a", "libopus", "-b:a", "64k"]),
               ("m4a", ["-c:a", "aac", "-b:a", "96k"]), ("mp3", ["-b:a", "128k"])]
    lengths = [5.0, 13.0, 21.0, 2.5, 9.5, 30.0, 17.0, 7.0]
    i = 0
    while len(made) < sessions:
        ext, args = formats[i % len(formats)]
        seconds = lengths[i % len(lengths)] + i // len(lengths)
        made.append(encode(synth(seconds, seed=i), folder / f"song-{i:02d}-{seconds:g}s.{ext}", SONG_RATE, args))
        i += 1
    bad_files = [("silence.wav", lambda p: encode(np.zeros(6 * SONG_RATE, np.float32), p, SONG_RATE)),
                 ("not-a-song.mp3", lambda p: p.write_bytes(b"Definitely a song.\n" * 400)),
                 ("too-short.wav", lambda p: encode(synth(0.5, seed=99), p, SONG_RATE))]
    for k in range(bad):
        name, write = bad_files[k % len(bad_files)]
        path = folder / f"bad{k}-{name}"
        write(path)
        made.append(path)
    return made


@dataclass
class Expected:
    path: Path
    digest: str
    genre: str = ""
    confidence: float = 0.0
    clips: int = 0
    duration: float = 0.0
    short: bool = False
    probabilities: dict = field(default_factory=dict)
    error: str = ""  # the package's message, for a file it refuses
    seconds: float = 0.0  # genre.predict on it in this process, alone


def expectations(files: list[Path], model) -> list[Expected]:
    out = []
    for path in files:
        data = path.read_bytes()
        e = Expected(path, hashlib.sha256(data).hexdigest())
        began = time.perf_counter()
        try:
            p = predict(data, model)
        except GenreError as exc:
            e.error = str(exc)
        else:
            e.genre, e.confidence, e.clips, e.duration = p.genre, p.confidence, len(p.clips), p.duration
            e.short, e.probabilities = p.short, p.probabilities
        e.seconds = time.perf_counter() - began
        out.append(e)
    return out


# --- The server ------------------------------------------------------------------------------

def status_kib(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(line.split()[1]) for line in f if line.startswith(key + ":")), 0)
    except OSError:
        return 0


def group_rss_kib(pgid: int) -> int:
    """Resident memory of the server and the ffmpegs it runs.

    A child counts only once it is ffmpeg: between fork and exec it still shares the server's
    memory and would count it twice.
    """
    total = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            pid = int(entry)
            try:
                if os.getpgid(pid) != pgid:
                    continue
                with open(f"/proc/{pid}/comm") as f:
                    if pid == pgid or f.read().strip() == "ffmpeg":
                        total += status_kib(pid, "VmRSS")
            except OSError:
                pass
    return total


class Sampler(threading.Thread):
    """Samples the server's RSS and its group's RSS every 100 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_rss, self.peak_group, self.stop = pid, 0, 0, threading.Event()

    def run(self):
        while not self.stop.wait(0.1):
            self.peak_rss = max(self.peak_rss, status_kib(self.pid, "VmRSS"))
            self.peak_group = max(self.peak_group, group_rss_kib(self.pid))


# --- The sessions ------------------------------------------------------------------------------

@dataclass
class Seen:
    heading: str = ""
    text: str = ""
    download: dict | None = None
    error: str = ""
    latency: float = math.nan  # upload started -> verdict (or error) on screen
    full: float = math.nan  # upload -> JSON downloaded
    problems: list = field(default_factory=list)


async def open_session(browser, url: str, timeout_ms: int):
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = await context.new_page()
    await page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    await page.get_by_text("to begin").wait_for(timeout=timeout_ms)  # the model is loaded
    return context, page


async def first(*locators, timeout_ms: int) -> int:
    """Wait until one of ``locators`` is visible; the index of the first."""
    tasks = [asyncio.create_task(loc.wait_for(timeout=timeout_ms)) for loc in locators]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    winner = next(iter(done))
    winner.result()  # raises the timeout, if that is what finished first
    return tasks.index(winner)


async def run_session(page, path: Path, start: asyncio.Event, timeout_ms: int) -> Seen:
    seen = Seen()
    await start.wait()
    began = time.perf_counter()
    await page.set_input_files("input[type=file]", str(path))
    verdict = page.get_by_role("heading").filter(has_text=VERDICT).first
    alert = page.locator("[data-testid=stAlertContentError]").first
    await first(verdict, alert, timeout_ms=timeout_ms)
    seen.latency = time.perf_counter() - began
    if await alert.count():
        seen.error = (await alert.inner_text()).strip().splitlines()[-1]  # after the icon's name
        return seen
    seen.heading = (await verdict.inner_text()).strip()
    button = page.get_by_role("button", name="Download JSON")
    await button.wait_for(timeout=timeout_ms)
    async with page.expect_download(timeout=timeout_ms) as info:
        await button.click()
    download = await info.value
    seen.download = json.loads(Path(await download.path()).read_text())
    seen.full = time.perf_counter() - began
    seen.text = await page.locator("[data-testid=stMainBlockContainer]").inner_text()
    if await page.locator("[data-testid=stException]").count():
        seen.problems.append("an exception is shown")
    return seen


def check(e: Expected, seen: Seen) -> list[str]:
    """What differs between the page and this process's own prediction for the same file."""
    problems = list(seen.problems)
    if e.error:
        if e.error not in seen.error:
            problems.append(f"error {seen.error!r} != {e.error!r}")
        return problems
    if seen.error:
        return problems + [f"an error instead of a verdict: {seen.error!r}"]
    m = VERDICT.search(seen.heading)
    shown = m.group(2).replace("hip-hop", "hiphop") if m else None
    if shown != e.genre:
        problems.append(f"verdict {seen.heading!r}, expected {e.genre}")
    elif abs(int(m.group(3)) - 100 * e.confidence) > 1:
        problems.append(f"verdict {seen.heading!r}, expected {e.confidence:.1%}")
    said = re.search(r"from (\d+) clips? of 3 s", seen.text)  # (an unsure verdict does not say)
    if said and int(said.group(1)) != e.clips:
        problems.append(f"the page says {said.group(1)} clips, not {e.clips}")
    if ("shorter than 3 s" in seen.text) != e.short:
        problems.append("the short-song note is wrong")
    d = seen.download or {}
    if d.get("file") != e.path.name or d.get("sha256") != e.digest:
        problems.append(f"the JSON is for {d.get('file')!r} ({str(d.get('sha256'))[:12]})")
    if (abs(d.get("duration", -1) - e.duration) > 0.01 or d.get("genre") != e.genre
            or len(d.get("clips", [])) != e.clips):
        problems.append(f"the JSON says {d.get('genre')} over {d.get('duration')} s, {len(d.get('clips', []))} clips")
    probs = d.get("probabilities", {})
    if set(probs) != set(e.probabilities) or any(abs(probs[g] - p) > 1e-3 for g, p in e.probabilities.items()):
        problems.append("the JSON's probabilities differ")
    return problems


def secs(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    values = sorted(v for v in values if not math.isnan(v))
    return values[max(0, math.ceil(q / 100 * len(values)) - 1)] if values else math.nan


async def drive(url: str, files: list[Path], expect, timeout_ms: int):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            began = time.perf_counter()
            sessions = await asyncio.gather(*[open_session(browser, url, timeout_ms) for _ in files])
            opened = time.perf_counter() - began
            expected = expect()  # while every page waits, idle
            start = asyncio.Event()
            tasks = [asyncio.create_task(run_session(page, path, start, timeout_ms))
                     for (_, page), path in zip(sessions, files)]
            await asyncio.sleep(0.5)
            began = time.perf_counter()
            start.set()  # every session uploads now
            results = await asyncio.gather(*tasks, return_exceptions=True)
            wall = time.perf_counter() - began
            for context, _ in sessions:
                await context.close()
        finally:
            await browser.close()
    return results, expected, opened, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8, help="sessions with a good file each")
    parser.add_argument("--bad", type=int, default=2, help="more sessions, each with a file to refuse")
    parser.add_argument("--timeout", type=float, default=600, help="seconds any one wait may take")
    parser.add_argument("--replicas", type=int, default=0,
                        help="run this many app processes behind nginx (deploy/nginx-replicas.conf); 0: one, direct")
    args = parser.parse_args()
    timeout_ms = int(args.timeout * 1000)

    load_before = os.getloadavg()[0]  # the figures mean little on a machine busy with other work
    with tempfile.TemporaryDirectory(prefix="genre-load-") as tmp:
        files = make_files(Path(tmp), args.sessions, args.bad)
        model_file = ROOT / "model" / "genre_cnn.keras"
        model_stamp = model_file.stat().st_mtime_ns
        changed = False

        def expect():
            """The answers, computed once the server has loaded its model (the same file)."""
            nonlocal changed
            answers = expectations(files, load_model())
            changed = model_file.stat().st_mtime_ns != model_stamp
            return answers

        if args.replicas:
            # N app processes behind nginx with deploy/nginx-replicas.conf (sticky by cookie).
            fleet = Replicas(args.replicas, workdir=Path(tmp) / "replicas", timeout=args.timeout)
            try:
                fleet.start()
            except RuntimeError as exc:
                fleet.stop()
                raise SystemExit(str(exc))
            servers, url = fleet.servers, fleet.url
        else:
            port = free_port()
            log = open(Path(tmp) / "server.log", "wb")
            servers = [subprocess.Popen(
                app_command(port), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)]
            url = f"http://127.0.0.1:{port}"
        samplers = [Sampler(server.pid) for server in servers]
        try:
            if not args.replicas:
                deadline = time.monotonic() + args.timeout
                while not healthy(port):
                    if servers[0].poll() is not None or time.monotonic() > deadline:
                        print((Path(tmp) / "server.log").read_text(errors="replace")[-3000:])
                        raise SystemExit("streamlit did not become healthy")
                    time.sleep(0.5)
            for sampler in samplers:
                sampler.start()
            results, expected, opened, wall = asyncio.run(drive(url, files, expect, timeout_ms))
            ready = [status_kib(server.pid, "VmRSS") for server in servers]
            hwms = [status_kib(server.pid, "VmHWM") for server in servers]
            alive = all(server.poll() is None for server in servers)
            # Which replica served each session: the upstream of its uploads, by stickiness key.
            per_replica: dict[str, set] = {}
            if args.replicas:
                for request, upstream, key in fleet.served():
                    if "/_stcore/upload_file/" in request:
                        per_replica.setdefault(upstream, set()).add(key)
        finally:
            for sampler in samplers:
                sampler.stop.set()
            if args.replicas:
                fleet.stop()
            else:
                stop_process(servers[0])
                log.close()

    where = (f"{args.replicas} replica(s) behind nginx (deploy/nginx-replicas.conf)" if args.replicas
             else "one server")
    print(f"{len(files)} simultaneous sessions ({args.sessions} songs, {args.bad} bad files) against {where}; "
          f"{os.cpu_count()} CPU(s), load average {load_before:.1f} before and {os.getloadavg()[0]:.1f} "
          f"after; sessions opened in {opened:.1f} s")
    print(f"{'file':<24}{'expected':<30}{'shown':<30}{'alone':>6}{'verdict':>8}{'JSON':>6}  ok")
    failures = 0
    latencies, fulls = [], []
    for e, seen in zip(expected, results):
        if isinstance(seen, BaseException):
            problems, seen = [f"{type(seen).__name__}: {str(seen).splitlines()[0] if str(seen) else ''}"], Seen()
        else:
            problems = check(e, seen)
        failures += bool(problems)
        latencies.append(seen.latency)
        fulls.append(seen.full)
        want = e.error or f"{e.genre} {e.confidence:.0%}, {e.clips} clip(s)"
        shown = " ".join((seen.error or seen.heading).split())
        print(f"{e.path.name[:23]:<24}{want[:29]:<30}{shown[:29]:<30}{secs(e.seconds):>6}"
              f"{secs(seen.latency):>8}{secs(seen.full):>6}  "
              f"{'yes' if not problems else 'NO: ' + '; '.join(problems)}")
    alone = [e.seconds for e in expected]
    print(f"genre.predict alone, in this process: p50 {percentile(alone, 50):.1f} s, "
          f"p90 {percentile(alone, 90):.1f} s, max {percentile(alone, 100):.1f} s (one at a time, server idle)")
    print(f"latency, upload to verdict on screen: p50 {percentile(latencies, 50):.1f} s, "
          f"p90 {percentile(latencies, 90):.1f} s, max {percentile(latencies, 100):.1f} s")
    print(f"upload to JSON downloaded:            p50 {percentile(fulls, 50):.1f} s, "
          f"p90 {percentile(fulls, 90):.1f} s, max {percentile(fulls, 100):.1f} s; all done in {wall:.1f} s")
    for i, (server, sampler, hwm, rss) in enumerate(zip(servers, samplers, hwms, ready)):
        name = f"replica {i}" if args.replicas else "server"
        print(f"{name} memory: peak {hwm / 1024:.0f} MiB (VmHWM of the streamlit process), "
              f"{rss / 1024:.0f} MiB at the end; its process group peaked at "
              f"{sampler.peak_group / 1024:.0f} MiB (sampled every 0.1 s, ffmpeg included)")
    if args.replicas:
        counts = ", ".join(f"{upstream}: {len(keys)}" for upstream, keys in sorted(per_replica.items()))
        print(f"sessions that uploaded, per replica: {counts or 'none seen in the access log'}")
    print(f"server(s) alive at the end: {alive}; sessions with a wrong or missing answer: {failures}")
    if changed:
        print("warning: model/genre_cnn.keras changed while the server started; answers may differ for that reason")
    return 1 if failures or not alive else 0


if __name__ == "__main__":
    sys.exit(main())
