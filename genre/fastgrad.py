"""The backbone with a cheap input gradient: its front-end convolutions differentiated by hand.

musicnn's front end convolves a one-channel log-mel patch with wide filter banks (timbral:
7 frames x 38 or 67 bands, 204 filters; temporal: 128, 64 or 32 frames x 1 band, 51 filters).
TensorFlow's CPU gradient of such a convolution with respect to its input is a convolution with
one output channel, which no kernel runs fast: measured on 2 cores, 108 ms against the forward
pass's 9 ms for one patch through one timbral bank, most of the cost of a backbone gradient.

``with_fast_input_gradient`` returns the same network (the same layers and weights, shared)
whose front-end convolutions carry a custom gradient written with ops that run fast: for a
kernel ``k[i, j, c]`` (frames, bands, filters) and the output's gradient ``dy[t, f, c]``,

    dx[t', f'] = sum_{i, j, c} dy[t' - i, f' - j, c] k[i, j, c]

is computed with ops that run fast: for a temporal bank, one matrix product with the kernel laid
out as a banded (Toeplitz) matrix over frames; for a timbral bank, a convolution over frames
whose outputs are the kernel's bands, then one product with a banded 0/1 matrix over bands.
Forward values are untouched; only the gradient's route changes, equal to TensorFlow's within
float32 rounding (``tests/test_explain.py``). Measured on 2 shared cores, 4 patches: the whole
backbone's input gradient 2.2 s -> 0.37 s of wall time (CPU: 439 -> 76 ms for one timbral bank).
"""
from __future__ import annotations

import numpy as np


def _banded(taps, rows: int, cols: int, offset: int):
    """``out[a, b] = taps[a - b + offset]`` where that index exists, else 0: (rows, cols, *taps.shape[1:])."""
    import tensorflow as tf

    index = np.arange(rows)[:, None] - np.arange(cols)[None] + offset
    inside = ((index >= 0) & (index < taps.shape[0])).astype(np.float32)
    return tf.gather(taps, np.clip(index, 0, taps.shape[0] - 1)) * inside[..., None]


def _input_gradient(dy, kernel, in_shape, padding: str):
    """The gradient of ``conv2d(x, kernel, padding)`` for x (n, T, F, 1), from dy (n, T_out, F_out, C)."""
    import tensorflow as tf

    frames, bands = kernel.shape[0], kernel.shape[1]
    k = kernel[:, :, 0, :]  # (frames, bands, filters)
    if bands == 1:  # temporal: x[s] feeds y[t] through k[s - t + top]
        top = (frames - 1) // 2 if padding == "same" else 0  # TensorFlow pads the smaller half on top
        toeplitz = _banded(k[:, 0, :], in_shape[1], dy.shape[1], top)  # (T, T_out, filters)
        return tf.einsum("stc,ntfc->nsf", toeplitz, dy)[..., None]
    # timbral: over frames, a convolution whose outputs are the kernel's bands ...
    by_band = tf.transpose(tf.reverse(k, [0]), [0, 2, 1])[:, None]  # (frames, 1, filters, bands)
    padded = tf.pad(dy, [[0, 0], [frames - 1, frames - 1], [0, 0], [0, 0]])
    z = tf.nn.conv2d(padded, by_band, 1, "VALID")  # (n, T, F_out, bands)
    # ... then over bands, x[f] feeds y[g] through band f - g
    shifts = _banded(tf.eye(bands), in_shape[2], dy.shape[2], 0)  # (F, F_out, bands)
    return tf.einsum("ntgj,fgj->ntf", z, shifts)[..., None]


def with_fast_input_gradient(network):
    """``network`` rebuilt on its own layers, its one-channel convolutions with a fast input gradient."""
    import keras
    import tensorflow as tf

    class FastInputGradient(keras.layers.Layer):
        """A ``Conv2D`` layer's forward pass (its own weights), with ``_input_gradient`` as gradient."""

        def __init__(self, conv):
            super().__init__(name=f"{conv.name}_fast_gradient")
            self.conv = conv

        def call(self, x):
            conv = self.conv
            kernel, padding = tf.convert_to_tensor(conv.kernel), conv.padding.upper()

            @tf.custom_gradient
            def convolve(x):
                def grad(dy):
                    return _input_gradient(dy, kernel, x.shape, conv.padding)
                return tf.nn.conv2d(x, kernel, 1, padding), grad

            return conv.activation(tf.nn.bias_add(convolve(x), conv.bias))

    def call(layer, *args, **kwargs):
        if isinstance(layer, keras.layers.Conv2D) and layer.kernel.shape[2] == 1:
            return FastInputGradient(layer)(*args, **kwargs)
        return layer(*args, **kwargs)

    return keras.models.clone_model(network, clone_function=lambda layer: layer, call_function=call)
