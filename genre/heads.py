"""Genre heads on the backbone: strongly regularised linear classifiers of a song's mean embedding.

Two heads, one per domain the backbone is shown:

- ``audio``: the pooled features (``READS``) of clean audio (``backbone.patch`` of each 3-s clip);
- ``image``: the embedding of the image path (``bands.BandMap.patch`` of each 128-band dB
  window), which is all a mel image offers and which rendered audio offers too.

The backbone sees the image path as another domain (its tags call most of it "electronic"),
so each head standardises its input with its own domain's training statistics. A head is
linear: the logits of a song's mean embedding are the mean of its clips' logits, so the
same weights give the per-clip verdicts of the timeline and the song's verdict.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ModelError

L2 = 0.03  # default weight decay; training chooses among heldout.L2_CHOICES (fusion.json keeps the pick)
MAX_ITER = 2000  # L-BFGS iterations; a head converges in a few hundred
HEADS = ("audio", "image")
# which of the backbone's outputs (``backbone.Heard``) each head reads. The audio head reads the
# 1506-d pooled vector: on the valid list (heads on the train list) it named 74.3 % of the audio
# files against 69.3 % from the 200-d embedding, at its best L2 each; the image head keeps the
# embedding, which the pooled vector lowered from 75.1 % to 69.0 % of the images (bench.layers).
READS = {"audio": "pool", "image": "embedding"}


def build_head(n_classes: int, mean: np.ndarray, variance: np.ndarray, l2: float = L2, name: str = "head"):
    """Standardise (fixed statistics) -> Dense softmax, as a Keras model over (n, width) embeddings.

    The width is the statistics' (200 for MSD_musicnn's embedding; other backbones differ).
    """
    import keras
    from keras import layers

    inputs = keras.Input((np.shape(mean)[-1],), name="embedding")
    x = layers.Normalization(mean=mean, variance=variance, name="standardise")(inputs)
    outputs = layers.Dense(n_classes, activation="softmax", kernel_regularizer=keras.regularizers.L2(l2),
                           name="genre")(x)
    return keras.Model(inputs, outputs, name=name)


def fit_head(x: np.ndarray, y: np.ndarray, n_classes: int, *, l2: float = L2, seed: int = 0,
             name: str = "head", standardised: tuple[np.ndarray, np.ndarray] | None = None):
    """Train a head on song embeddings ``x`` (n, 200) with genre indices ``y``; returns the Keras model.

    By default the head standardises with ``x``'s own statistics. With ``standardised=(mean,
    variance)``, ``x`` is already standardised (possibly from several domains, each with its
    own statistics) and the head standardises its future inputs with ``mean`` and ``variance``.

    The loss is Keras's (mean cross-entropy + ``l2`` * sum of squared weights), but it is
    convex, so it is minimised exactly with L-BFGS rather than by hundreds of SGD epochs.
    ``seed`` only sets the starting point, which the optimum does not depend on.
    """
    from scipy.optimize import minimize

    x = np.asarray(x, np.float64)
    y = np.asarray(y)
    if standardised is None:
        mean, var = x.mean(axis=0), x.var(axis=0) + 1e-6
        z = (x - mean) / np.sqrt(var)
    else:
        (mean, var), z = standardised, x
    onehot = np.eye(n_classes)[y]
    dim = z.shape[1]

    def loss(theta):
        w, b = theta[:dim * n_classes].reshape(dim, n_classes), theta[dim * n_classes:]
        logit = z @ w + b
        logit -= logit.max(axis=1, keepdims=True)
        p = np.exp(logit)
        p /= p.sum(axis=1, keepdims=True)
        value = -np.mean(np.log(np.clip((p * onehot).sum(1), 1e-300, None))) + l2 * np.sum(w ** 2)
        grad_logit = (p - onehot) / len(z)
        return value, np.concatenate([(z.T @ grad_logit + 2 * l2 * w).ravel(), grad_logit.sum(0)])

    start = np.random.default_rng(seed).normal(0, 1e-3, dim * n_classes + n_classes)
    theta = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": MAX_ITER}).x
    head = build_head(n_classes, np.asarray(mean, np.float32), np.asarray(var, np.float32), l2=l2, name=name)
    head.get_layer("genre").set_weights([theta[:dim * n_classes].reshape(dim, n_classes).astype(np.float32),
                                         theta[dim * n_classes:].astype(np.float32)])
    return head


@dataclass(frozen=True)
class Linear:
    """A head's numbers: standardise with (``mean``, ``variance``), then ``kernel`` and ``bias``."""

    mean: np.ndarray  # (width,)
    variance: np.ndarray  # (width,)
    kernel: np.ndarray  # (width, genres)
    bias: np.ndarray  # (genres,)


def linear(head) -> Linear:
    """The numbers of a Keras head built by ``build_head``."""
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
            dense = h5["layers/dense/vars"]
            kernel, bias = np.asarray(dense["0"], np.float32), np.asarray(dense["1"], np.float32)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ModelError(f"Cannot read the head {path}: {exc}") from exc
    return Linear(np.asarray(norm["mean"], np.float32).reshape(-1),
                  np.asarray(norm["variance"], np.float32).reshape(-1), kernel, bias)


def logits(head, embeddings: np.ndarray) -> np.ndarray:
    """The head's log-probabilities for (n, width) embeddings, computed in numpy (cheap, exact).

    ``head`` is a ``Linear`` or a Keras head (as training holds them).
    """
    head = head if isinstance(head, Linear) else linear(head)
    z = ((np.asarray(embeddings, np.float64) - head.mean) / np.sqrt(head.variance)) @ head.kernel + head.bias
    return z - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)) - z.max(-1, keepdims=True)
