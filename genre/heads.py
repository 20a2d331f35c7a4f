"""Genre heads on the backbone: strongly regularised linear classifiers of a song's mean embedding.

Two heads, one per domain the backbone is shown:

- ``audio``: the embedding of clean audio (``backbone.patch`` of each 3-s clip);
- ``image``: the embedding of the image path (``bands.BandMap.patch`` of each 128-band dB
  window), which is all a mel image offers and which rendered audio offers too.

The backbone sees the image path as another domain (its tags call most of it "electronic"),
so each head standardises its input with its own domain's training statistics. A head is
linear: the logits of a song's mean embedding are the mean of its clips' logits, so the
same weights give the per-clip verdicts of the timeline and the song's verdict.
"""
from __future__ import annotations

import numpy as np

from .backbone import EMBEDDING_UNITS

L2 = 0.03  # default weight decay; training chooses among heldout.L2_CHOICES (fusion.json keeps the pick)
MAX_ITER = 2000  # L-BFGS iterations; a head converges in a few hundred
HEADS = ("audio", "image")


def build_head(n_classes: int, mean: np.ndarray, variance: np.ndarray, l2: float = L2, name: str = "head"):
    """Standardise (fixed statistics) -> Dense softmax, as a Keras model over (n, 200) embeddings."""
    import keras
    from keras import layers

    inputs = keras.Input((EMBEDDING_UNITS,), name="embedding")
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


def logits(head, embeddings: np.ndarray) -> np.ndarray:
    """The head's log-probabilities for (n, 200) embeddings, computed in numpy (cheap, exact)."""
    norm, dense = head.get_layer("standardise"), head.get_layer("genre")
    mean, var = (np.asarray(v).reshape(-1) for v in (norm.mean, norm.variance))
    kernel, bias = (np.asarray(v) for v in dense.get_weights())
    z = ((np.asarray(embeddings, np.float64) - mean) / np.sqrt(var)) @ kernel + bias
    return z - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)) - z.max(-1, keepdims=True)
