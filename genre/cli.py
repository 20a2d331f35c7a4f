"""Command line: ``python -m genre`` (or ``genre``) with ``predict``, ``tag``, ``evaluate``, ``train``,
``train-detector``, ``doctor``, ``warmup``, ``import-musicnn`` or ``export-onnx``.

Exit status: 0 when every file gave a genre, 1 when any failed, 2 for bad usage.
Package errors are caught here, at the edge, and printed as one line each.
"""
from __future__ import annotations

import argparse
import errno
import json
import math
import os
import sys
from pathlib import Path

from .errors import DataError, GenreError


def _predict(args) -> int:
    from .logs import native_logs

    with native_logs(args.verbose):  # TensorFlow's start-up lines, unless --verbose
        from .fusion import load_model
        from .prediction import predict
        from .tag import walk

        model = load_model(args.model)
    failed = 0
    for name in args.files:
        shown = walk.shown(name)  # one line per file, whatever its name holds
        try:
            result = predict(name, model, start=args.start)
        except GenreError as exc:
            failed += 1
            if args.json:
                print(json.dumps({"file": name, "error": str(exc)}), flush=True)
            else:
                print(f"{shown}: error: {walk.escaped(str(exc))}", flush=True)
            continue
        if args.json:
            print(json.dumps({"file": name, **result.to_dict()}), flush=True)
        else:
            heard = ", ".join(t for t, _ in result.top_tags(3))
            clips = f"{len(result.clips)} clip(s) on {result.device}"
            notes = "".join(f" {note}" for note in result.notes())
            if result.unsure:
                print(f"{shown}: unsure (best guess {result.genre}, {result.confidence:.0%}; {clips}): "
                      f"{result.why_unsure}{notes}", flush=True)
            else:
                print(f"{shown}: {result.genre} ({result.confidence:.0%}) over {clips}"
                      + (f"; sounds like {heard}" if heard else "") + (f".{notes}" if notes else ""), flush=True)
    return 1 if failed else 0


def _evaluate(args) -> int:
    from .fusion import GenreModel, load_model
    from .training import data, evaluate
    from .training.cnn import combine

    paths = args.model or [None]
    model = load_model(paths[0]) if len(paths) == 1 else combine([load_model(p) for p in paths])
    if isinstance(model, GenreModel):
        from .training.evaluate_fusion import evaluate_fusion, format_fusion_report

        report = evaluate_fusion(data.find_items(args.data, args.split), model,
                                 log=lambda m: print(m, file=sys.stderr))
        print(json.dumps(report) if args.json else format_fusion_report(report))
        return 0
    report = evaluate.evaluate(data.find_items(args.data, args.split), model)
    if args.plot:
        evaluate.plot_confusion(report, args.plot)
    if args.json:
        keys = ("n", "accuracy", "macro_f1", "per_genre", "confusion", "genres",
                "clip_accuracy", "clip_n", "by_kind", "calibration", "predicted_share", "failed")
        print(json.dumps({k: report[k] for k in keys}))
    else:
        print(evaluate.format_report(report))
    return 0


def _check_calibration(path: Path) -> None:
    """Raise ``DataError`` unless ``path`` is a calibration a training run wrote (a JSON object)."""
    try:
        fitted = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"--calibration: cannot read {path} ({exc}); give the folder of a run that had a "
                        "validation split") from exc
    if not isinstance(fitted, dict) or "validation" not in fitted:
        raise DataError(f"--calibration: {path} is not the metadata of a training run with a validation split")


def _train(args) -> int:
    from .cnn import MODEL_PATH, meta_path
    from .fusion import FUSION_FILE
    from .training.cnn import EPOCHS, train
    from .training.fusion import train_fusion

    valid = None if args.valid_split == "none" else args.valid_split
    calibration = args.calibration
    if valid is None and calibration is None:
        args.usage_error("--valid-split none leaves nothing to choose the fusion weights, temperatures and "
                         "unsure thresholds on: give --calibration RUN, a run that had a validation split")
    if calibration is not None and calibration.is_dir():
        calibration = calibration / meta_path(MODEL_PATH).name
    if calibration is not None:  # read now, not after an hour of training
        needed = [calibration] if args.cnn_only else [calibration, calibration.with_name(FUSION_FILE)]
        for path in needed[1 if args.cnn is not None else 0:]:
            _check_calibration(path)
    if args.cnn is None:
        train(args.data, args.out, epochs=EPOCHS if args.epochs is None else args.epochs, seed=args.seed, ensemble=args.ensemble,
              train_split=args.train_split, valid_split=valid, calibration=calibration)
        cnn = args.out / MODEL_PATH.name
    else:
        cnn = args.cnn
    if not args.cnn_only:
        train_fusion(args.data, args.out, cnn_path=cnn, seed=args.seed, train_split=args.train_split,
                     valid_split=valid, cache=args.cache,
                     calibration=calibration.with_name(FUSION_FILE) if calibration else None)
    return 0


def _train_detector(args) -> int:
    from .training.detector import train_detector
    from .training.sounds import PER_FAMILY

    command = (f"python -m genre train-detector --data {args.data} --out {args.out}"
               + (f" --cache {args.cache}" if args.cache else "") + f" --seed {args.seed}"
               + (f" --per-family {args.per_family}" if args.per_family is not None else ""))
    train_detector(args.data, args.out, cache=args.cache, seed=args.seed,
                   per_family=PER_FAMILY if args.per_family is None else args.per_family, command=command)
    return 0


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
    optional = [*runtime.ONNX_FILES.values(), detector.DETECTOR_FILE]  # without them: TensorFlow, no detector
    for name in needed + optional:
        state = "present" if (folder / name).exists() else ("MISSING" if name in needed else "absent")
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


def _import_musicnn(args) -> int:
    from .training.export import export_onnx, require
    from .training.musicnn import import_musicnn

    from .cnn import MODEL_DIR

    require()  # before the backbone is rewritten: never a new .keras without its ONNX form
    out = args.out or MODEL_DIR
    import_musicnn(out, verify=not args.no_verify)
    export_onnx(out)
    return 0


def _export_onnx(args) -> int:
    from .cnn import MODEL_DIR
    from .training.export import export_onnx, require

    require()
    export_onnx(args.out or MODEL_DIR)
    return 0


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
    pr.add_argument("--start", type=float, metavar="SECONDS", help="analyse only the 3-s clip from here")
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
    ev.set_defaults(run=_evaluate)
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
                    help="use this trained CNN (e.g. model/genre_cnn.keras) instead of training one")
    tr.add_argument("--cnn-only", action="store_true", help="train the CNN only, not the backbone heads")
    tr.add_argument("--cache", type=Path, metavar="DIR",
                    help="keep each file's backbone embeddings here, so a rerun embeds nothing twice")
    tr.add_argument("--calibration", type=Path, metavar="RUN",
                    help="a run folder (or its genre_cnn.json) whose fusion weights, temperatures and "
                         "unsure thresholds this model takes (default: choose them on the validation split)")
    tr.set_defaults(run=_train, usage_error=tr.error)
    td = sub.add_parser("train-detector", help="fit the music detector on GTZAN audio against generated "
                                               "non-music, and measure it leaving whole families out")
    td.add_argument("--data", required=True, type=Path, metavar="DIR")
    td.add_argument("--out", type=Path, default=Path("model"), help="a model folder (holds the backbone)")
    td.add_argument("--cache", type=Path, metavar="DIR", help="keep each sound's backbone outputs here")
    td.add_argument("--seed", type=int, default=0)
    td.add_argument("--per-family", type=int, metavar="N",
                    help="generated sounds a family (default: training.sounds.PER_FAMILY)")
    td.set_defaults(run=_train_detector)
    dr = sub.add_parser("doctor", help="check ffmpeg, the model's files, the runtime and that the model loads")
    dr.add_argument("--model", type=Path, help="a model folder (default: the shipped model/)")
    dr.add_argument("--verbose", action="store_true", help="show TensorFlow's and ONNX Runtime's own log lines")
    dr.set_defaults(run=_doctor)
    sub.add_parser("warmup", help="warm librosa's numba cache").set_defaults(run=_warmup)
    im = sub.add_parser("import-musicnn", help="port musicnn's weights from its PyPI wheel into model/ "
                                               "(then export-onnx)")
    im.add_argument("--out", type=Path, help="the model folder (default: the shipped model/)")
    im.add_argument("--no-verify", action="store_true", help="skip the comparison with the original graph")
    im.set_defaults(run=_import_musicnn)
    ex = sub.add_parser("export-onnx", help="convert the networks to ONNX (what serves on CPUs) and check them")
    ex.add_argument("--out", type=Path, help="the model folder (default: the shipped model/)")
    ex.set_defaults(run=_export_onnx)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "start", None) is not None and not (math.isfinite(args.start) and args.start >= 0):
        parser().error("--start must be a number of seconds, 0 or more")
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
