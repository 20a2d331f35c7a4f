"""app.py driven headlessly with Streamlit's AppTest: first render, demo, uploads, bad uploads,
microphone recordings, what else the model hears (tags) and why (the fused map and what each branch heard).

Assertions are on behaviour (a verdict with a percentage, an error sentence, no exception),
never on which genre the model picks, so they hold for any trained model.
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from genre import GENRES, audio

from tests.support.sounds import encode, music, tone

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
LABELS = sorted({*GENRES, "hip-hop"}, key=len, reverse=True)
VERDICT = re.compile(rf"\b({'|'.join(LABELS)})\b.*?\d{{1,3}}%|^This sounds like ", re.IGNORECASE)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> bytes:
    """Eight seconds of music (from a demo track), as MP3 bytes."""
    return encode(music(8.0, start=6.0), tmp_path_factory.mktemp("song") / "song.mp3",
                  args=["-b:a", "128k"]).read_bytes()


@pytest.fixture(autouse=True)
def keep_main_module():
    """Streamlit runs the page as ``__main__`` and leaves it in ``sys.modules``: put pytest's back,
    or a later test that starts processes with ``spawn`` (``tag``'s workers) re-runs the page in them."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


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


def last_moment(at):
    """The page with its moment slider moved to the song's last whole second (a moment a second)."""
    moments = at.select_slider[0]
    return moments.set_value(float(len(moments.options) - 1))


def assert_verdict(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    headline = " ".join(h.value for h in at.header)
    assert VERDICT.search(headline), headline
    assert at.get("audio"), "the clip player is missing"
    assert at.get("vega_lite_chart"), "no bar chart"
    assert len(at.image) == 3, "the mel spectrogram, the picture of why, and the model card's confusion matrix"
    sure = not at.warning  # an unsure verdict has its warning; its "why" says what drew it, not why
    heading = next(h.value for h in at.subheader if h.value.startswith(("Why it says so", "What drew it",
                                                                        "What its nearest guess")))
    heard = re.search(r"the model hears \*\*(.+?)\*\*", texts(at)).group(1)  # the clip explained
    nearest = "nearest guesses" in texts(at)  # not music, or none of the ten: no genre named
    assert (heading == "Why it says so" and sure and heard in headline
            or heading.startswith(f"What its nearest guess, {heard}, rests on" if nearest
                                  else f"What drew it towards {heard}")), (heading, heard, headline)
    assert at.image[1].captions[0].startswith(f"What moved the model towards {heard} on"), at.image[1].captions[0]
    assert re.search(r"Lit and outlined: what moved the model towards|No part of this clip stood out",
                     texts(at)), texts(at)
    assert len(at.download_button) == 2


BRANCH_WORDS = re.compile(r"Its parts (agree|differ) on this clip \(the pretrained ear: [a-z-]+ \d{1,3}%.*; "
                          r"the image network: [a-z-]+ \d{1,3}%.*\)\. Together they give this clip \*\*[a-z-]+\*\* "
                          r"\d{1,3}%: the model weighs the pretrained ear 0\.\d+ and the image network 0\.\d+ and "
                          r"multiplies")


def assert_fused_why(at) -> None:
    """The "why" row explains the fused verdict: what each branch heard, and the map through both."""
    markdown = "\n".join(m.value for m in at.markdown)
    assert BRANCH_WORDS.search(markdown), markdown
    assert "weighted as the model weighs them" in texts(at)
    clip_line = next(m.value for m in at.markdown if m.value.startswith("From "))
    clip_genre = re.search(r"hears \*\*([a-z-]+)\*\*", clip_line).group(1)
    assert f"Together they give this clip **{clip_genre}**" in markdown  # the verdict the page states for the clip


def upload(at, name: str, data: bytes, mime: str = "audio/mpeg"):
    at.file_uploader[0].upload(name, data, mime).run()
    return at


def test_first_render_has_uploader_and_demo_button():
    at = new_app()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert at.title and "genre" in at.title[0].value.lower()
    uploader = at.file_uploader[0]
    assert {"mp3", "wav", "flac", "ogg", "opus", "m4a", "aiff", "webm"} <= {t.lstrip(".") for t in uploader.allowed_type}
    assert any("demo" in b.label.lower() for b in at.button)
    demos = json.loads((ROOT / "assets" / "demo" / "demos.json").read_text())["demos"]
    assert len(at.selectbox[0].options) == len(demos) >= 6
    mic = at.audio_input[0]
    low, high = audio.RECORDING_SECONDS
    assert f"{low}-{high} s" in mic.label and mic.sample_rate == audio.SAMPLE_RATE
    assert not at.header, "no verdict before a song"


def test_demo_button_gives_a_verdict():
    at = new_app().run()
    at.selectbox[0].select_index(1)
    at.run()
    next(b for b in at.button if "demo" in b.label.lower()).click().run()
    assert_verdict(at)
    second = json.loads((ROOT / "assets" / "demo" / "demos.json").read_text())["demos"][1]
    assert second["title"] in texts(at)
    assert_fused_why(at)

    # Moving the slider analyses another clip; the song's result comes from the cache.
    last_moment(at).run()
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


def test_too_short_and_corrupt_uploads_are_explained(song, tmp_path):
    at = new_app().run()
    upload(at, "short.wav", encode(tone(0.4), tmp_path / "short.wav").read_bytes(), "audio/wav")
    assert not at.exception and at.error, texts(at)
    assert "at least" in at.error[0].value

    at.file_uploader[0].clear()
    upload(at, "cut.mp3", song[:400])  # an MP3 header and almost nothing after it
    assert not at.exception, [e.value for e in at.exception]
    assert at.error or at.header  # a sentence, or a verdict on the fragment: never a traceback


def test_a_long_song_is_analysed_in_part_and_says_so(tmp_path):
    piece = music(30.0)
    data = encode(np.tile(piece, 21)[:605 * len(piece) // 30], tmp_path / "long.mp3",
                  args=["-b:a", "16k"]).read_bytes()
    at = new_app().run()
    upload(at, "long.mp3", data)
    assert_verdict(at)
    assert any("10 minutes" in i.value for i in at.info)
    at.select_slider[0].set_value(500.0).run()  # a clip deep in the song: a cheap seek
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
    y = np.concatenate([music(5.0, start=10.0), np.zeros(5 * 22050, np.float32)])  # music, then silence
    at = new_app().run()
    upload(at, "fades.wav", encode(y, tmp_path / "fades.wav").read_bytes(), "audio/wav")
    assert not at.exception and at.select_slider
    last_moment(at).run()  # the silent end
    assert not at.exception, [e.value for e in at.exception]
    assert VERDICT.search(" ".join(h.value for h in at.header))  # the song's verdict stays
    assert not at.error and any("is silent: there is nothing to judge" in i.value for i in at.info), texts(at)
    assert not at.get("audio")  # no player for a clip it could not judge
    assert len(at.download_button) == 2


def test_the_timeline_leaves_a_silent_stretch_empty(tmp_path):
    """Music, 12 s of silence, music: the chart has two stretches and fills no zeros between them
    (it drew the verdict straight across, then wedges from zeros Vega-Lite imputed)."""
    gap = np.zeros(12 * 22050, np.float32)
    y = np.concatenate([music(9.0, start=10.0), gap, music(9.0, start=40.0)])
    at = new_app().run()
    upload(at, "gap.wav", encode(y, tmp_path / "gap.wav").read_bytes(), "audio/wav")
    assert not at.exception, [e.value for e in at.exception]
    spec = json.loads(at.get("vega_lite_chart")[-1].proto.spec)  # the timeline: the last chart
    assert spec["encoding"]["y"]["impute"] is None and spec["encoding"]["detail"]["field"] == "run"
    assert "Your upload: gap.wav" in [t.value for t in at.text]


# --- The microphone -------------------------------------------------------------------------

def wav(samples: np.ndarray, tmp_path: Path, name: str = "recording.wav") -> bytes:
    return encode(samples, tmp_path / name).read_bytes()


def analysis_cache_bytes() -> int:
    """How many bytes of results the app's analysis caches (st.cache_data) hold, in this process."""
    from streamlit.runtime.caching.cache_data_api import get_data_cache_stats_provider

    stats = get_data_cache_stats_provider().get_stats()
    return sum(stat.byte_length for family in stats.values() for stat in family
               if "predict" in stat.cache_name or "explain" in stat.cache_name)


def test_a_recording_gives_a_verdict_and_is_never_cached(song, tmp_path):
    samples = music(8.0, start=20.0, demo="rock.mp3")
    data = wav(samples, tmp_path)
    at = new_app().run()
    before = analysis_cache_bytes()
    at.audio_input[0].upload("recording.wav", data).run()
    assert_verdict(at)
    assert "never stored" in texts(at)
    last_moment(at).run()  # another clip of the recording
    assert_verdict(at)
    assert analysis_cache_bytes() == before, "a recording reached the process-wide cache"

    # An upload replaces the recording, and is cached as before.
    upload(at, "song.mp3", song + b"after a recording")  # bytes no other test has cached
    assert_verdict(at)
    assert "never stored" not in texts(at)
    assert not at.audio_input[0].value
    assert analysis_cache_bytes() > before  # the counter does see what is cached


def test_a_too_short_recording_is_refused_in_a_sentence(tmp_path):
    at = new_app().run()
    at.audio_input[0].upload("recording.wav", wav(tone(2.5), tmp_path)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "at least 5 s" in at.error[0].value, [e.value for e in at.error]
    assert not at.header


def test_a_silent_recording_is_refused_in_a_sentence(tmp_path):
    hiss = (np.random.default_rng(1).standard_normal(8 * 22050) * 10 ** (-70 / 20)).astype(np.float32)
    at = new_app().run()
    at.audio_input[0].upload("recording.wav", wav(hiss, tmp_path)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "almost silent" in at.error[0].value, [e.value for e in at.error]
    assert not at.header


# --- What else it hears ----------------------------------------------------------------------

SONG_TAGS = {"electronic": 0.81, "dance": 0.64, "female vocalists": 0.42, "80s": 0.3, "rock": 0.05}
CLIP_TAGS = {"synth": 0.0, "electronic": 0.7, "House": 0.5, "party": 0.2}


def with_tags(monkeypatch, tags: dict, unsure: bool, why: str = "", reason: str | None = None) -> None:
    """Make genre.predict give the backbone's tags (and unsure), as the fused model does."""
    import genre

    real = genre.predict

    def predict(source, model=None, *, start=None):
        pred = real(source, model, start=start)
        pred.tags, pred.unsure, pred.why_unsure = dict(tags), unsure, why
        pred.reason = (reason or "low_confidence") if unsure else None
        for clip in pred.clips:
            clip.tags = dict(CLIP_TAGS) if tags else {}
        return pred

    monkeypatch.setattr(genre, "predict", predict)


def test_the_strongest_tags_stand_beside_the_verdict_and_under_the_slider(song, monkeypatch):
    with_tags(monkeypatch, SONG_TAGS, unsure=False)
    at = new_app().run()
    upload(at, "tagged.mp3", song + b"tags")  # bytes no other test has cached
    assert_verdict(at)
    assert "electronic · dance · female vocalists · 80s" in texts(at)
    assert "rock" not in texts(at).split("It also hears:")[1].split("\n")[0]  # under the floor
    assert "Here it also hears: electronic · house · party" in texts(at)


def test_not_one_of_the_ten_leads_with_what_it_hears(song, monkeypatch):
    with_tags(monkeypatch, SONG_TAGS, unsure=True, why="No genre reaches half the probability.",
              reason="outside_ten")
    at = new_app().run()
    upload(at, "edm.mp3", song + b"edm")
    assert not at.exception and not at.error, texts(at)
    assert at.header[0].value == ("This sounds like electronic and dance music, which is not one of the "
                                  "ten genres this model knows")
    assert re.fullmatch(r"Maybe .+: \d+%, the nearest of the ten", at.subheader[0].value)
    assert "unsure" in at.warning[0].value
    assert "No genre reaches half the probability." not in texts(at)  # the headline has said why
    assert at.image and at.get("audio")  # the rest of the page is there


def test_unsure_between_genres_it_knows_says_so(song, monkeypatch):
    with_tags(monkeypatch, {"rock": 0.7, "hard rock": 0.4, "guitar": 0.3}, unsure=True,
              why="Rock and metal are almost level.")
    at = new_app().run()
    upload(at, "between.mp3", song + b"between")
    assert not at.exception and not at.error, texts(at)
    assert re.fullmatch(r"Maybe .+: \d+%", at.header[0].value)  # the guess leads, not the tags
    assert not any("sounds like" in h.value for h in [*at.header, *at.subheader])
    verdict = " ".join(e.value for e in [*at.header, *at.subheader, *at.warning])
    assert "not one of the ten" not in verdict and "Its best guesses are" in verdict
    assert "almost level" not in texts(at)  # low confidence: its sentence would repeat the best guesses
    assert "rock · hard rock · guitar" in texts(at)  # the tags, once, after the guesses


def test_not_music_says_so_first_and_labels_the_genres_as_nearest_guesses(song, monkeypatch):
    with_tags(monkeypatch, {"ambient": 0.3, "electronic": 0.2}, unsure=True, reason="not_music",
              why="This does not sound like music.")
    at = new_app().run()
    upload(at, "hum.mp3", song + b"hum")
    assert not at.exception and not at.error, texts(at)
    assert at.header[0].value == "This does not sound like music to the model"
    assert "It sounds like" not in " ".join(h.value for h in at.header)
    assert "ambient" in at.subheader[0].value
    assert any(s.value == "The nearest guesses among the ten genres" for s in at.subheader)
    assert not any("This does not sound like music." in c.value for c in at.caption)  # the headline said it
    assert not any(h.value.startswith("What drew it") for h in at.subheader)  # no genre named there either
    assert "It also hears" not in texts(at)  # the subheader has said it


def test_without_tags_nothing_about_tags_is_shown(song, monkeypatch):
    with_tags(monkeypatch, {}, unsure=False)
    at = new_app().run()
    upload(at, "plain.mp3", song + b"plain")
    assert_verdict(at)
    assert "also hears" not in texts(at)
