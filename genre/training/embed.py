"""Embedding GTZAN files for the heads: every backbone view of a file, as prediction computes them.

Audio goes through the clean path (ten patches for a 30-s clip, one repeat-padded patch for a
2-3 s excerpt) and the image path; images through the image path only. ``cached_embed`` keeps
each file's embeddings in a folder, so a rerun embeds nothing twice; each cached file names what
made it (``cache_key``), so one made by another backbone, band map or level is embedded again.
"""
from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import audio, backbone, bands, fusion, heads
from . import data
from .evaluate import windows_of
from ..prediction import MAX_CLIPS, QUIET_DB, clip_windows, heard_clips
from ..rhythm import pulse_clarity


CACHED = ("image_emb", "audio_emb", "tags", "image_pool", "audio_pool", "gain_db", "pulse")  # a Song's fields kept per file
# 2: the pulse is kept (the no-beat rule needs it) and each file carries its cache_key. cache_key
# covers the backbone's weights, the band map, the level and the clips heard; bump this version when
# anything else that makes a cached array changes: decoding, the spectrogram or window settings,
# backbone.patch, pulse_clarity, audible_starts or normalise's rule.
CACHE_VERSION = 2


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
    pulse: float | None = None  # rhythm.pulse_clarity of the audio
    windows: np.ndarray | None = field(default=None, repr=False)
    image_pool: np.ndarray | None = field(default=None, repr=False)  # (n, 1506) image-path pooled features
    audio_pool: np.ndarray | None = field(default=None, repr=False)  # (n, 1506) clean-audio pooled features
    gain_db: float | None = None  # audio: how much louder than recorded the backbone heard it (``audio.normalise``)

    @property
    def domain(self) -> str:
        """The fusion domain it is judged in: "audio" when it has clean-audio embeddings, else "image"."""
        return "image" if self.audio_emb is None else "audio"

    def heard(self, path: str, layer: str) -> np.ndarray:
        """The backbone's ``layer`` ("embedding" or "pool", ``backbone.Heard``) of this song heard
        through ``path``: "audio" (the clean audio) or "image" (the image path)."""
        return getattr(self, f"{path}_{'pool' if layer == 'pool' else 'emb'}")


def embed(item: data.Item, tagger: backbone.Tagger, band_map: bands.BandMap, label: int) -> Song:
    """Every backbone view of one file, as prediction computes them."""
    if item.kind == "mel-image":
        windows = windows_of(item)
        image = tagger(band_map.patches(windows))
        return Song(item.id, label, item.kind, image.embedding, None, image.tags, windows=windows,
                    image_pool=image.pool)
    samples = audio.decode(item.path)
    starts, windows = clip_windows(samples)
    gain_db, clips = heard_clips(samples, starts)
    clean = tagger(np.stack([backbone.patch(c) for c in clips]))
    image = tagger(band_map.patches(windows))
    return Song(item.id, label, item.kind, image.embedding, clean.embedding, clean.tags, windows=windows,
                pulse=pulse_clarity(samples), image_pool=image.pool, audio_pool=clean.pool, gain_db=gain_db)


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


@functools.lru_cache(maxsize=2)  # per loaded backbone: the detector's examples ask once each
def backbone_key(tagger: backbone.Tagger) -> str:
    """The backbone's weights and ``CACHE_VERSION``, as 16 hex digits of a sha256: what every cached
    backbone output depends on besides its input."""
    digest = hashlib.sha256(f"{CACHE_VERSION}".encode())
    for weights in tagger.network.get_weights():
        digest.update(np.ascontiguousarray(weights).tobytes())
    return digest.hexdigest()[:16]


def cache_key(tagger: backbone.Tagger, band_map: bands.BandMap) -> str:
    """What a file's cached embeddings depend on besides the file: the backbone's weights, the band
    map, the level songs are heard at and which clips are heard (16 hex digits of a sha256)."""
    digest = hashlib.sha256(f"{backbone_key(tagger)} {audio.NORMAL_DB} {audio.NORMAL_TOLERANCE_DB} "
                            f"{MAX_CLIPS} {QUIET_DB} {band_map.reference!r}".encode())
    digest.update(np.ascontiguousarray(band_map.weights, np.float32).tobytes())
    return digest.hexdigest()[:16]


def read_cached(path: Path, key: str) -> dict | None:
    """A cached file's arrays (``key`` included) when it names ``key``; None when it is missing,
    another key's, or damaged (a file a crash cut short is embedded again, not a crash). Any other
    ``OSError`` (a folder this user may not read) is raised: the cache is the wrong one."""
    try:
        with np.load(path) as z:
            if "key" not in z.files or str(z["key"]) != key:
                return None
            return {k: z[k] for k in z.files}
    except (FileNotFoundError, zipfile.BadZipFile, EOFError, ValueError):
        return None


def cached_embed(items, tagger, band_map, genres, cache: Path | None = None, log=print) -> list[Song]:
    """``embed`` every item of a known genre; with ``cache`` (``cache/<kind>-<id>.npz``), a rerun
    embeds nothing twice. A cached file of another ``cache_key`` (or of an older version, which
    named none) is embedded again and replaced."""
    key = None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        key = cache_key(tagger, band_map)
    songs, started = [], time.time()
    for n, item in enumerate(items, 1):
        if item.genre not in genres:
            continue
        path = cache / f"{item.kind}-{item.id}.npz" if cache is not None else None
        found = read_cached(path, key) if path is not None else None
        if found is not None:
            songs.append(Song(item.id, genres.index(item.genre), item.kind, **_fields(found)))
            continue
        song = embed(item, tagger, band_map, genres.index(item.genre))
        if path is not None:
            kept = {k: getattr(song, k) for k in CACHED if getattr(song, k) is not None}
            save_npz(path, key=np.array(key), **kept)
        songs.append(song)
        if n % 50 == 0:
            log(f"embedded {n}/{len(items)} files ({time.time() - started:.0f} s)")
    return songs


def _fields(found: dict) -> dict:
    """A cached file's ``CACHED`` fields, None where it kept none (an image has no audio or pulse)."""
    get = {k: found.get(k) for k in CACHED}
    for k in ("gain_db", "pulse"):
        get[k] = None if get[k] is None else float(get[k])
    return get


def branch_logp(song: Song, head_models: dict, cnn_name: str = "cnn") -> dict:
    """Each branch's (clip log-probs, song log-probs) for a song, as ``GenreModel.branches``."""
    out = {"image": fusion.head_logp(head_models["image"], song.heard("image", heads.READS["image"]))}
    if cnn_name in song.cnn:
        out["cnn"] = fusion.cnn_logp(song.cnn[cnn_name])
    if song.audio_emb is not None:
        out["audio"] = fusion.head_logp(head_models["audio"], song.heard("audio", heads.READS["audio"]))
    return out
