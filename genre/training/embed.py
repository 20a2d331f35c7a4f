"""Embedding GTZAN files for the heads: every backbone view of a file, as prediction computes them.

Audio goes through the clean path (ten patches for a 30-s clip, one repeat-padded patch for a
2-3 s excerpt) and the image path; images through the image path only. ``cached_embed`` keeps
each file's embeddings in a folder, so a rerun embeds nothing twice.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import audio, backbone, bands, fusion, spectrogram
from . import data
from ..prediction import clip_windows, window_starts
from ..rhythm import pulse_clarity


@dataclass
class Song:
    """One labelled file, seen by every branch that can see it."""

    id: str
    label: int
    kind: str  # mel-image, full, excerpt or audio
    image_emb: np.ndarray  # (n, 200) image-path embeddings
    audio_emb: np.ndarray | None = None  # (n, 200) clean-audio embeddings
    tags: np.ndarray | None = None  # (n, 50) from the clean audio, else the image path
    cnn: dict = field(default_factory=dict)  # CNN name -> (n, genres) network probabilities
    pulse: float | None = None  # rhythm.pulse_clarity of the audio (not kept in the cache)
    windows: np.ndarray | None = field(default=None, repr=False)

    @property
    def domain(self) -> str:
        return "image" if self.audio_emb is None else "audio"


def embed(item: data.Item, tagger: backbone.Tagger, band_map: bands.BandMap, label: int) -> Song:
    """Every backbone view of one file, as prediction computes them."""
    if item.kind == "mel-image":
        levels = data.image_levels(item.path)
        starts = window_starts(levels.shape[1], spectrogram.CLIP_COLUMNS)
        windows = np.stack([spectrogram.cut_window(levels, s) for s in starts])
        tags, image_emb = tagger(band_map.patches(windows))
        return Song(item.id, label, item.kind, image_emb, None, tags, windows=windows)
    samples = audio.decode(item.path)
    starts, windows = clip_windows(samples)
    tags, audio_emb = tagger(np.stack([backbone.patch(samples[s:s + audio.CLIP_SAMPLES]) for s in starts]))
    _, image_emb = tagger(band_map.patches(windows))
    return Song(item.id, label, item.kind, image_emb, audio_emb, tags, windows=windows,
                pulse=pulse_clarity(samples))


def save_npz(path: Path, **arrays) -> None:
    """Write ``arrays`` to ``path`` through a uniquely named file beside it, then rename it over:
    an interrupted run leaves no half-written file, and two runs never share a temporary one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_embed(items, tagger, band_map, genres, cache: Path | None = None, log=print) -> list[Song]:
    """``embed`` every item of a known genre; with ``cache`` (``cache/<kind>-<id>.npz``), a rerun
    embeds nothing twice."""
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    songs, started = [], time.time()
    for n, item in enumerate(items, 1):
        if item.genre not in genres:
            continue
        path = cache / f"{item.kind}-{item.id}.npz" if cache is not None else None
        if path is not None and path.exists():
            with np.load(path) as z:
                songs.append(Song(item.id, genres.index(item.genre), item.kind, z["image_emb"],
                                  z["audio_emb"] if "audio_emb" in z.files else None, z["tags"]))
            continue
        song = embed(item, tagger, band_map, genres.index(item.genre))
        if path is not None:
            arrays = {"image_emb": song.image_emb, "tags": song.tags}
            if song.audio_emb is not None:
                arrays["audio_emb"] = song.audio_emb
            save_npz(path, **arrays)
        songs.append(song)
        if n % 50 == 0:
            log(f"embedded {n}/{len(items)} files ({time.time() - started:.0f} s)")
    return songs


def branch_logp(song: Song, head_models: dict, cnn_name: str = "cnn") -> dict:
    """Each branch's (clip log-probs, song log-probs) for a song, as ``GenreModel.branches``."""
    out = {"image": fusion.head_logp(head_models["image"], song.image_emb)}
    if cnn_name in song.cnn:
        out["cnn"] = fusion.cnn_logp(song.cnn[cnn_name])
    if song.audio_emb is not None:
        out["audio"] = fusion.head_logp(head_models["audio"], song.audio_emb)
    return out
