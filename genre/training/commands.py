"""The training commands of ``python -m genre``: ``train``, ``train-detector``, ``import-musicnn`` and
``export-onnx``, each a function of the parsed arguments (``genre.cli`` builds the parser and imports
this module only when one of them runs, so serving never loads training)."""
from __future__ import annotations

import json
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
