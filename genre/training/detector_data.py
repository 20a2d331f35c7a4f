"""The music detector's examples: GTZAN audio (and crops of it) against generated non-music.

Each example is heard as recorded, without ``audio.normalise``, as ``GenreModel.hear`` hears a song
the second time (``prediction.clip_windows``, the clean-audio backbone path,
``rhythm.pulse_clarity``) and reduced to ``detector.features``. The backbone's outputs are the only
slow part: they are kept per example in a cache folder (``<cache>/<name>.npz``, named by the
backbone, ``embed.backbone_key``), so a rerun embeds nothing twice; the cheap statistics are recomputed.
"""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import audio, backbone, detector
from ..prediction import clip_windows
from ..rhythm import pulse_clarity
from . import data, sounds
from .embed import backbone_key, read_cached, save_npz

MUSIC = "music"  # the family name of every positive example
MUSIC_KINDS = ("full", "excerpt", "audio")  # items with raw audio; mel images have no clips to hear
FULL_CROPS = ((1.0, 3.0), (3.0, 9.0), (9.0, 20.0))  # seconds: crops of each whole clip, short to long
EXCERPT_CROP = (1.0, 2.5)  # seconds: one crop of each 2-3 s excerpt
CROP_GAIN_DB = (-20.0, 0.0)  # crops are played this much quieter: GTZAN is mastered loud, users are not


@dataclass
class Example:
    """One sound as the detector sees it."""

    name: str  # unique; also its cache file's name
    group: str  # the recording it comes from: a clip id, or the sound's own name
    family: str  # MUSIC, or one of ``sounds.FAMILIES``
    genre: str | None  # for music
    x: np.ndarray  # detector.features, (d,)
    split: str = ""  # music: the list its recording is on (train or valid; artist-disjoint), if known


def hear(samples: np.ndarray, tagger: backbone.Tagger, cache: Path | None, name: str) -> np.ndarray:
    """``detector.features`` of a sound as recorded (no ``audio.normalise``), as ``GenreModel.hear``
    hears a song a second time before it calls it not music."""
    starts, windows = clip_windows(samples)
    pieces = [samples[s:s + audio.CLIP_SAMPLES] for s in starts]
    path = key = found = None
    if cache is not None:
        path, key = cache / f"{name}.npz", backbone_key(tagger)
        found = read_cached(path, key)  # None for another backbone's file, or a damaged one: heard again
    if found is None:
        heard = tagger(np.stack([backbone.patch(p) for p in pieces]))
        found = {"tags": heard.tags, "embedding": heard.embedding, "pool": heard.pool}
        if path is not None:
            save_npz(path, key=np.array(key), **found)
    return detector.features(found["embedding"], found["pool"], found["tags"], windows, pieces,
                             pulse_clarity(samples))


def crop(samples: np.ndarray, span: tuple[float, float], rng) -> tuple[np.ndarray, str]:
    """A crop of ``span`` seconds (at most the whole) at a random place and a random lower gain,
    and a label naming exactly that crop (its cache key: another crop never reads its file)."""
    n = min(int(rng.uniform(*span) * audio.SAMPLE_RATE), len(samples))
    start = int(rng.integers(0, len(samples) - n + 1))
    gain = float(rng.uniform(*CROP_GAIN_DB))
    return samples[start:start + n] * np.float32(10 ** (gain / 20)), f"{start}+{n}@{gain:.3f}dB"


def music_examples(root, tagger, cache: Path | None, seed: int = 0, log=print) -> list[Example]:
    """Every GTZAN audio file under ``root`` (all splits: genre labels do not matter here), whole
    and cropped: ``FULL_CROPS`` of each whole clip, an ``EXCERPT_CROP`` of each excerpt."""
    items = [i for i in data.find_items(root) if i.kind in MUSIC_KINDS]
    out, started = [], time.time()
    for n, item in enumerate(items, 1):
        samples = audio.decode(item.path)
        rng = np.random.default_rng([seed, zlib.crc32(f"{item.kind}-{item.id}".encode())])
        views = {"": samples}
        for span in FULL_CROPS if item.kind == "full" else (EXCERPT_CROP,):
            y, label = crop(samples, span, rng)
            views[f"-crop{label}"] = y
        for suffix, y in views.items():
            name = f"music-{item.kind}-{item.id}{suffix}"
            out.append(Example(name, item.id, MUSIC, item.genre, hear(y, tagger, cache, name), item.split))
        if n % 50 == 0:
            log(f"music: heard {n}/{len(items)} files ({time.time() - started:.0f} s)")
    return out


def sound_examples(tagger, cache: Path | None, seed: int = 0, per_family: int = sounds.PER_FAMILY,
                   log=print) -> list[Example]:
    """``per_family`` generated sounds of every family in ``sounds.FAMILIES``."""
    out, started = [], time.time()
    for family in sounds.FAMILIES:
        for i in range(per_family):
            sound = sounds.make(family, i, seed)
            name = f"{sound.name}-v{sounds.VERSION}-s{seed}"
            out.append(Example(name, name, family, None, hear(sound.samples, tagger, cache, name)))
        log(f"sounds: heard {family} ({time.time() - started:.0f} s)")
    return out
