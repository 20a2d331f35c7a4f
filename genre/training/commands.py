"""The commands of ``python -m genre`` that train or measure: ``evaluate``, ``train``, ``train-detector``,
``import-musicnn`` and ``export-onnx``, each a function of the parsed arguments (``genre.cli`` builds the
parser and imports this module only when one of them runs, so serving never loads training)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import DataError


def check_calibration(path: Path) -> None:
    """Raise ``DataError`` unless ``path`` is a calibration a training run wrote (a JSON object)."""
    try:
        fitted = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"--calibration: cannot read {path} ({exc}); give the folder of a run that had a "
                        "validation split") from exc
    if not isinstance(fitted, dict) or "validation" not in fitted:
        raise DataError(f"--calibration: {path} is not the metadata of a training run with a validation split")


def cnn_train_split(path: Path) -> str | None:
    """The split a saved CNN learned from, as its JSON beside it records (None when it does not say)."""
    from ..cnn import meta_path

    try:
        meta = json.loads(meta_path(path).read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"--cnn: cannot read {meta_path(path)} beside {path} ({exc})") from exc
    data = meta.get("data") if isinstance(meta, dict) else None
    split = data.get("train_split") if isinstance(data, dict) else None
    return split if isinstance(split, str) and split else None


def evaluate(args) -> int:
    """``evaluate``: a model (the fused one, a CNN, or CNNs averaged) on labelled data, as a report."""
    import numpy as np

    from ..fusion import GenreModel, load_model
    from . import data, evaluate as measure
    from .cnn import combine

    paths = args.model or [None]
    model = load_model(paths[0]) if len(paths) == 1 else combine([load_model(p) for p in paths])
    if isinstance(model, GenreModel):
        from .evaluate_fusion import evaluate_fusion, format_fusion_report

        report = evaluate_fusion(data.find_items(args.data, args.split), model,
                                 log=lambda m: print(m, file=sys.stderr))
        kinds = [report[d] for d in ("audio", "image") if d in report]
        if args.plot and kinds:  # one matrix for every file, audio and images
            n = sum(r["n"] for r in kinds)
            measure.plot_confusion({"genres": report["genres"], "n": n,
                                    "accuracy": sum(r["accuracy"] * r["n"] for r in kinds) / max(n, 1),
                                    "confusion": sum(np.array(r["confusion"]) for r in kinds).tolist()}, args.plot)
        print(json.dumps(report) if args.json else format_fusion_report(report))
        return 0
    report = measure.evaluate(data.find_items(args.data, args.split), model)
    if args.plot:
        measure.plot_confusion(report, args.plot)
    if args.json:
        keys = ("n", "accuracy", "macro_f1", "per_genre", "confusion", "genres",
                "clip_accuracy", "clip_n", "by_kind", "calibration", "predicted_share", "failed")
        print(json.dumps({k: report[k] for k in keys}))
    else:
        print(measure.format_report(report))
    return 0


def train(args) -> int:
    """``train``: the CNN (unless ``--cnn``), then the heads and their fusion (unless ``--cnn-only``)."""
    from ..cnn import MODEL_PATH, meta_path
    from ..fusion import FUSION_FILE
    from .cnn import EPOCHS, train as train_cnn
    from .fusion import train_fusion

    valid = None if args.valid_split == "none" else args.valid_split
    calibration = args.calibration
    if valid is None and calibration is None:
        args.usage_error("--valid-split none leaves nothing to choose the fusion weights, temperatures and "
                         "unsure thresholds on: give --calibration RUN, a run that had a validation split")
    if valid is not None:  # figures on files a network learned from would not be held out
        learned = set(args.train_split.split("+"))
        if args.cnn is not None:
            split = cnn_train_split(args.cnn)
            if split is None:
                args.usage_error(f"--cnn {args.cnn}: its JSON does not say which split it learned from, so "
                                 f"figures on {valid} might not be held out; give --valid-split none with "
                                 "--calibration RUN")
            learned |= set(split.split("+"))
        if learned & set(valid.split("+")):
            args.usage_error(f"--valid-split {valid}: the networks learn from {'+'.join(sorted(learned))}, so "
                             "its figures would not be held out; give another split, or --valid-split none "
                             "with --calibration RUN")
    if calibration is not None and calibration.is_dir():
        calibration = calibration / meta_path(MODEL_PATH).name
    if calibration is not None:  # read now, not after an hour of training
        needed = [calibration] if args.cnn_only else [calibration, calibration.with_name(FUSION_FILE)]
        for path in needed[1 if args.cnn is not None else 0:]:
            check_calibration(path)
    if args.cnn is None:
        train_cnn(args.data, args.out, epochs=EPOCHS if args.epochs is None else args.epochs, seed=args.seed,
                  ensemble=args.ensemble, train_split=args.train_split, valid_split=valid, calibration=calibration)
        cnn = args.out / MODEL_PATH.name
    else:
        cnn = args.cnn
    if not args.cnn_only:
        train_fusion(args.data, args.out, cnn_path=cnn, seed=args.seed, train_split=args.train_split,
                     valid_split=valid, cache=args.cache,
                     calibration=calibration.with_name(FUSION_FILE) if calibration else None)
    return 0


def train_detector(args) -> int:
    """``train-detector``: the music detector, measured leaving each family of sounds out."""
    from .detector import train_detector as fit
    from .sounds import PER_FAMILY

    command = (f"python -m genre train-detector --data {args.data} --out {args.out}"
               + (f" --cache {args.cache}" if args.cache else "") + f" --seed {args.seed}"
               + (f" --per-family {args.per_family}" if args.per_family is not None else ""))
    fit(args.data, args.out, cache=args.cache, seed=args.seed,
        per_family=PER_FAMILY if args.per_family is None else args.per_family, command=command)
    return 0


def import_musicnn(args) -> int:
    """``import-musicnn``: the backbone ported from the musicnn wheel, then converted to ONNX."""
    from ..cnn import MODEL_DIR
    from .export import export_onnx as convert, require
    from .musicnn import import_musicnn as port

    require()  # before the backbone is rewritten: never a new .keras without its ONNX form
    out = args.out or MODEL_DIR
    port(out, verify=not args.no_verify)
    convert(out)
    return 0


def export_onnx(args) -> int:
    """``export-onnx``: the model folder's networks converted to ONNX, each checked against Keras."""
    from ..cnn import MODEL_DIR
    from .export import export_onnx as convert, require

    require()
    convert(args.out or MODEL_DIR)
    return 0
