"""Genre (``streamlit run app.py``): upload a song, try a demo track, or let it listen through the
microphone, and see which genre the model hears in it, what else it hears, and why.

All signal processing lives in the ``genre`` package; this file only lays out what it returns.
Sessions share nothing mutable: the model and a limit on concurrent analyses are ``st.cache_resource``;
results of uploads and demos are ``st.cache_data``, keyed on the file's sha256. A microphone
recording is never cached: it leaves with its session.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

import genre
from genre import audio, explain, formats
from genre.verdict import display_name, headline, mmss, pct, ranked, span, tag_line

ROOT = Path(__file__).resolve().parent
DEMO_DIR = ROOT / "assets" / "demo"
MODEL_CARD = ROOT / "model" / "README.md"
MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(([\w.-]+\.png)\)")  # ![alt](file.png) beside the card: drawn by st.image
UPLOAD_TYPES = [suffix.lstrip(".") for suffix in formats.SUFFIXES]  # every format the package reads
BAR_COLOUR = st.get_option("theme.primaryColor")  # the theme's (.streamlit/config.toml): bars match the page
CONCURRENT_ANALYSES = 2  # per process; a burst of uploads queues instead of exhausting memory
RECORDING_RATE = audio.SAMPLE_RATE  # the model's own rate: the browser resamples, the upload stays small
log = logging.getLogger("genre.app")


# --- Shared, read-only resources and cached results ---------------------------------------

@st.cache_resource(show_spinner="Loading the model…")
def get_model() -> genre.GenreModel | genre.Classifier:
    # The "why" map's explainer is traced when the first "why" is asked for, after the verdict is on
    # the page: traced here, or beside the first page or the first analysis, it delayed them by
    # 2.6-3.5 s (python -m bench.firstpage), TensorFlow's import where ONNX Runtime serves.
    return genre.load_model()


@st.cache_resource
def analysis_slots() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(CONCURRENT_ANALYSES)


def predict_now(digest: str, data: bytes, model: genre.GenreModel | genre.Classifier, start: float | None = None):
    """The prediction for a song, or for its 3-s clip at ``start`` (``digest`` is unused)."""
    formats.source_format(data, None)  # refuse what is not audio at once, without queueing for a slot
    with analysis_slots():
        return genre.predict(data, model, start=start)


@st.cache_data(max_entries=64, max_size="256MB", ttl="2h", show_spinner=False)
def predict_cached(digest: str, _data: bytes, _model: genre.GenreModel | genre.Classifier,
                   start: float | None = None):
    """``predict_now``, cached on ``digest``: for uploads and demos, never for recordings."""
    return predict_now(digest, _data, _model, start)


def explain_now(digest: str, start: float, clip: genre.Clip, model: genre.GenreModel | genre.Classifier):
    """What moved the verdict on the clip, and what each branch heard (under the analyses' limit)."""
    with analysis_slots():
        return explain.why(model, clip.samples, clip.mel, clip.genre)


@st.cache_data(max_entries=256, ttl="2h", show_spinner=False)
def explain_clip(digest: str, start: float, _clip: genre.Clip, _model: genre.GenreModel | genre.Classifier):
    """``explain_now``, cached on the song and the clip's start."""
    return explain_now(digest, start, _clip, _model)


@st.cache_data
def demos() -> list[dict]:
    return json.loads((DEMO_DIR / "demos.json").read_text())["demos"]


# --- Presentation helpers ----------------------------------------------------------------

def result_json(pred: genre.Prediction, name: str, digest: str, model: genre.GenreModel | genre.Classifier) -> str:
    about = {"version": model.version, "accuracy": model.validation.accuracy}
    return json.dumps({"file": name, "sha256": digest, "model": about, **pred.to_dict()}, indent=2)


def explain_failures(run, *args, expected: bool = False):
    """``run(*args)``, or None after saying why it failed (never a traceback); ``expected``: a refusal
    that is part of normal use (a silent moment), not an error."""
    try:
        return run(*args)
    except genre.GenreError as exc:
        (st.info if expected else st.error)(str(exc), icon=":material/info:" if expected else ":material/error:")
    except Exception:
        log.exception("analysis failed")
        st.error("Something went wrong while analysing this file. Please try another one.",
                 icon=":material/error:")
    return None


def use_demo(index: int) -> None:
    st.session_state.demo = index
    st.session_state.upload_key += 1  # a fresh, empty uploader
    st.session_state.mic_key += 1  # and no recording


def uploaded() -> None:
    st.session_state.demo = None
    st.session_state.mic_key += 1


def recorded() -> None:
    st.session_state.demo = None
    st.session_state.upload_key += 1


# --- The page ----------------------------------------------------------------------------

st.set_page_config(page_title="Genre: what does the model hear?", page_icon="🎵",  # no icon fetched from Google
                   layout="wide")
st.session_state.setdefault("demo", None)
st.session_state.setdefault("upload_key", 0)
st.session_state.setdefault("mic_key", 0)

st.title(":material/music_note: What genre is this song?")
st.write("Two neural networks, a music tagger pretrained on the Million Song Dataset and a small one "
         f"trained here, listen to up to {genre.MAX_CLIPS} clips of three seconds spread over your song and "
         "tell you which of ten genres it sounds like, where, what else they hear, and why.")

pick, demo_box, mic_box = st.columns([5, 4, 4], gap="large")
upload = pick.file_uploader(f"Upload a song ({formats.FORMAT_NAMES}; up to "
                            f"{st.get_option('server.maxUploadSize')} MB)", type=UPLOAD_TYPES,
                            key=f"upload-{st.session_state.upload_key}", on_change=uploaded)
with demo_box:
    choice = st.selectbox("…or pick a demo track", range(len(demos())), key="demo_choice",
                          format_func=lambda i: f"{demos()[i]['title']} ({display_name(demos()[i]['genre'])})",
                          on_change=lambda: use_demo(st.session_state.demo_choice))  # the page shows what it names
    st.button("Try the demo track", icon=":material/play_arrow:", on_click=use_demo, args=(choice,))
low, high = audio.RECORDING_SECONDS
recording = mic_box.audio_input(
    f"…or let it listen: record {low}-{high} s",
    sample_rate=RECORDING_RATE, key=f"mic-{st.session_state.mic_key}", on_change=recorded,
    help="Record the music playing near you: hold your phone or laptop close to the speaker, press "
         "the microphone, and stop after "
         f"{low} to {high} seconds. The recording is analysed here and never kept after you leave.")

model = explain_failures(get_model)
if model is None:
    st.stop()

if upload is not None:
    limit_mb = st.get_option("server.maxUploadSize")
    if upload.size > limit_mb * 2**20:
        st.error(f"The file is {upload.size / 2**20:.0f} MB; files up to {limit_mb} MB are accepted.")
        st.stop()
    name, data = upload.name, upload.getvalue()
    st.text(f"Your upload: {name}")  # the name as written: never read as Markdown (links, emoji)
elif recording is not None:
    name, data = "recording.wav", explain_failures(audio.check_recording, recording.getvalue())
    if data is None:
        st.stop()  # too short or silent: the sentence is on the page
    st.caption("Your recording from the microphone: analysed here, kept only while this page is open, "
               "and never stored.")
elif st.session_state.demo is not None:
    demo = demos()[st.session_state.demo]
    name, data = demo["file"], (DEMO_DIR / demo["file"]).read_bytes()
    st.caption(f"Demo track **{demo['title']}**, written as {display_name(demo['genre'])}: {demo['description']}")
else:
    st.info("Upload a song, press **Try the demo track**, or record from the microphone, to begin.")
    st.stop()

keep = recording is None or upload is not None  # a recording is analysed, never cached
analysis, why_clip = (predict_cached, explain_clip) if keep else (predict_now, explain_now)
digest = hashlib.sha256(data).hexdigest()
with st.spinner("Listening to the song…", show_time=True):
    song = explain_failures(analysis, digest, data, model)
if song is None:
    st.stop()  # the error is on the page; the next upload starts afresh

# The verdict, and what else the model hears.
best = ranked(song.probabilities)
tags = song.top_tags()
top = headline(song.genre, song.confidence, song.probabilities, song.unsure, tags, len(song.clips),
               song.reason)
st.header(top.title)
if top.subtitle:
    st.subheader(top.subtitle)
if top.warning:
    st.warning(top.text, icon=":material/help:")
else:
    st.write(top.text)
if song.why_unsure and not top.says_why:  # the headline may have said it already
    st.caption(song.why_unsure)
if not top.names_tags and (besides := tag_line(tags, besides=song.genre)):  # not the verdict again
    st.markdown(f"**It also hears:** {besides}",
                help="The strongest of the 50 last.fm tags the model's backbone gives the song.")
for note in song.notes():  # shorter than a clip, or longer than the decoder hears
    st.info(note)

chart_col, mel_col = st.columns([3, 2], gap="large")
with chart_col:
    st.subheader("The nearest guesses among the ten genres" if top.nearest else "All genres")
    bars = pd.DataFrame({"genre": [display_name(g) for g, _ in best], "probability (%)": [100 * p for _, p in best]})
    st.bar_chart(bars, x="genre", y="probability (%)", horizontal=True, sort="-probability (%)",
                 color=BAR_COLOUR)
    if top.nearest:
        st.caption("Shares among the ten if it had to be one of them: not how sure the model is that it is.")
words_col, why_col = st.columns([3, 2], gap="large")  # "why" beside the chart's empty space
# mel_col and this row are filled below, once the slider has chosen the clip.

st.subheader("Across the song")
if len(song.clips) > 1:
    timeline = pd.DataFrame([{"seconds": t, "genre": display_name(g), "probability (%)": 100 * p, "run": n}
                             for n, t, g, p in song.timeline()])  # no area over a stretch of silence
    names = [display_name(g) for g in song.probabilities]  # the legend under the chart: it fits a phone
    st.altair_chart(alt.Chart(timeline).mark_area().encode(
        alt.X("seconds:Q", title="seconds into the song", scale=alt.Scale(domain=[0, song.duration], nice=False)),
        alt.Y("probability (%):Q", stack=True, impute=None), alt.Detail("run:N"),  # no zeros filled in a gap
        alt.Color("genre:N", sort=names, legend=alt.Legend(orient="bottom", columns=4, title=None)),
        order="order:Q").transform_calculate(order=f"indexof({names}, datum.genre)"), width="stretch")
else:
    st.caption("Only one 3-s clip has sound, so there is no timeline." if song.duration >= 2 * audio.CLIP_SECONDS
               else "The song is a single clip, so there is no timeline.")

st.subheader("Listen to what the model heard")
last = int(song.duration - audio.CLIP_SECONDS)
if last >= 1:
    surest = max(song.clips, key=lambda c: c.probabilities[song.genre])
    moments = [surest.start if s == int(surest.start) else float(s) for s in range(last + 1)]  # its exact start
    start = st.select_slider("Pick a moment: the 3-s clip from there is played here and pictured above",
                             moments, surest.start, format_func=mmss, key=f"start-{digest}",
                             help="It starts where the model was surest of its verdict.")
else:
    start = 0
with st.spinner("Listening to the clip…"):
    moment = explain_failures(analysis, digest, data, model, float(start), expected=True)  # a silent stretch
clip = moment.clips[0] if moment else None
if clip:
    clip_genre, clip_p = ranked(clip.probabilities)[0]
    st.audio(audio.to_wav_bytes(clip.samples), format="audio/wav")
    st.write(f"From {span(clip.start, clip.end, ' to ')} the model hears **{display_name(clip_genre)}** "
             f"({pct(clip_p)}).")
    if here := tag_line(clip.top_tags(), besides=clip_genre):
        st.caption(f"Here it also hears: {here}")
    with st.spinner("Working out why…"):  # the first one also traces the explainer: seconds
        why = explain_failures(why_clip, digest, float(start), clip, model)

with mel_col:
    st.subheader("What the model saw")
    if clip:
        # Stretched along time so the 3-s window reads as a picture, not a strip.
        st.image(explain.picture(clip.mel), width="stretch",
                 caption=f"Mel spectrogram of {span(clip.start, clip.end)}: time runs left to "
                         "right, pitch bottom to top, brighter is louder.")
    else:
        st.caption("Nothing to picture at this moment; pick another one below.")
if clip and why:
    with words_col:
        agrees = why.genre == song.genre  # the clip shown may lean elsewhere than the song
        drew = (f"What its nearest guess, {display_name(why.genre)}, rests on" if top.nearest  # no genre named
                else f"What drew it towards {display_name(why.genre)}")
        st.subheader("Why it says so" if agrees and not song.unsure else drew + ("" if agrees else " here"))
        if why.words():  # a lone CNN has no branches to tell apart
            st.markdown(why.words())
        st.markdown(why.legend(clip.start, clip.end - clip.start))
        st.caption(why.how())
    why_col.image(explain.overlay(clip.mel, why.map, why.shown_box), width="stretch", output_format="PNG",
                  caption=why.caption(clip.start, clip.end))

st.divider()
validation = model.validation
accuracy = (f"validated accuracy {pct(validation.accuracy)} per song" if validation.accuracy is not None
            else "not validated") + (f", {pct(validation.clip_accuracy)} per 3-s clip"
                                     if validation.clip_accuracy is not None else "")
st.caption(f"Ran on **{song.device}** · model version {model.version} · {accuracy} · see the model card below.")
stem = Path(name.replace("/", "_")).stem  # a name, never a path
with st.container(horizontal=True):
    st.download_button("Download JSON", result_json(song, name, digest, model), f"{stem}-genre.json",
                       "application/json", on_click="ignore", icon=":material/download:")
    st.download_button("Download CSV", song.to_csv(), f"{stem}-genre.csv", "text/csv",
                       on_click="ignore", icon=":material/download:")
with st.expander("Model card"):  # its pictures are files beside it, out of Markdown's reach on the page
    card = MODEL_CARD.read_text() if MODEL_CARD.exists() else "No model card (model/README.md) yet."
    for i, part in enumerate(MARKDOWN_IMAGE.split(card)):
        if i % 2:  # split's captured group: a picture's bare file name beside the card (MARKDOWN_IMAGE)
            st.image(str(MODEL_CARD.parent / part))
        else:
            st.markdown(part)
