"""Cold start of the app: from ``streamlit run app.py`` to the first page a person can use.

Prints figures; asserts nothing. Run: ``python -m bench.firstpage [--repeats N] [--isa avx2]``.

Each repeat starts a fresh server, opens the page in a real headless Chromium and times four
moments: the server answers its health check, the page shows the upload prompt (the model is
loaded), a demo's verdict is on the page (the first analysis), and its "why" map is. Then it
stops the server.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

from bench import isa
from bench.load import CHROMIUM, CHROMIUM_ARGS, VERDICT
from deploy.replicas import app_command, free_port, healthy, stop_process
from tests.support import ROOT, machine


async def page_times(start_server, timeout: float) -> tuple[float, float, float, float]:
    """Seconds from the server's start until it answers, the upload prompt is shown (the model is
    loaded), a demo's verdict is shown, and its "why" map is. The browser is open before the server starts, as a
    person's would be."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page()
        started, port = time.perf_counter(), start_server()
        while not healthy(port, timeout=0.5):
            if time.perf_counter() - started > timeout:
                raise SystemExit("streamlit did not start")
            await asyncio.sleep(0.05)
        health = time.perf_counter() - started
        await page.goto(f"http://127.0.0.1:{port}")
        await page.get_by_text("to begin").wait_for(timeout=timeout * 1000)
        ready = time.perf_counter() - started
        await page.get_by_role("button", name="Try the demo track").click()
        await page.get_by_role("heading").filter(has_text=VERDICT).first.wait_for(timeout=timeout * 1000)
        verdict = time.perf_counter() - started
        why_heading = re.compile("Why it says so|What drew it towards")  # sure, or unsure
        await page.get_by_role("heading", name=why_heading).wait_for(timeout=timeout * 1000)
        why = time.perf_counter() - started
        await browser.close()
    return health, ready, verdict, why


def one_start(timeout: float, extra_env: dict[str, str]) -> tuple[float, float, float, float]:
    """One fresh server, timed by ``page_times``, then stopped."""
    servers = []

    def start_server() -> int:
        port = free_port()
        servers.append(subprocess.Popen(
            app_command(port), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **extra_env}))
        return port
    try:
        return asyncio.run(page_times(start_server, timeout))
    finally:
        for server in servers:
            stop_process(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--isa", choices=isa.ISAS, help="run as on a CPU limited to this instruction set")
    args = parser.parse_args()
    # Only the server is emulated: Chromium and Playwright's Node driver handle SIGSEGV themselves.
    env, folder = isa.environment(args.isa) if args.isa else ({}, None)
    code = "from genre import runtime; c = runtime.choose(runtime.Path('model')); print(f'{c.runtime} ({c.why})')"
    choice = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, check=True,
                            capture_output=True, text=True).stdout.strip()
    try:
        runs = [one_start(args.timeout, env) for _ in range(args.repeats)]
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"measured on {machine.cpu()}; the server's instruction sets limited to {args.isa or 'none: all of them'}")
    print(f"networks on {choice}; median and best of {args.repeats} fresh servers")
    for i, name in enumerate(("server answers /healthz", "first page ready (model loaded)",
                              "first verdict (a demo)", "its \"why\" map")):
        values = [r[i] for r in runs]
        print(f"{name:<36}{statistics.median(values):>7.1f} s{min(values):>7.1f} s")


if __name__ == "__main__":
    main()
