"""Command line: ``python -m genre`` (or ``genre``) with ``predict``, ``tag``, ``evaluate``, ``train``,
``train-detector``, ``doctor``, ``warmup``, ``import-musicnn`` or ``export-onnx``.

Exit status: 0 when every file gave a verdict (a genre, unsure or not music), 1 when any failed, 2 for
bad usage.
Package errors are caught here, at the edge, and printed as one line each.
"""
from __future__ import annotations

import argparse
import errno
import json
import math
import os
import signal
import sys
import threading
from pathlib import Path

from .errors import GenreError


def _predict(args) -> int:
    from .logs import native_logs

    with native_logs(args.verbose):  # TensorFlow's start-up lines, unless --verbose
        from .fusion import load_model

        model = load_model(args.model)
    # Ctrl-C stops at once: predict leaves nothing half done, and a KeyboardInterrupt raised inside
    # numba's compiled callbacks was swallowed (the run went on and exited 0).
    # Only where Ctrl-C is Python's (not ignored by a shell running it in the background).
    switch = (threading.current_thread() is threading.main_thread()
              and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    if switch:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        failed = sum(not _predict_one(name, model, args) for name in args.files)
    finally:
        if switch:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    return 1 if failed else 0


def _predict_one(name: str, model, args) -> bool:
    """Print one file's line (or JSON object); whether it gave a verdict."""
    from .prediction import predict
    from .tag import walk
    from .verdict import NOT_MUSIC

    shown = walk.shown(name)  # one line per file, whatever its name holds
    try:
        result = predict(name, model, start=args.start)
    except GenreError as exc:
        print(json.dumps({"file": name, "error": str(exc)}) if args.json
              else f"{shown}: error: {walk.escaped(str(exc))}", flush=True)
        return False
    heard = ", ".join(t for t, _ in result.top_tags(3))
    clips = f"{len(result.clips)} clip{'s' * (len(result.clips) != 1)} on {result.device}"
    notes = "".join(f" {note}" for note in result.notes())
    if args.json:
        line = json.dumps({"file": name, **result.to_dict()})
    elif result.reason == NOT_MUSIC:  # no genre named, as on the page
        line = f"{shown}: not music ({clips}): {result.why_unsure}{notes}"
    elif result.unsure:
        line = f"{shown}: unsure (best guess {result.genre}, {result.confidence:.0%}; {clips}): {result.why_unsure}{notes}"
    else:
        line = (f"{shown}: {result.genre} ({result.confidence:.0%}) over {clips}"
                + (f"; sounds like {heard}" if heard else "") + (f".{notes}" if notes else ""))
    print(line, flush=True)
    return True


def _doctor(args) -> int:
    """Every file the model needs, the runtime that will serve it and why, and whether it loads."""
    from . import audio, backbone, detector, fusion, heads, runtime
    from .cnn import MODEL_PATH
    from .logs import native_logs

    folder, failed = args.model or fusion.MODEL_DIR, 0
    try:
        print(f"ffmpeg: {audio.ffmpeg_path()}")
    except GenreError as exc:
        failed += 1
        print(f"ffmpeg: MISSING ({exc})")
    needed = [MODEL_PATH.name, backbone.MODEL_FILE, backbone.LICENSE_FILE, fusion.FUSION_FILE,
              fusion.BAND_MAP_FILE, fusion.REFERENCE_FILE, *(fusion.HEAD_FILE.format(h) for h in heads.HEADS)]
    without = {**{f: "TensorFlow serves instead" for f in runtime.ONNX_FILES.values()},
               detector.DETECTOR_FILE: "no music detector: sounds that are not music are not called so"}
    for name in [*needed, *without]:
        state = ("present" if (folder / name).exists() else "MISSING" if name in needed
                 else f"absent: {without[name]}")
        print(f"model: {folder / name} ({state})")
    failed += sum(not (folder / name).exists() for name in needed)
    try:
        choice = runtime.choose(folder)
        print(f"backbone runtime: {choice.runtime} ({choice.why})")
        with native_logs(args.verbose):
            model = fusion.load_model(folder)  # judges a quiet clip once: the whole chain runs
        print(f"model: loads and judges on {model.device}")
    except GenreError as exc:
        failed += 1
        print(f"model: does not load: {exc}")
    return 0 if not failed else 1


def _training(command: str):
    """The run of a command that trains or measures, imported only when it runs (``genre.training.commands``)."""
    def run(args) -> int:
        from .training import commands

        return getattr(commands, command)(args)

    return run


def _warmup(args) -> int:
    """Compile librosa's numba code once, so the cache is warm for the first request."""
    import numpy as np

    from . import audio, spectrogram
    from .fusion import WARM_UP_SAMPLE

    spectrogram.render(np.full(audio.CLIP_SAMPLES, WARM_UP_SAMPLE, dtype=np.float32))
    print("warm")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m genre", description="Tell the genre of a song.")
    sub = p.add_subparsers(dest="command", required=True)
    pr = sub.add_parser("predict", help="classify audio files")
    pr.add_argument("files", nargs="+", metavar="FILE")
    pr.add_argument("--start", type=_seconds, metavar="SECONDS", help="analyse only the 3-s clip from here")
    pr.add_argument("--json", action="store_true", help="one JSON object per line")
    pr.add_argument("--model", type=Path,
                    help="a model folder or a CNN's .keras file (default: the shipped model/)")
    pr.add_argument("--verbose", action="store_true", help="also show TensorFlow's and CUDA's log lines")
    pr.set_defaults(run=_predict)
    from .tag import run as tag_run  # ``tag``: a whole library, resumable, on every core or on Ray

    tag_run.add_arguments(sub.add_parser("tag", help="tag a whole music library (resumable, parallel)"))
    ev = sub.add_parser("evaluate", help="measure a model on labelled <genre>/<file> data")
    ev.add_argument("--data", required=True, type=Path, metavar="DIR")
    ev.add_argument("--model", type=Path, action="append",
                    help="a model folder or a CNN's .keras file (default: the shipped model/); "
                         "repeat a .keras to evaluate the CNNs' average")
    ev.add_argument("--split", help="with a manifest.csv: rows of this split (e.g. valid)")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--plot", type=Path, metavar="PNG", help="also save the confusion matrix as an image")
    ev.set_defaults(run=_training("evaluate"))
    tr = sub.add_parser("train", help="train the CNN, then the backbone heads and their fusion")
    tr.add_argument("--data", required=True, type=Path, metavar="DIR")
    tr.add_argument("--out", type=Path, default=Path("model"))
    tr.add_argument("--epochs", type=int, help="length of each network's learning-rate schedule "
                                                "(default: the recipe's, training.cnn.EPOCHS)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--ensemble", type=int, default=1, metavar="N",
                    help="train N networks (seeds S, S+1, ...) and ship their average")
    tr.add_argument("--train-split", default="train")
    tr.add_argument("--valid-split", default="valid", help="'none' to measure nothing")
    tr.add_argument("--cnn", type=Path, metavar="KERAS",
                    help="use this trained CNN (e.g. runs/ens3/genre_cnn.keras) instead of training one")
    tr.add_argument("--cnn-only", action="store_true", help="train the CNN only, not the backbone heads")
    tr.add_argument("--cache", type=Path, metavar="DIR",
                    help="keep each file's backbone embeddings here, so a rerun embeds nothing twice")
    tr.add_argument("--calibration", type=Path, metavar="RUN",
                    help="a run folder (or its genre_cnn.json) whose fusion weights, temperatures and "
                         "unsure thresholds this model takes (default: choose them on the validation split)")
    tr.set_defaults(run=_training("train"), usage_error=tr.error)
    td = sub.add_parser("train-detector", help="fit the music detector on GTZAN audio against generated "
                                               "non-music, and measure it leaving whole families out")
    td.add_argument("--data", required=True, type=Path, metavar="DIR")
    td.add_argument("--out", type=Path, default=Path("model"), help="a model folder (holds the backbone)")
    td.add_argument("--cache", type=Path, metavar="DIR", help="keep each sound's backbone outputs here")
    td.add_argument("--seed", type=int, default=0)
    td.add_argument("--per-family", type=int, metavar="N",
                    help="generated sounds a family (default: training.sounds.PER_FAMILY)")
    td.set_defaults(run=_training("train_detector"))
    dr = sub.add_parser("doctor", help="check ffmpeg, the model's files, the runtime and that the model loads")
    dr.add_argument("--model", type=Path, help="a model folder (default: the shipped model/)")
    dr.add_argument("--verbose", action="store_true", help="show TensorFlow's and ONNX Runtime's own log lines")
    dr.set_defaults(run=_doctor)
    sub.add_parser("warmup", help="warm librosa's numba cache").set_defaults(run=_warmup)
    im = sub.add_parser("import-musicnn", help="port musicnn's weights from its PyPI wheel into model/ "
                                               "(then export-onnx)")
    im.add_argument("--out", type=Path, help="the model folder (default: the shipped model/)")
    im.add_argument("--no-verify", action="store_true", help="skip the comparison with the original graph")
    im.set_defaults(run=_training("import_musicnn"))
    ex = sub.add_parser("export-onnx", help="convert the networks to ONNX (what serves on CPUs) and check them")
    ex.add_argument("--out", type=Path, help="the model folder (default: the shipped model/)")
    ex.set_defaults(run=_training("export_onnx"))
    return p


def _seconds(text: str) -> float:
    """``--start``: a number of seconds, 0 or more (argparse names the option and its command)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds, 0 or more, not {text!r}")
    return value


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except GenreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (``| head``): nothing more to say, and no one to say it to
        _drop_stdout()
        return 1
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        _drop_stdout()  # what could not be written is lost
        print(f"error: no space left on the device to write {exc.filename or 'the output'}", file=sys.stderr)
        return 1


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so that Python's flush at exit cannot fail again with a traceback."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
