"""Genre: upload a song, or try a demo track, and see which genre a small CNN hears in it.

    streamlit run app.py

All signal processing lives in the ``genre`` package; this file only lays out what it returns.
Sessions share nothing mutable: the model and a process-wide limit on concurrent analyses
are ``st.cache_resource``; results are ``st.cache_data``, keyed on the sha256 of the file.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path

import pandas as pd
import streamlit as st

import genre
from genre import audio
from genre.spectrogram import colorize

ROOT = Path(__file__).resolve().parent
DEMO_DIR = ROOT / "assets" / "demo"
MODEL_CARD = ROOT / "model" / "README.md"
UPLOAD_TYPES = ["mp3", "wav", "flac", "ogg", "m4a"]
BAR_COLOUR = "#b5367a"  # the theme's primary colour (.streamlit/config.toml)
CONCURRENT_ANALYSES = 2  # per process; a burst of uploads queues instead of exhausting memory
log = logging.getLogger("genre.app")


# --- Shared, read-only resources and cached results ---------------------------------------

@st.cache_resource(show_spinner="Loading the model…")
def get_model() -> genre.Classifier:
    return genre.load_model()


@st.cache_resource
def analysis_slots() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(CONCURRENT_ANALYSES)


@st.cache_data(max_entries=64, max_size="256MB", ttl="2h", show_spinner=False)
def analyse(digest: str, _data: bytes, _model: genre.Classifier, start: float | None = None):
    """The prediction for a song, or for its 3-s clip at ``start``; cached on ``digest``."""
    audio.sniff_format(_data[:16])  # refuse what is not audio at once, without queueing for a slot
    with analysis_slots():
        return genre.predict(_data, _model, start=start)


@st.cache_data
def demos() -> list[dict]:
    return json.loads((DEMO_DIR / "demos.json").read_text())["demos"]


# --- Presentation helpers ----------------------------------------------------------------

def label(name: str) -> str:
    return {"hiphop": "hip-hop"}.get(name, name)


def pct(p: float) -> str:
    return f"{p:.0%}"


def mmss(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def sureness(p: float) -> str:
    return "very sure" if p >= 0.8 else "fairly sure" if p >= 0.6 else "somewhat sure"


def ranked(probabilities: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(probabilities.items(), key=lambda item: item[1], reverse=True)


def result_json(pred: genre.Prediction, name: str, digest: str, meta: dict) -> str:
    model = {"version": meta.get("version"), "accuracy": meta.get("validation", {}).get("accuracy")}
    return json.dumps({"file": name, "sha256": digest, "model": model, **pred.to_dict()}, indent=2)


def result_csv(pred: genre.Prediction) -> str:
    rows = [{"scope": "song", "start": 0.0, "end": pred.duration, "genre": pred.genre, **pred.probabilities}]
    rows += [{"scope": "clip", "start": c.start, "end": c.end, "genre": c.genre, **c.probabilities}
             for c in pred.clips]
    return pd.DataFrame(rows).round(4).to_csv(index=False)


def explain_failures(run, *args):
    """``run(*args)``, or None after showing why it failed in a sentence (never a traceback)."""
    try:
        return run(*args)
    except genre.GenreError as exc:
        st.error(str(exc), icon=":material/error:")
    except Exception:
        log.exception("analysis failed")
        st.error("Something went wrong while analysing this file. Please try another one.",
                 icon=":material/error:")
    return None


def use_demo(index: int) -> None:
    st.session_state.demo = index
    st.session_state.upload_key += 1  # a fresh, empty uploader


def forget_demo() -> None:
    st.session_state.demo = None


# --- The page ----------------------------------------------------------------------------

st.set_page_config(page_title="Genre: what does the model hear?", page_icon=":material/music_note:",
                   layout="wide")
st.session_state.setdefault("demo", None)
st.session_state.setdefault("upload_key", 0)

st.title(":material/music_note: What genre is this song?")
st.write("A small neural network listens to your song three seconds at a time and tells you "
         "which of ten genres it sounds like, and where.")

pick, demo_box = st.columns([3, 2], gap="large")
upload = pick.file_uploader("Upload a song: MP3, WAV, FLAC, OGG or M4A", type=UPLOAD_TYPES,
                            key=f"upload-{st.session_state.upload_key}", on_change=forget_demo)
with demo_box:
    choice = st.selectbox("…or pick a demo track", range(len(demos())),
                          format_func=lambda i: f"{demos()[i]['title']} ({demos()[i]['genre']})")
    st.button("Try the demo track", icon=":material/play_arrow:", on_click=use_demo, args=(choice,))

model = explain_failures(get_model)
if model is None:
    st.stop()

if upload is not None:
    limit_mb = st.get_option("server.maxUploadSize")
    if upload.size > limit_mb * 2**20:
        st.error(f"The file is {upload.size / 2**20:.0f} MB; files up to {limit_mb} MB are accepted.")
        st.stop()
    name, data = upload.name, upload.getvalue()
elif st.session_state.demo is not None:
    demo = demos()[st.session_state.demo]
    name, data = demo["file"], (DEMO_DIR / demo["file"]).read_bytes()
    st.caption(f"Demo track **{demo['title']}**, written as {demo['genre']}: {demo['description']}")
else:
    st.info("Upload a song, or press **Try the demo track**, to begin.")
    st.stop()

digest = hashlib.sha256(data).hexdigest()
with st.spinner("Listening to the song…", show_time=True):
    song = explain_failures(analyse, digest, data, model)
if song is None:
    st.stop()  # the error is on the page; the next upload starts afresh

# The verdict.
best = ranked(song.probabilities)
unsure_below = float(model.meta.get("unsure_below", 0.5))
if song.confidence >= unsure_below:
    st.header(f"It sounds like {label(song.genre)}: {pct(song.confidence)}")
    st.write(f"The model is {sureness(song.confidence)}: {pct(song.confidence)} for "
             f"**{label(song.genre)}**, averaged over {len(song.clips)} clip(s) of 3 s.")
else:
    guesses = [f"**{label(g)}** ({pct(p)})" for g, p in best[:3]]
    st.header(f"Maybe {label(song.genre)}: {pct(song.confidence)}")
    st.warning(f"The model is unsure. Its best guesses are {', '.join(guesses[:-1])} "
               f"and {guesses[-1]}.", icon=":material/help:")
if song.short:
    st.info("The song is shorter than 3 s, so it was repeated to fill one clip.")
if song.truncated:
    st.info(f"Only the first {audio.MAX_SECONDS // 60} minutes were analysed.")

chart_col, mel_col = st.columns([3, 2], gap="large")
with chart_col:
    st.subheader("All genres")
    bars = pd.DataFrame({"genre": [label(g) for g, _ in best], "probability (%)": [100 * p for _, p in best]})
    st.bar_chart(bars, x="genre", y="probability (%)", horizontal=True, sort="-probability (%)",
                 color=BAR_COLOUR)
# mel_col is filled below, once the slider has chosen the clip.

st.subheader("Across the song")
if len(song.clips) > 1:
    timeline = pd.DataFrame([{label(g): 100 * p for g, p in c.probabilities.items()} for c in song.clips],
                            index=pd.Index([(c.start + c.end) / 2 for c in song.clips], name="seconds"))
    st.area_chart(timeline, x_label="seconds into the song", y_label="probability (%)", stack=True)
else:
    st.caption("The song is a single clip, so there is no timeline.")

st.subheader("Listen to what the model heard")
last = int(song.duration - audio.CLIP_SECONDS)
if last >= 1:
    surest = max(song.clips, key=lambda c: c.probabilities[song.genre])
    start = st.slider("Pick a moment: the 3-s clip from there is played here and pictured above",
                      0, last, int(surest.start), format="%d s", key=f"start-{digest}",
                      help="It starts where the model was surest of its verdict.")
else:
    start = 0
with st.spinner("Listening to the clip…"):
    moment = explain_failures(analyse, digest, data, model, float(start))  # e.g. a silent stretch
clip = moment.clips[0] if moment else None
if clip:
    clip_genre, clip_p = ranked(clip.probabilities)[0]
    st.audio(audio.to_wav_bytes(clip.samples), format="audio/wav")
    st.write(f"From {mmss(clip.start)} to {mmss(clip.end)} the model hears **{label(clip_genre)}** "
             f"({pct(clip_p)}).")

with mel_col:
    st.subheader("What the model saw")
    if clip:
        # Stretched along time so the 3-s window reads as a picture, not a strip.
        st.image(colorize(clip.mel, scale=2).repeat(5, axis=1), width="stretch",
                 caption=f"Mel spectrogram of {mmss(clip.start)}–{mmss(clip.end)}: time runs left to "
                         "right, pitch bottom to top, brighter is louder.")
    else:
        st.caption("Nothing to picture at this moment; pick another one below.")

st.divider()
meta = model.meta
validation = meta.get("validation", {})
accuracy = (f"validated accuracy {pct(validation['accuracy'])} per song"
            if "accuracy" in validation else "not validated")
if "clip_accuracy" in validation:
    accuracy += f", {pct(validation['clip_accuracy'])} per 3-s clip"
st.caption(f"Ran on **{song.device}** · model version {meta.get('version', '?')} · {accuracy} · "
           "see the model card below.")
stem = Path(name).stem
with st.container(horizontal=True):
    st.download_button("Download JSON", result_json(song, name, digest, meta), f"{stem}-genre.json",
                       "application/json", on_click="ignore", icon=":material/download:")
    st.download_button("Download CSV", result_csv(song), f"{stem}-genre.csv", "text/csv",
                       on_click="ignore", icon=":material/download:")
with st.expander("Model card"):
    st.markdown(MODEL_CARD.read_text() if MODEL_CARD.exists() else "No model card (model/README.md) yet.")
