"""Which runtime serves the networks: ONNX Runtime on CPUs, TensorFlow on a GPU.

Measured on this project's machine with ``python -m bench.runtimes``, ``bench.latency`` and
``bench.firstpage`` (Intel(R) Xeon(R) Processor: sse4_2 avx avx2 fma f16c avx512f avx512bw
avx512_vnni avx_vnni amx_tile, 2 cores; "AVX2 only" is the same cores with CPUID hiding AVX-512,
AVX-VNNI and AMX, ``--isa avx2``, as on an AMD EPYC or any AVX2-only x86-64):

==========================  ==============  ==============  ==============  ==============
                            TensorFlow      ONNX Runtime    TensorFlow      ONNX Runtime
                            all of the ISA  all of the ISA  AVX2 only       AVX2 only
==========================  ==============  ==============  ==============  ==============
backbone, ms a patch        15.0            16.1            37.1            20.5
single clip                 51 ms           47 ms           76 ms           53 ms
whole 4-minute song         459 ms          411 ms          648 ms          468 ms
cold start (CLI)            7.6 s           1.9 s           7.0 s           2.0 s
app's first page            10.8 s          5.1 s                           5.1 s
peak memory                 1528 MB         553 MB          1093 MB         535 MB
==========================  ==============  ==============  ==============  ==============

ONNX Runtime is as fast where the CPU has AVX-512 and faster where it has not, and serving
on it never imports TensorFlow, which is most of a cold start and of the memory. So ONNX
Runtime runs the backbone and the image CNN on every CPU (the heads and the detector are
numpy), and TensorFlow runs them where it may see a GPU (an NVIDIA driver and CUDA libraries).
The networks are the same:
``model/*.onnx`` are the ``.keras`` files converted by ``python -m genre export-onnx``, whose
outputs are checked to equal the Keras models' within ``TOLERANCE``. ``GENRE_RUNTIME=tensorflow``
or ``=onnxruntime`` overrides the choice. The "why" map needs gradients, so it always runs the
Keras networks, loaded and traced when the first "why" is asked for.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import backbone
from .errors import ModelError

TENSORFLOW = "tensorflow"
ONNXRUNTIME = "onnxruntime"
RUNTIMES = (TENSORFLOW, ONNXRUNTIME)
RUNTIME_VARIABLE = "GENRE_RUNTIME"  # forces one of RUNTIMES; unset: chosen by the machine
ONNX_FILE = "musicnn.onnx"  # the backbone
ONNX_FILES = {backbone.MODEL_FILE: ONNX_FILE, "genre_cnn.keras": "genre_cnn.onnx"}  # Keras file -> its ONNX form
TOLERANCE = 1e-4  # largest |difference| of any output allowed between the two (tags 4e-7, embedding 6e-6, pool 4e-5 measured)


@dataclass(frozen=True)
class Choice:
    """The runtime picked for this machine, and why (``python -m genre doctor`` prints both)."""

    runtime: str
    why: str


def gpu_visible() -> bool:
    """Whether TensorFlow could run on a GPU, found without importing it where it is not loaded yet:
    an NVIDIA driver that lists a GPU, and the CUDA libraries ``tensorflow[and-cuda]`` installs
    (without them TensorFlow falls back to the CPU, where ONNX Runtime is the better runtime;
    ``GENRE_RUNTIME=tensorflow`` serves a system-wide CUDA)."""
    import sys
    from importlib import metadata

    if "tensorflow" in sys.modules:
        return bool(sys.modules["tensorflow"].config.list_physical_devices("GPU"))
    gpus = Path("/proc/driver/nvidia/gpus")
    if not (gpus.is_dir() and any(gpus.iterdir())):
        return False
    return any((d.metadata["Name"] or "").lower().startswith("nvidia-cudnn") for d in metadata.distributions())


def file_sha256(path: Path) -> str:
    """A file's SHA-256, hex, read in chunks (a model file is not held in memory twice)."""
    import hashlib

    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def converted_from(keras_path: Path) -> bool:
    """Whether the ONNX file beside ``keras_path`` was converted from this very file: ``export-onnx``
    records the ``.keras`` file's sha256 in the JSON beside it, so a network retrained or replaced
    since is never served by its old ONNX form."""
    try:
        # the JSON beside is cnn.meta_path's; cnn imports this module, so it is not imported here
        record = json.loads(Path(keras_path).with_suffix(".json").read_text()).get("onnx", {})
        return record.get("keras_sha256") == file_sha256(keras_path)
    except (OSError, ValueError, AttributeError):
        return False


def choose(folder: Path) -> Choice:
    """TensorFlow where it may see a GPU; ONNX Runtime on CPUs when it and the files are there."""
    forced = os.environ.get(RUNTIME_VARIABLE, "").strip().lower()
    if forced:
        if forced not in RUNTIMES:
            raise ModelError(f"{RUNTIME_VARIABLE}={forced!r}: expected one of {', '.join(RUNTIMES)}.")
        return Choice(forced, f"set by {RUNTIME_VARIABLE}")
    if gpu_visible():
        return Choice(TENSORFLOW, "an NVIDIA GPU and TensorFlow's CUDA libraries are present")
    missing = [name for name in ONNX_FILES.values() if not (Path(folder) / name).exists()]
    if missing:
        return Choice(TENSORFLOW, f"no {', '.join(missing)} (python -m genre export-onnx makes them)")
    stale = [onnx for keras, onnx in ONNX_FILES.items() if not converted_from(Path(folder) / keras)]
    if stale:
        return Choice(TENSORFLOW, f"{', '.join(stale)} not made from the .keras beside (run python -m genre "
                                  "export-onnx)")
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return Choice(TENSORFLOW, "onnxruntime is not installed (pip install -r requirements.txt)")
    return Choice(ONNXRUNTIME, "no GPU for TensorFlow: on CPUs ONNX Runtime is as fast or faster and starts without TensorFlow")


def ort_errors() -> tuple[type[Exception], ...]:
    """The exception types ONNX Runtime raises (its own, straight under ``Exception``)."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    return tuple(v for v in vars(state).values() if isinstance(v, type) and issubclass(v, Exception))


def threads() -> int:
    """Threads for one forward pass: ``OMP_NUM_THREADS`` where a tag worker set it, else the cores."""
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class OnnxNetwork:
    """A saved Keras network's ONNX form on ONNX Runtime: ``__call__(x) -> {output name: array}``.

    ``keras`` (the Keras network itself, for the gradients of the "why" map) is loaded when
    first asked for, so serving on ONNX Runtime never imports TensorFlow.
    """

    def __init__(self, onnx_path: Path, keras_path: Path):
        import onnxruntime as ort

        if os.environ.get("ORT_DISABLE_TELEMETRY") == "1":  # imported before genre: stop at least its events
            ort.disable_telemetry_events()
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads(), 1
        # Spinning threads between calls cost a shared server CPU and bought nothing (20.2 vs 21.7 ms).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        except (*ort_errors(), OSError, RuntimeError, ValueError) as exc:
            raise ModelError(f"ONNX Runtime cannot load {onnx_path}: {exc}") from exc
        self.input = self.session.get_inputs()[0]
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.keras_path = Path(keras_path)
        self._keras = None
        self._lock = threading.Lock()

    @property
    def keras(self):
        """The Keras network at ``keras_path``, loaded once, when first asked for."""
        with self._lock:
            if self._keras is None:
                import keras

                self._keras = keras.saving.load_model(self.keras_path, compile=False)
            return self._keras

    def __call__(self, x: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(self.outputs, self.session.run(None, {self.input.name: np.asarray(x, np.float32)})))


def keras_of(network):
    """The Keras network behind ``network`` (itself when it is one)."""
    return network.keras if isinstance(network, OnnxNetwork) else network


class OnnxTagger:
    """The backbone on ONNX Runtime, with ``backbone.Tagger``'s interface."""

    def __init__(self, onnx_path: Path, keras_path: Path):
        self.onnx = OnnxNetwork(onnx_path, keras_path)
        if sorted(self.onnx.outputs) != ["embedding", "pool", "tags"]:
            raise ModelError(f"{onnx_path} has outputs {self.onnx.outputs}, not tags, embedding and pool: "
                             "run `python -m genre import-musicnn` and `python -m genre export-onnx`.")

    @property
    def network(self):
        """The Keras backbone (for gradients), loaded when first asked for."""
        return self.onnx.keras

    def __call__(self, patches: np.ndarray, batch: int = backbone.BATCH) -> backbone.Heard:
        """What the backbone hears in (n, 187, 96) patches."""
        return backbone.in_batches(self.onnx, patches, batch)


def load_tagger(folder: Path, choice: Choice) -> backbone.Tagger | OnnxTagger:
    """The backbone in ``folder`` on the runtime ``choice`` names."""
    keras_path, onnx_path = Path(folder) / backbone.MODEL_FILE, Path(folder) / ONNX_FILE
    if choice.runtime == ONNXRUNTIME:
        return OnnxTagger(onnx_path, keras_path)
    return backbone.load_backbone(keras_path)
