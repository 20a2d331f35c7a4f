"""app.py driven headlessly with Streamlit's AppTest: first render, demo, uploads, bad uploads.

Assertions are on behaviour (a verdict with a percentage, an error sentence, no exception),
never on which genre the model picks, so they hold for any trained model.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

from genre import GENRES

from conftest import encode, tone

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
LABELS = sorted({*GENRES, "hip-hop"}, key=len, reverse=True)
VERDICT = re.compile(rf"\b({'|'.join(LABELS)})\b.*?\d{{1,3}}%", re.IGNORECASE)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> bytes:
    """Eight seconds of a chord with a beat, as MP3 bytes."""
    t = np.arange(8 * 22050) / 22050
    y = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 4
    y = y * (0.6 + 0.4 * (np.sin(2 * np.pi * 2 * t) > 0)) + 0.5 * tone(8.0, freq=110.0, noise=0.1)
    return encode(y.astype(np.float32) / 2, tmp_path_factory.mktemp("song") / "song.mp3",
                  args=["-b:a", "128k"]).read_bytes()


def new_app():
    from streamlit.testing.v1 import AppTest

    # Tests run from the repository root so Streamlit finds .streamlit/config.toml.
    os.chdir(ROOT)
    return AppTest.from_file(APP, default_timeout=120)


def texts(at) -> str:
    """All the words on the page: headers, markdown, captions, alerts."""
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption",
                                   "info", "warning", "success", "error") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def assert_verdict(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    headline = " ".join(h.value for h in at.header)
    assert VERDICT.search(headline), headline
    assert at.get("audio"), "the clip player is missing"
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart"), "no charts"
    assert len(at.download_button) == 2


def upload(at, name: str, data: bytes, mime: str = "audio/mpeg"):
    at.file_uploader[0].upload(name, data, mime).run()
    return at


def test_first_render_has_uploader_and_demo_button():
    at = new_app()
    began = time.perf_counter()
    at.run()
    print(f"first render: {time.perf_counter() - began:.1f} s")
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert at.title and "genre" in at.title[0].value.lower()
    uploader = at.file_uploader[0]
    assert {"mp3", "wav", "flac", "ogg", "m4a"} <= {t.lstrip(".") for t in uploader.allowed_type}
    assert any("demo" in b.label.lower() for b in at.button)
    assert len(at.selectbox[0].options) == 4
    assert not at.header, "no verdict before a song"


def test_demo_button_gives_a_verdict():
    at = new_app().run()
    at.selectbox[0].select_index(1)
    at.run()
    began = time.perf_counter()
    next(b for b in at.button if "demo" in b.label.lower()).click().run()
    print(f"demo verdict: {time.perf_counter() - began:.1f} s")
    assert_verdict(at)
    assert "Overdrive Highway" in texts(at)  # the second demo's title

    # Moving the slider analyses another clip; the song's result comes from the cache.
    slider = at.slider[0]
    slider.set_value(slider.max)
    began = time.perf_counter()
    at.run()
    print(f"slider rerun: {time.perf_counter() - began:.1f} s")
    assert_verdict(at)


def test_uploaded_mp3_gives_a_verdict(song):
    at = new_app().run()
    upload(at, "chord.mp3", song)
    assert_verdict(at)
    assert re.search(r"\d+:\d\d to \d+:\d\d", texts(at))


def test_bad_upload_shows_an_error_then_a_good_upload_works(song):
    at = new_app().run()
    junk = np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    upload(at, "not-really.mp3", junk)
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "audio" in at.error[0].value.lower(), [e.value for e in at.error]
    assert not at.header

    at.file_uploader[0].clear()
    upload(at, "song.mp3", song)
    assert_verdict(at)


def test_too_short_and_corrupt_uploads_are_explained(song):
    at = new_app().run()
    short = encode(tone(0.4), Path(os.environ.get("TMPDIR", "/tmp")) / f"short-{os.getpid()}.wav")
    try:
        upload(at, "short.wav", short.read_bytes(), "audio/wav")
    finally:
        short.unlink()
    assert not at.exception and at.error, texts(at)
    assert "at least" in at.error[0].value

    at.file_uploader[0].clear()
    upload(at, "cut.mp3", song[:400])  # an MP3 header and almost nothing after it
    assert not at.exception, [e.value for e in at.exception]
    assert at.error or at.header  # a sentence, or a verdict on the fragment: never a traceback
