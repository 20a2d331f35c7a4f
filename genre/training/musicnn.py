"""``python -m genre import-musicnn``: musicnn's weights from its PyPI wheel into ``model/musicnn.keras``.

The wheel (``musicnn==0.1.0``, ISC) is fetched with ``pip download --no-deps`` and never
installed: it pins numpy<1.17. Its MSD_musicnn checkpoint is a TF1 checkpoint whose files
have empty stems (``.index``, ``.data-00000-of-00001``, ``.meta``) and whose ``checkpoint``
file points to the author's disk, so the files are copied to a stem and read directly
with ``tf.train.load_checkpoint``. The original graph can also be run (``OriginalGraph``),
which is how the port is checked: the same patches through both, tags within 1e-5.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .. import backbone
from ..audio import SAMPLE_RATE
from ..errors import ModelError

WHEEL = "musicnn==0.1.0"
CHECKPOINT = "musicnn/MSD_musicnn/"  # inside the wheel
CHECKPOINT_FILES = (".index", ".data-00000-of-00001", ".meta")
STEM = "model"
EMBEDDING_TENSOR = "model/batch_normalization_10/batchnorm/add_1:0"  # musicnn's 200-d penultimate layer


def download_wheel(folder: Path) -> Path:
    """``pip download --no-deps musicnn==0.1.0`` into ``folder``; the wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--quiet", "-d", str(folder), WHEEL]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", "") or ""
        raise ModelError(f"Could not download {WHEEL} from the package index: {detail.strip()[-300:]}") from exc
    wheels = sorted(folder.glob("musicnn-*.whl"))
    if not wheels:
        raise ModelError(f"pip download gave no wheel for {WHEEL}.")
    return wheels[0]


def extract_checkpoint(wheel: Path, folder: Path, checkpoint: str = CHECKPOINT) -> tuple[Path, str]:
    """A checkpoint of the wheel (MSD_musicnn by default; ``musicnn/MTT_vgg/``, ...) copied to
    ``folder/model.*``, and the wheel's licence text."""
    with zipfile.ZipFile(wheel) as zf:
        for suffix in CHECKPOINT_FILES:
            (folder / f"{STEM}{suffix}").write_bytes(zf.read(checkpoint + suffix))
        licence = next((n for n in zf.namelist() if n.endswith("LICENSE.md")), None)
        text = zf.read(licence).decode() if licence else ""
    return folder / STEM, text


def load_weights(network, read) -> None:
    """Set ``network``'s weights from a checkpoint reader (``read(name) -> array``).

    Convolutions stored as 2-D kernels (7, width, 1, filters) over a squeezed axis become
    the 1-D kernels (7, width, filters) of the mid-end; batch norm is (gamma, beta, mean, var).
    """
    for layer in network.layers:
        name = layer.name
        if name.startswith("batch_normalization"):
            layer.set_weights([read(f"{name}/{v}") for v in ("gamma", "beta", "moving_mean",
                                                             "moving_variance")])
        elif name.startswith(("conv2d", "dense")):
            kernel = read(f"{name}/kernel")
            expected = layer.get_weights()[0].shape
            layer.set_weights([kernel.reshape(expected), read(f"{name}/bias")])


def reader(prefix: Path):
    """``read(name) -> np.ndarray`` over a TF1 checkpoint (Adam slots are never asked for)."""
    import tensorflow as tf

    ckpt = tf.train.load_checkpoint(str(prefix))

    def read(name: str) -> np.ndarray:
        if not ckpt.has_tensor(name):
            raise ModelError(f"The musicnn checkpoint has no variable {name!r}.")
        return ckpt.get_tensor(name)
    return read


class OriginalGraph:
    """musicnn's own TF1 graph, restored from its ``.meta`` in TF2's compatibility mode.

    TF 1.12 wrote ``_output_shapes`` attributes into the ``.meta`` that TF2 refuses; they are
    dropped before import. ``__call__`` maps (n, 187, 96) patches to (tags, embedding).
    ``embedding`` names the tensor returned as the embedding (flattened per patch): musicnn's
    penultimate layer by default; the VGG networks' pool5 is ``model/max_pooling2d_4/MaxPool:0``.
    ``threads`` caps TensorFlow's threads (None: its default).
    """

    def __init__(self, prefix: Path, embedding: str = EMBEDDING_TENSOR, threads: int | None = None):
        import tensorflow as tf

        v1 = tf.compat.v1
        meta = v1.MetaGraphDef()
        meta.ParseFromString(Path(f"{prefix}.meta").read_bytes())
        for node in meta.graph_def.node:
            node.attr.pop("_output_shapes", None)
        self.graph = tf.Graph()
        with self.graph.as_default():
            saver = v1.train.import_meta_graph(meta, clear_devices=True)
            config = v1.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=1) \
                if threads else None
            self.session = v1.Session(graph=self.graph, config=config)
            saver.restore(self.session, str(prefix))
        self.x = self.graph.get_tensor_by_name("model/Placeholder:0")
        # Placeholder_1 holds the training labels; Placeholder_2 is ``is_training`` (bool)
        self.training = self.graph.get_tensor_by_name("model/Placeholder_2:0")
        self.tags = self.graph.get_tensor_by_name("model/Sigmoid:0")
        self.embedding = self.graph.get_tensor_by_name(embedding)

    def __call__(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tags, embedding = self.session.run([self.tags, self.embedding],
                                           {self.x: np.asarray(patches, np.float32), self.training: False})
        return tags, embedding.reshape(len(embedding), -1)


def import_musicnn(out_dir: Path, *, verify: bool = True, wheel: Path | None = None, log=print) -> Path:
    """Fetch the wheel, port MSD_musicnn's weights, save ``out_dir/musicnn.keras`` and its licence.

    ``wheel`` is an already downloaded wheel (by default it is downloaded). With ``verify``, the original graph and the port tag the same random and musical patches
    and the largest difference is recorded in ``musicnn.json`` (it must be under 1e-5).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="genre-musicnn-") as tmp:
        tmp = Path(tmp)
        if wheel is None:
            log(f"downloading {WHEEL} (no dependencies, not installed)")
            wheel = download_wheel(tmp)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        prefix, licence = extract_checkpoint(wheel, tmp)
        network = backbone.build_backbone()
        load_weights(network, reader(prefix))
        info = {"source": WHEEL, "wheel_sha256": digest, "checkpoint": CHECKPOINT.rstrip("/"),
                "tags": list(backbone.TAGS), "front_end": front_end()}
        if verify:
            probe = probe_patches()
            ours = network.predict(probe, verbose=0)
            tags, embedding = OriginalGraph(prefix)(probe)
            info["max_tag_difference"] = float(np.abs(ours["tags"] - tags).max())
            info["max_embedding_difference"] = float(np.abs(ours["embedding"] - embedding).max())
            log(f"port vs original graph: tags within {info['max_tag_difference']:.2e}, "
                f"embedding within {info['max_embedding_difference']:.2e}")
            if info["max_tag_difference"] > 1e-5:
                raise ModelError("The Keras port does not reproduce musicnn's tags; not saved.")
    path = out_dir / backbone.MODEL_FILE
    network.save(path)
    (out_dir / backbone.LICENSE_FILE).write_text("musicnn (MSD_musicnn weights), https://github.com/jordipons/musicnn\n\n"
                                   + licence.strip() + "\n")
    (out_dir / "musicnn.json").write_text(json.dumps(info, indent=2) + "\n")
    log(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB), {backbone.LICENSE_FILE}, musicnn.json")
    return path


def front_end() -> dict:
    """The constants of the backbone's input, stored beside its weights."""
    return {"sample_rate": backbone.PATCH_RATE, "n_fft": backbone.PATCH_FFT, "hop_length": backbone.PATCH_HOP,
            "n_mels": backbone.PATCH_MELS, "patch_frames": backbone.PATCH_FRAMES,
            "compression": f"log10({backbone.LOG_GAIN:g} * power + 1), float32"}


def probe_patches(seed: int = 0) -> np.ndarray:
    """Patches to compare the port with the original: two made-up songs and random log-mels."""
    rng = np.random.default_rng(seed)
    t = np.arange(backbone.PATCH_SAMPLES * SAMPLE_RATE // backbone.PATCH_RATE) / SAMPLE_RATE
    chord = sum(np.sin(2 * np.pi * f * t) for f in (110, 220, 277.2, 329.6)) / 4
    beat = (np.sin(2 * np.pi * 2 * t) > 0.95) * rng.standard_normal(len(t))
    songs = [backbone.patch((0.5 * chord + 0.3 * beat).astype(np.float32)),
             backbone.patch((0.3 * rng.standard_normal(len(t))).astype(np.float32))]
    noise = rng.uniform(0, 3, (2, backbone.PATCH_FRAMES, backbone.PATCH_MELS)).astype(np.float32)
    return np.concatenate([np.stack(songs), noise])
