"""Songs heard at the level of GTZAN's music (``audio.normalise``): the verdicts, and the music detector.

Prints figures; asserts nothing. Run after the card's validation run (``runs/fused``) and after
``train-detector`` filled its cache:
``python -m bench.level [--data ../shared/data/gtzan] [--cache runs/detector-cache] [--model runs/fused]``.

1. The verdicts: the valid list's audio (heads trained on the train list, the validation run's
   model without a detector) played 6 and 12 dB louder (soft-limited, as loud masters are) and 10,
   20 and 30 dB quieter, heard at the normal level as ``predict`` hears it and as recorded (the
   normalisation switched off).
2. The detector: ``GenreModel.hear`` calls a song heard at another level not music only if it is not
   music as recorded too. Measured the way ``train-detector`` measures, with the shipped recipe
   and no refit: music of artists never heard (fit without one list of the split, flag the other,
   both ways: whole files, and crops of 1-20 s played up to 20 dB quieter), and each generated
   family left out (5 folds); each sound or file flagged as recorded is heard at the normal level
   exactly as ``predict`` would hear it.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import re
import time
from pathlib import Path

import numpy as np

from genre import audio, backbone, detector
from genre.cnn import MODEL_DIR
from genre.prediction import clip_windows, heard_clips
from genre.rhythm import pulse_clarity
from genre.training import data, detector_data, sounds
from genre.training import detector as recipe
from genre.training.detector_data import MUSIC, Example
from tests.support import ROOT, machine

CROP = re.compile(r"music-(?P<kind>\w+?)-(?P<id>[a-z]+\.\d+)(-crop(?P<start>\d+)\+(?P<n>\d+)@(?P<gain>-?[\d.]+)dB)?$")
SOUND = re.compile(r"(?P<family>\w+)-(?P<index>\d+)-v\d+-s(?P<seed>\d+)$")


def samples_of(example: Example, files: dict) -> np.ndarray:
    """The audio an example was heard from: a GTZAN file (or its crop, by its name), or a made sound."""
    if example.family != MUSIC:
        m = SOUND.match(example.name)
        return sounds.make(m["family"], int(m["index"]), int(m["seed"])).samples
    m = CROP.match(example.name)
    y = audio.decode(files[m["kind"], m["id"]])
    if m["start"] is None:
        return y
    start, n = int(m["start"]), int(m["n"])
    return y[start:start + n] * np.float32(10 ** (float(m["gain"]) / 20))


def heard_normal(y: np.ndarray, tagger) -> tuple[float, np.ndarray]:
    """A sound's gain and its detector features at the normal level, as ``GenreModel.hear`` computes them."""
    starts, windows = clip_windows(y)
    gain, normal = heard_clips(y, starts)
    heard = tagger(np.stack([backbone.patch(c) for c in normal]))
    return gain, detector.features(heard.embedding, heard.pool, heard.tags, windows, normal, pulse_clarity(y))


class Second:
    """The hearing at the normal level of examples one fitted detector flags as recorded."""

    def __init__(self, tagger, files: dict):
        self.tagger, self.files = tagger, files

    def still(self, found: detector.Detector, example: Example) -> bool:
        """Whether the example, flagged by ``found`` as recorded, is not music as ``predict`` decides:
        heard at the normal level (``audio.normalise``) and, where it is not music there, as recorded."""
        gain, x = heard_normal(samples_of(example, self.files), self.tagger)
        return found.hear_as_recorded(found.hear(x), example.x, gain).not_music


def new_artists(examples: list[Example], second: Second, l2: float) -> dict:
    """Music of artists never heard called not music as recorded, and as ``predict`` decides."""
    counts = {"whole": [0, 0, 0], "crops": [0, 0, 0]}  # tested, flagged, still flagged
    genres: dict[str, list[int]] = {}
    for held in ("train", "valid"):
        found = recipe.fit([e for e in examples if e.family != MUSIC or e.split != held], "logistic", 0, l2=l2)
        tested = [e for e in examples if e.family == MUSIC and e.split == held]
        for e, flagged in zip(tested, recipe.flags(found, tested)):
            row = counts["crops" if "-crop" in e.name else "whole"]
            still = bool(flagged) and second.still(found, e)
            row[0], row[1], row[2] = row[0] + 1, row[1] + int(flagged), row[2] + int(still)
            per = genres.setdefault(e.genre, [0, 0])
            per[0], per[1] = per[0] + int(flagged), per[1] + int(still)
    return {"counts": counts, "genres": genres}


def families_left_out(examples: list[Example], second: Second, l2: float) -> dict:
    """Per family: sounds caught by detectors that never heard the family, as recorded and as ``predict`` decides."""
    fold = recipe.folds_of([e.group for e in examples], recipe.FOLDS, 0)
    table = {}
    for family in sounds.FAMILIES:
        caught = still = 0
        for k in range(recipe.FOLDS):
            train = [e for e, f in zip(examples, fold) if e.family != family and not (e.family == MUSIC and f == k)]
            found = recipe.fit(train, "logistic", 0, l2=l2)
            tested = [e for e, f in zip(examples, fold) if f == k and e.family == family]
            for e, flagged in zip(tested, recipe.flags(found, tested) if tested else []):
                caught += int(flagged)
                still += int(bool(flagged) and second.still(found, e))
        table[family] = (sum(e.family == family for e in examples), caught, still)
    return table


PLAYED = {"6 dB louder, soft-limited": lambda y: np.tanh(y * 10 ** (6 / 20)),
          "12 dB louder, soft-limited": lambda y: np.tanh(y * 10 ** (12 / 20)),
          "as it is": lambda y: y, **{f"{d} dB quieter": (lambda d: lambda y: y * 10 ** (-d / 20))(d) for d in (10, 20, 30)}}


def verdicts(model_dir: Path, root: Path) -> None:
    """Accuracy and "sure" on the valid list's audio played louder and quieter, normalised and as recorded."""
    from unittest import mock

    from genre import load_model
    from genre.prediction import judge_samples

    model = load_model(model_dir)
    items = [i for i in data.find_items(root, "valid") if i.kind in detector_data.MUSIC_KINDS]
    songs = [(i.genre, audio.decode(i.path)) for i in items]
    print(f"\n| valid audio ({len(songs)} files) played | heard | right | sure of | right when sure |")
    print("| --- | --- | --- | --- | --- |")
    as_recorded = mock.patch.object(audio, "normalise", lambda clips: (0.0, list(clips)))
    for played, change in PLAYED.items():
        for heard, switch in (("at the normal level (shipped)", contextlib.nullcontext()), ("as recorded", as_recorded)):
            with switch:
                said = [(g, judge_samples(np.asarray(change(y), np.float32), model)) for g, y in songs]
            right = [r.genre == g for g, r in said]
            sure = [not r.unsure for _, r in said]
            n_sure = sum(sure)
            print(f"| {played} | {heard} | {np.mean(right):.1%} | {n_sure / len(said):.0%} "
                  f"| {sum(a and b for a, b in zip(right, sure)) / max(n_sure, 1):.1%} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "gtzan")
    parser.add_argument("--cache", type=Path, default=ROOT / "runs" / "detector-cache")
    parser.add_argument("--model", type=Path, default=ROOT / "runs" / "fused", help="the validation run's model")
    args = parser.parse_args()
    started = time.time()
    print(f"measured on {machine.cpu()}; normal level {audio.NORMAL_DB} dBFS")
    verdicts(args.model, args.data)
    tagger = backbone.load_backbone(MODEL_DIR / backbone.MODEL_FILE)
    quiet = lambda m: None  # noqa: E731
    examples = (detector_data.music_examples(args.data, tagger, args.cache, 0, quiet)
                + detector_data.sound_examples(tagger, args.cache, 0, log=quiet))
    files = {(i.kind, i.id): i.path for i in data.find_items(args.data) if i.kind in detector_data.MUSIC_KINDS}
    second = Second(tagger, files)
    l2 = json.loads((MODEL_DIR / "detector.json").read_text())["l2"]  # what train-detector chose
    print(f"\ndetector L2 {l2:g}")
    found = new_artists(examples, second, l2)
    print("\n| music of artists never heard | files | called not music as recorded | and at the normal level |")
    print("| --- | --- | --- | --- |")
    for label, key in (("whole files", "whole"), ("crops, 1-20 s, 0-20 dB quieter", "crops")):
        n, flagged, still = found["counts"][key]
        print(f"| {label} | {n} | {flagged} ({flagged / n:.1%}) | {still} ({still / n:.1%}) |")
    print("by genre (as recorded -> and at the normal level): " + ", ".join(
        f"{g} {a} -> {b}" for g, (a, b) in sorted(found["genres"].items()) if a), flush=True)
    table = families_left_out(examples, second, l2)
    print("\n| family left out | sounds | called not music as recorded | and at the normal level |")
    print("| --- | --- | --- | --- |")
    for family, (n, caught, still) in table.items():
        print(f"| {family} | {n} | {caught} | {still} |")
    n, caught, still = (sum(v[i] for v in table.values()) for i in range(3))
    print(f"| all | {n} | {caught} ({caught / n:.1%}) | {still} ({still / n:.1%}) |")
    print(f"\n({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
