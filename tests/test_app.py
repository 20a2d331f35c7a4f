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


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    """Run from the repository root, where Streamlit finds .streamlit/config.toml."""
    monkeypatch.chdir(ROOT)


def new_app():
    from streamlit.testing.v1 import AppTest

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
    assert at.get("vega_lite_chart"), "no bar chart"
    assert at.image, "no mel-spectrogram image"
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


def test_uploaded_mp3_gives_a_verdict_and_replaces_the_demo(song):
    at = new_app().run()
    at.button[0].click().run()
    assert "Demo track" in texts(at)
    upload(at, "chord.mp3", song)
    assert_verdict(at)
    assert "Demo track" not in texts(at)
    assert len(at.get("vega_lite_chart")) == 2  # the bar chart and the timeline
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


def test_a_long_song_is_analysed_in_part_and_says_so():
    long = encode(tone(605.0, freq=220.0, sr=8000, noise=0.02),
                  Path(os.environ.get("TMPDIR", "/tmp")) / f"long-{os.getpid()}.mp3",
                  sr=8000, args=["-b:a", "16k"])
    try:
        data = long.read_bytes()
    finally:
        long.unlink()
    at = new_app().run()
    began = time.perf_counter()
    upload(at, "long.mp3", data)
    print(f"10-minute song: {time.perf_counter() - began:.1f} s")
    assert_verdict(at)
    assert any("10 minutes" in i.value for i in at.info)
    at.slider[0].set_value(500).run()  # a clip deep in the song: a cheap seek
    assert_verdict(at)
    assert "From 8:20 to 8:23" in texts(at)


def test_a_file_over_the_upload_limit_is_refused_in_words():
    at = new_app().run()
    upload(at, "huge.mp3", b"ID3" + bytes(51 * 2**20))
    assert not at.exception
    assert at.error and "50 MB" in at.error[0].value, [e.value for e in at.error]


def test_an_unexpected_failure_shows_a_generic_sentence_not_a_traceback(song, monkeypatch):
    import genre

    def broken(*args, **kwargs):
        raise RuntimeError("internal detail that must not reach the page")

    monkeypatch.setattr(genre, "predict", broken)
    at = new_app().run()
    upload(at, "fresh.mp3", song + os.urandom(64))  # bytes no earlier test has cached
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "went wrong" in at.error[0].value
    assert "internal detail" not in texts(at)


def test_a_clip_that_cannot_be_judged_leaves_the_rest_of_the_page(tmp_path):
    y = np.concatenate([tone(5.0, noise=0.1), np.zeros(5 * 22050, np.float32)])  # music, then silence
    at = new_app().run()
    upload(at, "fades.wav", encode(y, tmp_path / "fades.wav").read_bytes(), "audio/wav")
    assert not at.exception and at.slider
    at.slider[0].set_value(at.slider[0].max).run()  # the silent end
    assert not at.exception, [e.value for e in at.exception]
    assert VERDICT.search(" ".join(h.value for h in at.header))  # the song's verdict stays
    assert at.error or at.get("audio"), "neither a player nor a reason"
    assert len(at.download_button) == 2
