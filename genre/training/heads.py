"""Fitting the genre heads (``genre.heads``): L-BFGS on a convex loss, saved as small Keras models.

The audio head learns from every 3-s clip of the clean audio and every window of the mel images,
each domain standardised with its own statistics; the image head from the mel images' song means.
"""
from __future__ import annotations

import numpy as np

from .. import heads
from .embed import Song

L2 = 0.03  # default weight decay; training chooses among heldout.L2_CHOICES (fusion.json keeps the pick)
MAX_ITER = 2000  # L-BFGS iterations; a head converges in a few hundred


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
    """Train a head on backbone outputs ``x`` (n, width: 200 embedding or 1506 pooled values) with genre
    indices ``y``; returns the Keras model.

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


def fit_heads(songs: list[Song], n_classes: int, seed: int = 0, l2: float | dict = L2,
              reads: dict = heads.READS) -> dict:
    """The two heads, each standardising with its own domain's statistics.

    The image head learns from the mel images' song means. The audio head learns from every
    3-s clip of the clean audio and every window of the images, each standardised with its
    own domain's statistics, since audio exists for only a third of the recordings (on the
    audio clips alone it reached 43-53 % on valid audio; model/README.md, "The genre heads").
    Each head reads the backbone output ``reads`` names (``heads.READS``).
    ``l2`` is one weight decay for both heads, or one per head (``{"audio": .., "image": ..}``).
    """
    l2 = l2 if isinstance(l2, dict) else {head: l2 for head in heads.HEADS}
    audio = [s for s in songs if s.audio_emb is not None]
    images = [s for s in songs if s.kind == "mel-image"]
    image_x = np.stack([s.heard("image", reads["image"]).mean(0) for s in images])
    image_y = [s.label for s in images]
    # the audio head's two domains, in the output it reads
    clean = [s.heard("audio", reads["audio"]) for s in audio]
    drawn = [s.heard("image", reads["audio"]) for s in images]
    stats = {domain: (m.mean(0), m.var(0) + 1e-6)
             for domain, m in (("audio", np.stack([x.mean(0) for x in clean])),
                               ("image", np.stack([x.mean(0) for x in drawn])))}

    def z(x, domain):
        return (x - stats[domain][0]) / np.sqrt(stats[domain][1])

    clips_x = np.concatenate([z(np.concatenate(clean), "audio"), z(np.concatenate(drawn), "image")])
    clips_y = np.concatenate([np.repeat([s.label for s in audio], [len(x) for x in clean]),
                              np.repeat(image_y, [len(x) for x in drawn])])
    return {"audio": fit_head(clips_x, clips_y, n_classes, l2=l2["audio"], seed=seed, name="head_audio",
                                    standardised=stats["audio"]),
            "image": fit_head(image_x, image_y, n_classes, l2=l2["image"], seed=seed, name="head_image")}
