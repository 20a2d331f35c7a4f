"""Does augmenting the image path, in training or at test time, raise the images' held-out accuracy?

Prints figures; asserts nothing. Run after the card's validation run (``runs/ens3``, and
``runs/fused`` with ``--cache runs/emb-cache``): ``python -m bench.images``.

The image-path head learns from 442 song means; the images it will judge may be louder or
quieter under their loudest bin, of another contrast, or a band off. Each mel image (train and
valid lists) is also heard through the image path changed one way: its reference 6 dB down or
up, its dB scaled by 0.8 or 1.25 (the CNN's contrast range), or its 128 bands shifted by one or
two (about a semitone a band). Two uses are measured by the held-out protocol of
``genre/training/heldout.py``, as for the shipped model: *train* adds the changed training images
as more songs for the heads; *test* also hears every valid image both ways, its windows' outputs
pooled into one song (test-time augmentation). The CNN branch is the validation run's, unchanged.

The audio head also learns from the images' windows (``fit_heads``), so *train* moves the audio
figure too; with this many rows, a rise of a few of 101 files on valid is checked last by
cross-validation over the train list alone, where valid plays no part.
"""
from __future__ import annotations

import time

import numpy as np

from genre import bands, fusion, heads, spectrogram
from genre.training.cnn import CONTRAST
from genre.training.embed import Song, save_npz
from genre.training.evaluate import windows_of
from genre.training.heads import fit_heads
from genre.training.heldout import L2_CHOICES, held_out

from . import validation
from .validation import ROOT

REFERENCE_DB = 6  # the reference moved down or up by this much
BAND_SHIFTS = (1, 2)  # bands, each way
CV_FOLDS = 5
CV_L2 = (0.03, 0.1)  # the audio head's L2 on the two halves of the valid list (the card)
CACHE = ROOT / "runs" / "images"  # every changed image's backbone outputs (a rerun embeds nothing)


def shift_bands(windows: np.ndarray, k: int) -> np.ndarray:
    """Windows (n, 128, 39) moved ``k`` bands up (or down, k < 0), the edge band repeated."""
    out = np.roll(windows, k, axis=1)
    if k > 0:
        out[:, :k] = windows[:, :1]
    elif k < 0:
        out[:, k:] = windows[:, -1:]
    return out


def changes(band_map: bands.BandMap) -> dict:
    """Name -> (band map, change of the dB windows)."""
    up, down = (bands.BandMap(band_map.weights, band_map.reference * 10 ** (s * REFERENCE_DB / 10)) for s in (1, -1))
    out = {f"reference -{REFERENCE_DB} dB": (down, lambda w: w), f"reference +{REFERENCE_DB} dB": (up, lambda w: w)}
    out |= {f"contrast x{c}": (band_map, lambda w, c=c: np.maximum(w * c, -spectrogram.TOP_DB)) for c in CONTRAST}
    for k in BAND_SHIFTS:
        out |= {f"bands +{k}": (band_map, lambda w, k=k: shift_bands(w, k)),
                f"bands -{k}": (band_map, lambda w, k=k: shift_bands(w, -k))}
    return out


def pooled(song: Song, more: list[Song]) -> Song:
    """``song`` with the windows of its changed copies added (test-time augmentation)."""
    copies = 1 + len(more)  # the CNN hears each window once: its outputs repeat, its song mean stays
    return Song(song.id, song.label, song.kind, np.concatenate([song.image_emb] + [m.image_emb for m in more]),
                None, song.tags, cnn={k: np.concatenate([v] * copies) for k, v in song.cnn.items()},
                image_pool=np.concatenate([song.image_pool] + [m.image_pool for m in more]))


def cross_validated(run: validation.ValidationRun, changed: dict, names: list[str], l2: float) -> str:
    """The audio head alone, 5 folds by recording over the train list (valid unseen), trained with
    ``names``' changed training images added: right / audio files of the folds left out."""
    ids = sorted({s.id for s in run.train})
    np.random.default_rng(0).shuffle(ids)
    fold = {i: k % CV_FOLDS for k, i in enumerate(ids)}
    right = total = 0
    for f in range(CV_FOLDS):
        songs = [s for s in run.train if fold[s.id] != f]
        songs += [c for n in names for i, c in changed[n]["train"].items() if fold[i] != f]
        head = fit_heads(songs, len(run.genres), l2=l2)["audio"]
        for s in (s for s in run.train if fold[s.id] == f and s.audio_emb is not None):
            right += int(fusion.head_logp(head, s.heard("audio", heads.READS["audio"]))[1].argmax() == s.label)
            total += 1
    return f"{right}/{total} ({100 * right / total:.1f} %)"


def hear_changed(run: validation.ValidationRun, kinds: dict) -> dict[str, dict[str, dict[str, Song]]]:
    """Change -> split -> recording id -> the changed image as a song. Each image's outputs are
    cached per change in ``CACHE`` (``<change>/<id>.npz``), so an interrupted run resumes."""
    changed = {name: {"train": {}, "valid": {}} for name in kinds}
    for split, items in (("train", run.train_items), ("valid", run.valid_items)):
        for item in items:
            if item.kind != "mel-image" or item.genre not in run.genres:
                continue
            windows = None
            for name, (band_map, change) in kinds.items():
                path = CACHE / name.replace(" ", "_") / f"{item.id}.npz"
                if not path.exists():
                    windows = windows_of(item) if windows is None else windows
                    h = run.tagger(band_map.patches(change(windows)))
                    path.parent.mkdir(parents=True, exist_ok=True)
                    save_npz(path, embedding=h.embedding, pool=h.pool, tags=h.tags)
                with np.load(path) as z:  # keyed by recording: one image each
                    changed[name][split][item.id] = Song(f"{item.id}~{name}", run.genres.index(item.genre), item.kind,
                                                         z["embedding"], None, z["tags"], image_pool=z["pool"])
    return changed


def main() -> None:
    run, _ = validation.from_command_line(__doc__)
    genres = run.genres
    kinds, started = changes(run.band_map), time.time()
    changed = hear_changed(run, kinds)
    print(f"{len(run.train_items)} train and {len(run.valid_items)} valid files, {len(kinds)} changes, "
          f"{time.time() - started:.0f} s (cached in {CACHE.relative_to(ROOT)})")
    base, reference = run.base_unsure(), run.reference()

    def measure(train: list[Song], valid: list[Song], label: str) -> None:
        fitted = {l2: fit_heads(train, len(genres), l2=l2) for l2 in L2_CHOICES}
        report = held_out(valid, fitted, reference, base, log=lambda m: None)
        i, halves = report["image"], " / ".join(f"{h['image']['accuracy']:.3f}" for h in report["halves"])
        print(f"{label:<34} images {i['accuracy']:.3f} (halves {halves}), sure {i['coverage']:.2f} "
              f"at {i['accuracy_sure']:.3f}; audio {report['audio']['accuracy']:.3f}", flush=True)

    def tested(names: list[str]) -> list[Song]:
        return [pooled(s, [changed[n]["valid"][s.id] for n in names]) if s.kind == "mel-image" else s
                for s in run.valid]

    measure(run.train, run.valid, "no augmentation")
    for name in kinds:
        measure(run.train + list(changed[name]["train"].values()), run.valid, f"train + {name}")
        measure(run.train, tested([name]), f"test + {name}")
        measure(run.train + list(changed[name]["train"].values()), tested([name]), f"both + {name}")
    every = [s for name in kinds for s in changed[name]["train"].values()]
    measure(run.train + every, run.valid, "train + all of them")
    measure(run.train + every, tested(list(kinds)), "both + all of them")
    print(f"the audio head alone, {CV_FOLDS} folds by recording over the train list, at L2 {', '.join(map(str, CV_L2))}:")
    for names in ([], *([n] for n in kinds), list(kinds)):
        print(f"  train + {', '.join(names) or 'nothing'}: "
              + ", ".join(cross_validated(run, changed, names, l2) for l2 in CV_L2), flush=True)


if __name__ == "__main__":
    main()
