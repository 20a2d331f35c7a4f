"""The real thing: `streamlit run app.py` in a subprocess, driven by headless Chromium.

Uploads an MP3 through the page's file input, waits for a verdict with a percentage and
saves a screenshot of the result to docs/screenshot.png (only when everything passed).
Then records from the microphone: Chromium's fake capture device plays a WAV made from a demo
track into ``st.audio_input``, and the page must give a verdict for it (and refuse a recording
that is too short). Without /usr/bin/chromium or the playwright package this skips, except
under CI, where it fails instead.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.support import ROOT
from deploy.replicas import free_port, healthy, stop_process

CHROMIUM = Path("/usr/bin/chromium")
SONG = ROOT / "assets" / "demo" / "jazz.mp3"  # one the model names right, and surely
SCREENSHOT = ROOT / "docs" / "screenshot.png"
NOT_MUSIC_SCREENSHOT = ROOT / "docs" / "screenshot-not-music.png"
NOT_MUSIC_TIMEOUT_S = 90  # the bound: the no-music header within 90 s of the upload
START_TIMEOUT_S = 120
VERDICT_TIMEOUT_S = 120
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
GENRES = ("blues", "classical", "country", "disco", "hip-hop", "hiphop", "jazz", "metal", "pop",
          "reggae", "rock")
MIC_SONG = ROOT / "assets" / "demo" / "disco.mp3"
VERDICT = re.compile(rf"\b({'|'.join(GENRES)})\b.*\d{{1,3}}%|^This sounds like ", re.IGNORECASE)

pytestmark = pytest.mark.slow


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -r requirements-dev.txt)"
    return None


@pytest.fixture()
def browser_tools():
    """Skip without Chromium or Playwright, unless under CI, where their absence is a failure."""
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test, but {missing}")
        pytest.skip(missing)


@pytest.fixture()
def server(browser_tools):
    """A streamlit server on a free port; stopped (its whole process group) afterwards."""
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not healthy(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                output = log.read().decode(errors="replace")[-3000:]
                pytest.fail(f"streamlit did not become healthy:\n{output}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", proc, log
    finally:
        stop_process(proc)
        log.close()


@contextlib.contextmanager
def new_page():
    """A page of a fresh headless Chromium, and the list its script errors land in."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page, errors
        finally:
            browser.close()


def test_upload_in_a_real_browser_gives_a_verdict(server, tmp_path):
    from playwright.sync_api import expect

    url, proc, log = server
    with new_page() as (page, errors):
        page.goto(url, wait_until="domcontentloaded")
        page.locator("input[type=file]").wait_for(state="attached", timeout=START_TIMEOUT_S * 1000)
        # The model loads once per process, after the uploader is on screen (timed by bench.firstpage).
        expect(page.get_by_text("to begin")).to_be_visible(timeout=START_TIMEOUT_S * 1000)

        page.set_input_files("input[type=file]", str(SONG))
        verdict = page.get_by_role("heading").filter(has_text=VERDICT).first
        expect(verdict).to_be_visible(timeout=VERDICT_TIMEOUT_S * 1000)

        # The rest of the page: both charts, the mel image, the clip player, the downloads.
        expect(page.get_by_text("Download CSV")).to_be_visible(timeout=60_000)
        expect(page.locator("[data-testid=stImage] img")).to_have_count(3)  # the mel, why, the card's matrix
        expect(page.get_by_text("Why it says so")).to_be_visible()
        expect(page.locator("[data-testid=stAudio]")).to_have_count(1)  # the clip player
        expect(page.locator("[data-testid=stVegaLiteChart]")).to_have_count(2, timeout=30_000)
        expect(page.locator("[data-testid=stException]")).to_have_count(0)
        assert proc.poll() is None, "the server died"
        shot = whole_page(page, tmp_path / "screenshot.png")
        page.get_by_text("Model card", exact=True).click()  # opened after the screenshot: the card is long
        expect(page.locator("[data-testid=stExpander] [data-testid=stImage] img")).to_have_count(1)
        page.wait_for_function("[...document.querySelectorAll('[data-testid=stImage] img')]"
                               ".every(i => i.complete && i.naturalWidth > 0)", timeout=30_000)  # none broken
        assert not errors, errors
    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)


def whole_page(page, path: Path) -> Path:
    """A screenshot of the whole page once it is idle and its charts are drawn."""
    from playwright.sync_api import expect

    # idle: no status widget and no "Stop" in the toolbar (the run's own indicator in Streamlit 1.67)
    expect(page.locator("[data-testid=stStatusWidget]")).to_have_count(0, timeout=60_000)
    expect(page.get_by_role("button", name="Stop", exact=True)).to_have_count(0, timeout=120_000)
    # Streamlit scrolls inside its own container, so grow the window to the whole page, measured
    # once the run has ended (measured before, a page still being written was cut short).
    height = page.locator("[data-testid=stMainBlockContainer]").bounding_box()["height"]
    page.set_viewport_size({"width": 1280, "height": int(height)})
    page.wait_for_timeout(1500)  # let the charts finish drawing
    page.screenshot(path=str(path), full_page=True)
    return path


def test_a_sound_that_is_not_music_gets_no_genre_headline(server, tmp_path):
    """A sine sweep (made here: 150 Hz to 6 kHz over 14 s) is said to be no music, with no genre headline."""
    import numpy as np
    from playwright.sync_api import expect

    from tests.support.sounds import SR, encode

    t = np.arange(14 * SR) / SR
    phase = 2 * np.pi * 150 * 14 / np.log(40) * (40 ** (t / 14) - 1)  # exponential: 150 Hz -> 6 kHz
    sweep = encode((0.4 * np.sin(phase)).astype(np.float32), tmp_path / "sweep.mp3", args=["-b:a", "128k"])
    url, proc, log = server
    with new_page() as (page, errors):
        page.goto(url, wait_until="domcontentloaded")
        expect(page.get_by_text("to begin")).to_be_visible(timeout=START_TIMEOUT_S * 1000)
        page.set_input_files("input[type=file]", str(sweep))
        header = page.get_by_role("heading").filter(has_text="does not sound like music").first
        expect(header).to_be_visible(timeout=NOT_MUSIC_TIMEOUT_S * 1000)
        expect(page.get_by_role("heading").filter(has_text="It sounds like")).to_have_count(0)
        expect(page.get_by_text("The nearest guesses among the ten genres")).to_be_visible()
        expect(page.locator("[data-testid=stException]")).to_have_count(0)
        assert proc.poll() is None, "the server died"
        shot = whole_page(page, tmp_path / "not-music.png")
        assert not errors, errors
    shutil.copyfile(shot, NOT_MUSIC_SCREENSHOT)


@pytest.fixture()
def room_wav(tmp_path) -> Path:
    """What the fake microphone hears: 20 s of a demo track, as 16-bit 48 kHz stereo WAV."""
    from genre import audio

    wav = tmp_path / "room.wav"
    subprocess.run([audio.ffmpeg_path(), "-v", "error", "-y", "-i", str(MIC_SONG), "-t", "20",
                    "-ar", "48000", "-ac", "2", "-c:a", "pcm_s16le", str(wav)], check=True)
    return wav


def record(page, seconds: float) -> None:
    """Press the recorder's button, let the fake microphone play, and stop."""
    from playwright.sync_api import expect

    widget = page.locator("[data-testid=stAudioInput]")
    expect(widget).to_be_visible(timeout=START_TIMEOUT_S * 1000)
    widget.get_by_role("button", name="Record", exact=True).click()
    stop = widget.get_by_role("button", name="Stop recording", exact=True)
    expect(stop).to_be_visible(timeout=10_000)
    page.wait_for_timeout(int(seconds * 1000))
    stop.click()


def test_microphone_in_a_real_browser_gives_a_verdict(server, room_wav):
    from playwright.sync_api import expect, sync_playwright

    url, proc, log = server
    fake_mic = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={room_wav}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + fake_mic)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, permissions=["microphone"])
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url, wait_until="domcontentloaded")
            expect(page.get_by_text("to begin")).to_be_visible(timeout=START_TIMEOUT_S * 1000)
            expect(page.get_by_text("5-15 s")).to_be_visible()

            record(page, 7)
            verdict = page.get_by_role("heading").filter(has_text=VERDICT).first
            expect(verdict).to_be_visible(timeout=VERDICT_TIMEOUT_S * 1000)
            expect(page.get_by_text("never stored")).to_be_visible()
            expect(page.locator("[data-testid=stImage] img")).to_have_count(3, timeout=60_000)  # with the card's
            expect(page.locator("[data-testid=stException]")).to_have_count(0)

            short = context.new_page()  # a fresh session: a recording that is too short
            short.goto(url, wait_until="domcontentloaded")
            expect(short.get_by_text("to begin")).to_be_visible(timeout=START_TIMEOUT_S * 1000)
            record(short, 1.5)
            expect(short.get_by_text("please record at least 5 s")).to_be_visible(timeout=60_000)
            expect(short.get_by_role("heading").filter(has_text=VERDICT)).to_have_count(0)
            assert proc.poll() is None, "the server died"
            assert not errors, errors
        finally:
            browser.close()
