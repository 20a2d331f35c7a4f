"""Attribution: how much each cell of a clip's (128, 39) picture moved the model's verdict on it.

A clip's verdict is ``softmax(sum_b w_b * log p_b / T)`` over the branches that have weight
(``fusion.json``'s audio weights and clip temperature; a lone CNN is one branch of weight 1 at
its own temperature):

- ``audio``: the backbone's head on the clean clip's 16-kHz (187, 96) log-mel patch;
- ``image``: the same head type on the backbone's view of the (128, 39) dB window (``bands``);
- ``cnn``: the image CNN on the dB window.

``Attributor`` writes that sum as one TensorFlow function of the two inputs and integrates its
gradient from silence (patch 0, which is ``log10(1)``; window -80 dB) to the clip, ``STEPS``
points batched in one call (a right Riemann sum, so the last point is the clip's own forward
pass). Integrated gradients add up: the cells' attributions sum to about the change of the
verdict's log-probability from silence to the clip, so every branch's part is in one unit (nats)
and the fusion weights are already inside the gradients. Two points are a coarse integral; the
map only has to rank the parts of the picture, and ``explain`` checks its ranking by silencing.

The patch's part is then moved onto the window's grid (``to_grid``): a 16-kHz band's share to
each 128-band band it overlaps in Hz (the backbone hears nothing above 8 kHz), a frame's share
to the column nearest in time (``bands.column_of_frame``).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from . import backbone, fastgrad, heads, runtime, spectrogram
from .audio import SAMPLE_RATE
from .bands import column_of_frame
from .cnn import LOG_FLOOR
from .fusion import WARM_UP_DB, GenreModel

STEPS = 2  # points on the path from silence; each costs a backbone gradient (~65 ms CPU); 4 ranked no better
SILENT_PATCH = 0.0  # the backbone's log compression of no power: log10(1)
SILENT_DB = -spectrogram.TOP_DB  # the window's floor
WINDOW_SHAPE = (spectrogram.N_MELS, spectrogram.CLIP_COLUMNS)
PATCH_SHAPE = (backbone.PATCH_FRAMES, backbone.PATCH_MELS)


def band_edges(n_bands: int, fmax: float) -> np.ndarray:
    """The Hz between which each of ``n_bands`` mel bands counts as its own (n_bands + 1 edges).

    A band's edges lie halfway between its centre and its neighbours' (librosa's Slaney mel
    scale); the lowest starts at 0 Hz and the highest ends at ``fmax``, so the bands tile it.
    """
    import librosa

    centres = librosa.mel_frequencies(n_bands + 2, fmax=fmax)
    edges = (centres[:-1] + centres[1:]) / 2
    edges[0], edges[-1] = 0.0, fmax
    return edges


WINDOW_EDGES = band_edges(spectrogram.N_MELS, SAMPLE_RATE / 2)  # the picture's 128 bands
PATCH_EDGES = band_edges(backbone.PATCH_MELS, backbone.PATCH_RATE / 2)  # the backbone's 96 bands


def band_overlap() -> np.ndarray:
    """(128, 96): the share of each backbone band's Hz that lies in each picture band (columns sum to 1)."""
    lo = np.maximum(WINDOW_EDGES[:-1, None], PATCH_EDGES[None, :-1])
    hi = np.minimum(WINDOW_EDGES[1:, None], PATCH_EDGES[None, 1:])
    return (np.clip(hi - lo, 0.0, None) / np.diff(PATCH_EDGES)[None]).astype(np.float32)


FRAME_COLUMNS = column_of_frame()  # (187,): the picture column nearest each backbone frame
BAND_OVERLAP = band_overlap()
FRAMES_TO_COLUMNS = np.eye(spectrogram.CLIP_COLUMNS, dtype=np.float32)[FRAME_COLUMNS]  # (187, 39)


def to_grid(patch_map: np.ndarray) -> np.ndarray:
    """A (187, 96) attribution of the backbone's patch as (128, 39) on the picture; the sum is kept."""
    return BAND_OVERLAP @ np.asarray(patch_map, np.float32).T @ FRAMES_TO_COLUMNS


def hide(patch: np.ndarray, window: np.ndarray, band: int, column: int,
         size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The patch and window with one box of the picture silenced in both.

    The box is ``size`` (bands, columns) of the window from (``band``, ``column``); in the patch,
    the frames nearest its columns and the bands whose centre lies in its Hz go silent.
    """
    window = np.array(window, np.float32)
    window[band:band + size[0], column:column + size[1]] = SILENT_DB
    centres = (PATCH_EDGES[:-1] + PATCH_EDGES[1:]) / 2
    bands = (centres >= WINDOW_EDGES[band]) & (centres < WINDOW_EDGES[band + size[0]])
    frames = (FRAME_COLUMNS >= column) & (FRAME_COLUMNS < column + size[1])
    patch = np.array(patch, np.float32)
    patch[np.ix_(frames, bands)] = SILENT_PATCH
    return patch, window


@dataclass(frozen=True)
class Recipe:
    """How a model makes a clip's verdict: the weight of each branch, and the temperature."""

    weights: dict[str, float]  # branch -> weight, only branches that have one, in fusion's order
    temperature: float

    @classmethod
    def of(cls, model) -> "Recipe":
        """The fused model's recipe for audio, or a lone CNN's (``cnn.Classifier``)."""
        if isinstance(model, GenreModel):
            fusion = model.fusion
            return cls({b: fusion.weights["audio"][b] for b in fusion.used("audio")},
                       fusion.clip_temperature["audio"])
        return cls({"cnn": 1.0}, model.calibration.temperature)


@dataclass
class Attribution:
    """One clip's attribution, and what each branch and the verdict said of it."""

    map: np.ndarray  # (128, 39): each cell's part in the log-probability of the genre, in nats
    parts: dict[str, np.ndarray]  # branch -> its own (128, 39) part of ``map``
    probs: dict[str, np.ndarray]  # branch -> its probabilities (genres,); "fused": the verdict's


class Attributor:
    """A model's clip verdict as a TensorFlow function of (patch, window), and its integrated gradients.

    Built once a model (``for_model``): tracing costs a few seconds, each clip then one call.
    """

    def __init__(self, model):
        import tensorflow as tf

        self.tf, self.recipe, self.genres = tf, Recipe.of(model), tuple(model.genres)
        self.cnn = runtime.keras_of(model.cnn.network)  # gradients need the Keras networks
        # the same backbone whose front end differentiates 6x faster (fastgrad); same values
        self.backbone = (fastgrad.with_fast_input_gradient(model.tagger.network)
                         if isinstance(model, GenreModel) else None)
        self.heads = {name: self._linear(model.heads[name]) for name in ("audio", "image")
                      if name in self.recipe.weights}
        if "image" in self.recipe.weights:
            self.band_map = (tf.constant(model.band_map.weights), float(model.band_map.reference))
        patch = tf.TensorSpec((None, *PATCH_SHAPE), tf.float32)
        window = tf.TensorSpec((None, *WINDOW_SHAPE), tf.float32)
        self._forward = tf.function(self._logp, input_signature=[patch, window], autograph=False)
        self._integrate = tf.function(self._gradients, autograph=False, input_signature=[
            tf.TensorSpec(PATCH_SHAPE, tf.float32), tf.TensorSpec(WINDOW_SHAPE, tf.float32),
            tf.TensorSpec((), tf.int32)])
        quiet = np.zeros(PATCH_SHAPE, np.float32), np.full(WINDOW_SHAPE, WARM_UP_DB, np.float32)
        self(*quiet, 0)  # trace both graphs now
        self.probabilities(quiet[0][None], quiet[1][None])

    def _linear(self, head):
        """A head's standardisation and dense layer as constants: its log-softmax in the graph."""
        tf = self.tf
        head = head if isinstance(head, heads.Linear) else heads.linear(head)
        return (tf.constant(head.mean), tf.constant(np.sqrt(head.variance)),
                tf.constant(head.kernel), tf.constant(head.bias))

    def _head(self, name: str, patch):
        mean, std, kernel, bias = self.heads[name]
        heard = self.backbone(patch, training=False)[heads.READS[name]]
        return self.tf.nn.log_softmax(((heard - mean) / std) @ kernel + bias)

    def _band_patch(self, window):
        """``bands.BandMap.patch`` in the graph: dB -> power -> 96 bands -> frames -> log."""
        tf = self.tf
        weights, reference = self.band_map
        power = tf.pow(10.0, window / 10.0) * reference  # (n, 128, 39)
        mel96 = tf.einsum("jb,nbc->ncj", weights, power)  # (n, 39, 96)
        return tf.math.log(backbone.LOG_GAIN * tf.gather(mel96, FRAME_COLUMNS, axis=1) + 1.0) / np.log(10.0)

    def _logp(self, patch, window, image_window=None) -> dict:
        """Each branch's log-probabilities (n, genres), and the verdict's under "fused".

        ``image_window`` (by default ``window``) is what the image head sees: a copy of the
        window lets the gradient tell the image head's part from the CNN's.
        """
        tf, weights = self.tf, self.recipe.weights
        out = {}
        if "audio" in weights:
            out["audio"] = self._head("audio", patch)
        if "image" in weights:
            out["image"] = self._head("image", self._band_patch(window if image_window is None else image_window))
        if "cnn" in weights:
            out["cnn"] = tf.math.log(tf.maximum(self.cnn(window[..., None], training=False), LOG_FLOOR))
        out["fused"] = tf.nn.log_softmax(sum(weights[b] * out[b] for b in weights) / self.recipe.temperature)
        return out

    def _gradients(self, patch, window, index):
        """Integrated gradients of the verdict's log-probability of genre ``index`` (right Riemann sum).

        Returns each branch's attribution on its own input ("audio" on the patch, "image" and
        "cnn" on the window) and the log-probabilities at the clip itself.
        """
        tf = self.tf
        alphas = tf.range(1, STEPS + 1, dtype=tf.float32)[:, None, None] / STEPS
        inputs = {"audio": SILENT_PATCH + alphas * (patch[None] - SILENT_PATCH),
                  "cnn": SILENT_DB + alphas * (window[None] - SILENT_DB)}
        inputs["image"] = tf.identity(inputs["cnn"])
        with tf.GradientTape(watch_accessed_variables=False) as tape:  # the inputs', not the weights'
            tape.watch(list(inputs.values()))
            logp = self._logp(inputs["audio"], inputs["cnn"], inputs["image"])
            target = tf.reduce_sum(logp["fused"][:, index])
        names = list(self.recipe.weights)
        grads = tape.gradient(target, [inputs[b] for b in names],
                              unconnected_gradients=tf.UnconnectedGradients.ZERO)
        steps = {b: (patch - SILENT_PATCH) if b == "audio" else (window - SILENT_DB) for b in names}
        return ({b: tf.reduce_mean(g, 0) * steps[b] for b, g in zip(names, grads)},
                {name: v[-1] for name, v in logp.items()})  # the last point is the clip itself

    def __call__(self, patch: np.ndarray, window: np.ndarray, index: int) -> Attribution:
        """The attribution of genre ``index`` for one clip's patch (187, 96) and window (128, 39)."""
        on_input, logp = self._integrate(np.asarray(patch, np.float32), np.asarray(window, np.float32),
                                         int(index))
        parts = {b: to_grid(np.asarray(a)) if b == "audio" else np.asarray(a, np.float32)
                 for b, a in on_input.items()}
        probs = {name: np.exp(np.asarray(v, np.float64)) for name, v in logp.items()}
        return Attribution(sum(parts.values()), parts, probs)

    def probabilities(self, patches: np.ndarray, windows: np.ndarray) -> dict[str, np.ndarray]:
        """Each branch's probabilities and the verdict's ("fused") for (n, 187, 96) and (n, 128, 39)."""
        out = self._forward(np.asarray(patches, np.float32), np.asarray(windows, np.float32))
        return {name: np.exp(np.asarray(v, np.float64)) for name, v in out.items()}


_BUILT: dict[int, tuple[object, Attributor]] = {}  # id(model) -> (model, its attributor)
_BUILDING = threading.Lock()


def for_model(model) -> Attributor:
    """The model's ``Attributor``, built on first use and kept as long as the process."""
    with _BUILDING:  # two sessions asking at once trace it once
        found = _BUILT.get(id(model))
        if found is None or found[0] is not model:
            found = _BUILT[id(model)] = (model, Attributor(model))
        return found[1]
