"""Training and evaluation data: GTZAN-style folders of audio and mel-spectrogram images.

Everything is reduced to the same thing: a clip id, its genre, and a (128, n) array of
levels from ``spectrogram.mel_levels`` (for audio) or read back from a mel image.
A ``manifest.csv`` (id, genre, split, kind, path, ...) may describe the folder; otherwise
files are found as ``<genre>/<file>``.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .. import audio, formats, spectrogram
from ..errors import DataError
from ..verdict import GENRES

IMAGE_SUFFIXES = {".png"}
AUDIO_SUFFIXES = frozenset(formats.SUFFIXES)  # what the package decodes: the same for training


@dataclass
class Item:
    """One labelled file: its clip id, genre, kind ("mel-image", "full", "excerpt", "audio")."""

    id: str
    genre: str
    kind: str
    path: Path
    split: str = ""


_IMAGE_ROWS = np.floor((np.arange(spectrogram.N_MELS) + 0.5)
                       * spectrogram.IMAGE_AXES_HEIGHT / spectrogram.N_MELS).astype(np.int64)


def image_levels(path) -> np.ndarray:
    """Read a GTZAN-style mel image back into levels: uint8 (128, width), lowest band first.

    Each band is read from the pixel row at its centre; each colour is inverted through the
    magma table (a colour off the table, from anti-aliasing, takes the nearest entry).
    """
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.int64)
    if rgb.shape[0] != spectrogram.IMAGE_AXES_HEIGHT:
        raise DataError(f"{Path(path).name}: expected a {spectrogram.IMAGE_AXES_HEIGHT}-pixel-high "
                         f"mel image, got {rgb.shape[0]}.")
    rows = rgb[::-1][_IMAGE_ROWS]  # lowest band first
    lut = spectrogram.magma_lut().astype(np.int64)
    keys, lut_keys = _rgb_key(rows), _rgb_key(lut)
    order = np.argsort(lut_keys)  # magma's 256 colours are distinct: search them sorted
    found = np.clip(np.searchsorted(lut_keys[order], keys), 0, len(order) - 1)
    levels = order[found]
    off = lut_keys[levels] != keys
    if off.any():
        levels[off] = np.argmin(((rows[off][:, None, :] - lut[None]) ** 2).sum(-1), axis=1)
    return levels.astype(np.uint8)


def _rgb_key(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]


def audio_levels(path) -> np.ndarray:
    """Decode an audio file and render all its columns as levels (one 30-s clip: 387)."""
    samples = audio.decode(path)
    audio.check_length(samples)
    return spectrogram.mel_levels(samples)


def load_levels(item: Item) -> np.ndarray:
    """Levels of any item, image or audio."""
    return image_levels(item.path) if item.kind == "mel-image" else audio_levels(item.path)


def find_items(root, split: str | None = None) -> list[Item]:
    """List the labelled files under ``root``: from its ``manifest.csv``, else ``<genre>/<file>``.

    Parameters
    ----------
    root : path
        A folder like ``../shared/data/gtzan``.
    split : str, optional
        With a manifest, keep only rows of this split (``train``, ``valid``, or ``train+valid``).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder: give one with <genre>/<file> or a manifest.csv.")
    manifest = root / "manifest.csv"
    if manifest.exists():
        with open(manifest, newline="") as f:
            rows = list(csv.DictReader(f))
        wanted = set(split.split("+")) if split else None
        known = sorted({r["split"] for r in rows})
        if wanted and not wanted <= set(known):
            raise DataError(f"No split {split!r} in {manifest}: it has {', '.join(known)} (join them with +).")
        items = [Item(r["id"], r["genre"], r["kind"], root / r["path"], r["split"])
                 for r in rows if wanted is None or r["split"] in wanted]
    else:
        if split:
            raise DataError(f"--split needs a manifest.csv in {root}.")
        items = []
        for path in sorted(root.glob("*/*")):
            genre, suffix = path.parent.name, path.suffix.lower()
            if genre in GENRES and suffix in IMAGE_SUFFIXES | AUDIO_SUFFIXES:
                kind = "mel-image" if suffix in IMAGE_SUFFIXES else "audio"
                items.append(Item(path.stem, genre, kind, path))
    if not items:
        raise DataError(f"No labelled audio or mel images found in {root}.")
    return items
