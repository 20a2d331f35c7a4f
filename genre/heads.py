"""Genre heads on the backbone: strongly regularised linear classifiers of what it hears in a clip.

Two heads, one per domain the backbone is shown:

- ``audio``: the pooled features (``READS``) of clean audio (``backbone.patch`` of each 3-s clip);
- ``image``: the embedding of the image path (``bands.BandMap.patch`` of each 128-band dB
  window), which is all a mel image offers and which rendered audio offers too.

The backbone sees the image path as another domain (its tags call most of it "electronic"),
so each head standardises its input with its own domain's training statistics. A head is
linear: the logits of a song's mean embedding are the mean of its clips' logits, so the
same weights give the per-clip verdicts of the timeline and the song's verdict.

Serving only reads and applies heads (without Keras); ``genre.training.heads`` fits them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ModelError

HEADS = ("audio", "image")
# which of the backbone's outputs (``backbone.Heard``) each head reads. The audio head reads the
# 1506-d pooled vector: on the valid list (heads on the train list) it named 74.3 % of the audio
# files against 69.3 % from the 200-d embedding, at its best L2 each; the image head keeps the
# embedding, which the pooled vector lowered from 75.1 % to 69.0 % of the images (bench.layers).
READS = {"audio": "pool", "image": "embedding"}


@dataclass(frozen=True)
class Linear:
    """A head's numbers: standardise with (``mean``, ``variance``), then ``kernel`` and ``bias``."""

    mean: np.ndarray  # (width,)
    variance: np.ndarray  # (width,)
    kernel: np.ndarray  # (width, genres)
    bias: np.ndarray  # (genres,)


def linear(head) -> Linear:
    """The numbers of a Keras head built by ``training.heads.build_head``."""
    norm, dense = head.get_layer("standardise"), head.get_layer("genre")
    kernel, bias = (np.asarray(v) for v in dense.get_weights())
    return Linear(*(np.asarray(v, np.float32).reshape(-1) for v in (norm.mean, norm.variance)), kernel, bias)


def read(path) -> Linear:
    """A saved head's numbers, read from its ``.keras`` file without Keras (so without TensorFlow).

    A ``.keras`` file is a zip: ``config.json`` holds the standardisation's statistics (they are
    constructor arguments) and ``model.weights.h5`` the dense layer's kernel and bias.
    """
    import io
    import json
    import zipfile

    import h5py

    try:
        with zipfile.ZipFile(path) as zf:
            config = json.loads(zf.read("config.json"))
            weights = zf.read("model.weights.h5")
        layers = {layer["config"]["name"]: layer for layer in config["config"]["layers"]}
        norm = layers["standardise"]["config"]
        with h5py.File(io.BytesIO(weights), "r") as h5:
            dense = h5["layers/dense/vars"]  # Keras 3 keys variables by layer class (the head's one Dense)
            kernel, bias = np.asarray(dense["0"], np.float32), np.asarray(dense["1"], np.float32)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ModelError(f"Cannot read the head {path}: {exc}") from exc
    return Linear(np.asarray(norm["mean"], np.float32).reshape(-1),
                  np.asarray(norm["variance"], np.float32).reshape(-1), kernel, bias)


def log_probs(head, embeddings: np.ndarray) -> np.ndarray:
    """The head's log-probabilities for (n, width) embeddings, computed in numpy (cheap, exact).

    ``head`` is a ``Linear`` or a Keras head (as training holds them).
    """
    head = head if isinstance(head, Linear) else linear(head)
    z = ((np.asarray(embeddings, np.float64) - head.mean) / np.sqrt(head.variance)) @ head.kernel + head.bias
    return z - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)) - z.max(-1, keepdims=True)
