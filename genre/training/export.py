"""``python -m genre export-onnx``: the model's Keras networks converted for ONNX Runtime.

ONNX Runtime serves on CPUs (``genre/runtime.py``). Each network in
``runtime.ONNX_FILES`` (the musicnn backbone and the image CNN) is traced and converted by
tf2onnx (opset ``OPSET``); before a file is written, both forms run the same probe inputs and
every output must agree within ``runtime.TOLERANCE``. The differences are recorded in the
network's JSON beside it. tf2onnx is a conversion tool, not a runtime dependency: it is in
``requirements-dev.txt``.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from .. import backbone, runtime, spectrogram
from ..cnn import meta_path
from ..errors import ModelError
from ..tag.replace import remove_leftover
from .musicnn import probe_patches

OPSET = 17  # ONNX opset: every op the networks use, and ONNX Runtime >= 1.14 runs it


def probe(network) -> np.ndarray:
    """Inputs to compare the two forms on: real-looking patches for the backbone, dB windows for the CNN."""
    if network.input_shape[1:] == (backbone.PATCH_FRAMES, backbone.PATCH_MELS):
        return probe_patches()
    rng = np.random.default_rng(0)
    shape = (4, spectrogram.N_MELS, spectrogram.CLIP_COLUMNS, 1)
    return rng.uniform(-spectrogram.TOP_DB, 0, shape).astype(np.float32)


def require() -> None:
    """Raise ``ModelError`` now if tf2onnx is missing (before a command writes anything)."""
    _tf2onnx()


def _tf2onnx():
    try:
        import tf2onnx
    except ImportError as exc:
        raise ModelError("converting for ONNX Runtime needs tf2onnx: pip install -r requirements-dev.txt") from exc
    return tf2onnx


def convert(network, onnx_path: Path) -> None:
    """Write the ONNX form of a loaded Keras ``network`` to ``onnx_path`` (no check)."""
    import tensorflow as tf

    tf2onnx = _tf2onnx()
    spec = tf.TensorSpec((None, *network.input_shape[1:]), tf.float32, name=network.inputs[0].name)
    forward = tf.function(lambda x: network(x, training=False), input_signature=[spec], autograph=False)
    tf2onnx.convert.from_function(forward, input_signature=[spec], opset=OPSET, output_path=str(onnx_path))


def differences(network, onnx_path: Path, keras_path: Path) -> dict[str, float]:
    """Largest |difference| of each output between Keras and ONNX Runtime on the probe inputs."""
    x = probe(network)
    ours, theirs = network(x, training=False), runtime.OnnxNetwork(onnx_path, keras_path)(x)
    if not isinstance(ours, dict):  # one unnamed output (the CNN's probabilities)
        ours, theirs = {"output": ours}, {"output": next(iter(theirs.values()))}
    return {f"max_{name}_difference": float(np.abs(np.asarray(ours[name]) - theirs[name]).max()) for name in ours}


def export_one(keras_path: Path, onnx_path: Path, log=print) -> dict:
    """Convert ``keras_path``, check it, write ``onnx_path`` and record the check in the JSON beside."""
    import keras
    import onnxruntime

    network = keras.saving.load_model(keras_path, compile=False)
    _remove_killed_exports(onnx_path)
    fd, tmp = tempfile.mkstemp(prefix=f".{onnx_path.stem}-", suffix=".onnx", dir=onnx_path.parent)
    fcntl.flock(fd, fcntl.LOCK_EX)  # alive while this process is: never taken for a killed export's
    try:
        convert(network, Path(tmp))
        found = differences(network, Path(tmp), keras_path)
        log(f"{onnx_path.name} vs {keras_path.name}: " + ", ".join(f"{k} {v:.1e}" for k, v in found.items()))
        if max(found.values()) > runtime.TOLERANCE:
            raise ModelError(f"{onnx_path.name} differs from {keras_path.name} by more than "
                             f"{runtime.TOLERANCE}; not saved.")
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from a container's unprivileged user
        os.replace(tmp, onnx_path)
    finally:
        Path(tmp).unlink(missing_ok=True)
        os.close(fd)
    import tf2onnx  # convert imported it (or said, as a ModelError, how to install it)

    record = {"file": onnx_path.name, "keras_sha256": runtime.file_sha256(keras_path), "opset": OPSET,
              "tf2onnx": tf2onnx.__version__,
              "checked_with_onnxruntime": onnxruntime.__version__, "tolerance": runtime.TOLERANCE, **found}
    info_path = meta_path(keras_path)
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    info_path.write_text(json.dumps({**info, "onnx": record}, indent=2) + "\n")
    log(f"saved {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB)")
    return record


def export_onnx(model_dir: Path, log=print) -> list[Path]:
    """Convert every network of ``model_dir`` that ONNX Runtime can serve; the files written.

    Raises
    ------
    ModelError
        A network is missing, tf2onnx is missing, or a converted network's outputs differ by
        more than the tolerance (then that file is not written).
    """
    model_dir, written = Path(model_dir), []
    for keras_name, onnx_name in runtime.ONNX_FILES.items():
        keras_path = model_dir / keras_name
        if not keras_path.exists():
            raise ModelError(f"{keras_path} is missing: import or train it first.")
        export_one(keras_path, model_dir / onnx_name, log)
        written.append(model_dir / onnx_name)
    return written


def _remove_killed_exports(onnx_path: Path) -> None:
    """Remove the unfinished conversions a killed export left beside ``onnx_path`` (their lock died
    with it; a live export's is held, and its file is left alone)."""
    exact = re.compile(re.escape(f".{onnx_path.stem}-") + r"[a-z0-9_]{8}\.onnx")  # mkstemp's names
    for left in onnx_path.parent.glob(f".{onnx_path.stem}-*.onnx"):
        if not exact.fullmatch(left.name):
            continue
        with contextlib.suppress(OSError):
            remove_leftover(left)
