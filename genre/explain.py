"""Why: which parts of a clip's picture moved the verdict the page states, and what each branch heard.

The map is the fused clip verdict's integrated gradients (``attribution``): through the
pretrained ear (the backbone's head on the clean 16-kHz patch) and through the picture (the
image CNN, and the image head where it has weight), each part weighted by its branch's fusion
weight, drawn on the (128, 39) grid of the clip's mel window and blurred a little (``SMOOTH``).
A lone CNN (``cnn.Classifier``) gets the same map through its one branch, and no branch words.

The map is then checked, not just drawn: the ``CANDIDATES`` boxes of the picture with the most
support are silenced in every input and the model asked again, in one batch; the legend gives
the largest measured drop, and the picture boxes where it was. On 2 cores of an AMD EPYC with
AVX-512 a clip of real music costs a median 0.17 s of wall time and 0.32 s of CPU with the shipped
model (``python -m bench.explain``); the first clip of a process pays seconds of tracing (and
TensorFlow's import where ONNX Runtime serves).

>>> from genre import explain, load_model, predict
>>> model = load_model()
>>> clip = predict("song.mp3", model, start=30).clips[0]
>>> why = explain.why(model, clip.samples, clip.mel, clip.genre)
>>> why.words(), why.legend(clip.start)
>>> picture = explain.overlay(clip.mel, why.map, why.shown_box)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter

from . import attribution, backbone, spectrogram
from .audio import CLIP_SECONDS
from .verdict import display_name, mmss_tenths, pct, span

BOX = (16, 5)  # the checked part of the picture, in bands x columns: an eighth of the bands, 0.39 s
CANDIDATES = 3  # boxes the map proposes and the model checks, in one batch
MIN_DROP = 0.01  # a smaller measured drop says the verdict rests on no one part
SMOOTH = (4.0, 1.5)  # Gaussian blur of the map, bands x columns: gradients pick single cells, people see regions
DIM = 0.25  # brightness left to the parts of the picture that mattered least
OUTLINE = (94, 234, 212)  # teal, around the cells that mattered most
STRONG = 0.5  # "mattered most": at least half the map's peak
BOX_EDGE = (255, 255, 255)  # white, around the checked box
SCALE = 2  # screen pixels per band and per column of a window's picture
STRETCH = 5  # and 5 times more along time: 128 bands x 39 columns read as a strip, like a timeline
BRANCH_NAMES = {"audio": "the pretrained ear", "image": "the pretrained ear on the picture",
                "cnn": "the image network"}  # fusion's branches, as the page names them


@dataclass
class BranchReading:
    """What one branch of the fused model made of the clip."""

    branch: str  # fusion's name: "audio", "image" or "cnn"
    weight: float  # its weight in the fused verdict
    genre: str  # the genre it heard most
    probability: float  # its probability of ``genre``
    of_verdict: float  # its probability of the genre the verdict names
    share: float  # the part of the map's support (positive attribution) that came through it

    @property
    def name(self) -> str:
        """The branch as the page names it (``BRANCH_NAMES``), else fusion's own name."""
        return BRANCH_NAMES.get(self.branch, self.branch)


@dataclass
class Explanation:
    """Why the model says ``genre`` of one clip: a map, its checked box, and what each branch heard."""

    genre: str
    probability: float  # the model's probability of ``genre`` for the clip
    map: np.ndarray = field(repr=False)  # (128, 39): each cell's part in log p(genre), nats, smoothed
    box: tuple[int, int] = (0, 0)  # (band, column): of the map's proposals, the one whose silence costs most
    drop: float = 0.0  # measured: how much ``probability`` falls with the box silenced everywhere
    readings: list[BranchReading] = field(default_factory=list)  # one a branch; empty for a lone CNN

    @property
    def peak(self) -> float:
        """The largest support of any cell, in nats; 0 or less: nothing supported the verdict."""
        return float(self.map.max())

    @property
    def stands_out(self) -> bool:
        """Whether one part carries the verdict: silencing the box lowers it by ``MIN_DROP`` or more."""
        return self.drop >= MIN_DROP and self.peak > 0

    @property
    def shown_box(self) -> tuple[int, int] | None:
        """The box to draw on the picture, or None when no part stands out."""
        return self.box if self.stands_out else None

    def region(self) -> tuple[float, float, float, float]:
        """Where the box lies: (from s, to s, low Hz, high Hz) within the clip."""
        band, column = self.box
        edges = attribution.WINDOW_EDGES
        return (column / spectrogram.COLUMNS_PER_SECOND, (column + BOX[1]) / spectrogram.COLUMNS_PER_SECOND,
                float(edges[band]), float(edges[band + BOX[0]]))

    def words(self) -> str:
        """What each branch heard, in a sentence or two (Markdown); empty for a lone CNN."""
        if len(self.readings) < 2:
            return ""
        said = "; ".join(f"{h.name}: {display_name(h.genre)} {pct(h.probability)}"
                         + ("" if h.genre == self.genre else f" ({display_name(self.genre)} {pct(h.of_verdict)})")
                         for h in self.readings)
        weights = " and ".join(f"{h.name} {h.weight:g}" for h in self.readings)
        lead = ("Its parts agree on this clip" if all(h.genre == self.genre for h in self.readings)
                else "Its parts differ on this clip")
        return (f"{lead} ({said}). Together they give this clip **{display_name(self.genre)}** "
                f"{pct(self.probability)}: the model weighs {weights} and multiplies what they say (a weighted "
                "sum of their log-probabilities), so parts that agree make it surer than either, and a sure "
                "part outweighs an unsure one. (The song's figure above weighs all its clips.)")

    def caption(self, start: float, end: float) -> str:
        """The picture's caption for the clip from ``start`` to ``end`` seconds."""
        boxed = "; boxed: the part whose silence lowers it most" if self.stands_out else ""
        return f"What moved the model towards {display_name(self.genre)} on {span(start, end)}: lit and outlined{boxed}."

    def how(self) -> str:
        """How the map was made, in a sentence for people."""
        parts = ("through each of its parts, weighted as the model weighs them" if len(self.readings) > 1
                 else "through the image network")
        silenced = "the boxed part" if self.stands_out else "the part with the most support"
        return (f"The map follows the gradient of the model's {display_name(self.genre)} on this clip, from "
                f"silence to the clip, {parts}; {silenced} was then silenced and the model asked again.")

    def legend(self, start: float = 0.0, seconds: float = CLIP_SECONDS) -> str:
        """What the map shows and what hiding its box did (Markdown); ``start``: the clip's second,
        ``seconds``: the audio it holds (a song under 3 s is repeated to fill the clip)."""
        genre = display_name(self.genre)
        if not self.stands_out:
            return (f"No part of this clip stood out: silencing the part with the most support hardly "
                    f"changes **{genre}**: it rests on the whole picture.")
        t0, t1, f0, f1 = self.region()
        through = "" if len(self.readings) < 2 else " (" + ", ".join(
            f"{pct(h.share)} {'of it came ' if i == 0 else ''}through {h.name}"
            for i, h in enumerate(self.readings)) + ")"
        # not in the repeat of a short song; a window's 39 columns hold 3.02 s, a column past the clip's 3
        when = (f"{mmss_tenths(start + t0)}–{mmss_tenths(start + min(t1, seconds))} at "
                if t1 <= seconds + 1 / spectrogram.COLUMNS_PER_SECOND else "")
        points = round(100 * self.drop)
        return (f"Lit and outlined: what moved the model towards **{genre}** most{through}; dimmed: what "
                f"mattered little. Silencing the boxed part, {when}{f0:.0f}–{f1:.0f} Hz, lowers {genre} by "
                f"{points} point{'s' * (points != 1)}.")


def boxes(importance: np.ndarray, count: int = CANDIDATES, size: tuple[int, int] = BOX) -> list[tuple[int, int]]:
    """The ``count`` boxes of ``size`` with the largest sums of ``importance``, none overlapping another.

    Returns where each starts, (band, column), largest sum first.
    """
    total = np.pad(np.asarray(importance, np.float64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    h, w = size
    sums = total[h:, w:] - total[:-h, w:] - total[h:, :-w] + total[:-h, :-w]
    found = []
    while len(found) < count and np.isfinite(sums.max()):
        band, column = (int(i) for i in np.unravel_index(int(sums.argmax()), sums.shape))
        found.append((band, column))
        sums[max(band - h + 1, 0):band + h, max(column - w + 1, 0):column + w] = -np.inf  # overlapping ones
    return found


def why(model, samples: np.ndarray | None, window: np.ndarray, genre: str | None = None) -> Explanation:
    """Explain the model's verdict on one clip.

    Parameters
    ----------
    model : GenreModel or Classifier
        From ``genre.load_model``: the fused model, or a lone image CNN.
    samples : numpy.ndarray or None
        The clip's audio at 22 050 Hz (``Clip.samples``); the fused model needs it, a lone CNN not.
    window : numpy.ndarray
        The clip's (128, 39) dB window (``Clip.mel``).
    genre : str, optional
        The genre explained; by default the model's top genre for the clip.

    Returns
    -------
    Explanation
        The map on the window's grid, the checked box and its drop, and each branch's hearing.
    """
    explainer = attribution.for_model(model)
    weights = explainer.recipe.weights
    patch = (backbone.patch(samples) if "audio" in weights
             else np.zeros(attribution.PATCH_SHAPE, np.float32))
    window = np.asarray(window, np.float32)
    if genre is None:
        genre = model.genres[int(explainer.probabilities(patch[None], window[None])["fused"][0].argmax())]
    index = list(model.genres).index(genre)
    found = explainer(patch, window, index)
    shown = gaussian_filter(found.map, SMOOTH, mode="nearest")
    spots = boxes(shown)
    hidden = [attribution.hide(patch, window, *spot, BOX) for spot in spots]
    after = explainer.probabilities(np.stack([p for p, _ in hidden]), np.stack([w for _, w in hidden]))
    best = int(after["fused"][:, index].argmin())  # the proposed box whose silence costs the most
    probability = float(found.probs["fused"][index])
    support = {b: float(np.clip(part, 0, None).sum()) for b, part in found.parts.items()}
    readings = [] if len(weights) < 2 else [
        BranchReading(b, w, model.genres[int(found.probs[b].argmax())], float(found.probs[b].max()),
              float(found.probs[b][index]), support[b] / max(sum(support.values()), 1e-12))
        for b, w in weights.items()]
    return Explanation(genre, probability, shown, spots[best],
                       probability - float(after["fused"][best, index]), readings)


def picture(window: np.ndarray, scale: int = SCALE, stretch: int = STRETCH) -> np.ndarray:
    """A (128, 39) dB window as the page shows it: magma, uint8 RGB, (128 * scale, 39 * scale * stretch, 3)."""
    return spectrogram.colorize(window, scale=scale).repeat(stretch, axis=1)


def overlay(window: np.ndarray, importance: np.ndarray, box: tuple[int, int] | None = None, scale: int = SCALE,
            stretch: int = STRETCH) -> np.ndarray:
    """The window's magma picture with the parts that mattered least dimmed, the most outlined.

    Parameters
    ----------
    window : numpy.ndarray
        (128, 39) dB, as given to ``why``.
    importance : numpy.ndarray
        ``Explanation.map``: the same shape; only positive values (support for the verdict) light up.
    box : (int, int), optional
        ``Explanation.shown_box``: where the checked box of ``BOX`` cells starts; drawn in white.
    scale, stretch : int
        Enlargement of the picture, and an extra stretch along time (as the app shows windows).

    Returns
    -------
    numpy.ndarray
        uint8 RGB, (128 * scale, 39 * scale * stretch, 3), low bands at the bottom.
    """
    shown = picture(window, scale, stretch).astype(np.float32)
    peak = float(np.max(importance))
    weight = np.clip(importance / peak, 0.0, 1.0) if peak > 0 else np.zeros_like(importance)
    weight = weight[::-1].repeat(scale, axis=0).repeat(scale * stretch, axis=1)
    shown *= (DIM + (1 - DIM) * weight)[..., None]
    strong = weight >= STRONG
    edge = strong & ~(np.roll(strong, 1, 0) & np.roll(strong, -1, 0) & np.roll(strong, 1, 1)
                      & np.roll(strong, -1, 1))
    shown[edge] = OUTLINE
    if box is not None:  # lines as thick as a band, inside the box's cells
        rows, width = shown.shape[0], scale * stretch
        top, bottom = rows - (box[0] + BOX[0]) * scale, rows - box[0] * scale  # low bands at the bottom
        left, right = box[1] * width, (box[1] + BOX[1]) * width
        shown[top:top + scale, left:right] = shown[bottom - scale:bottom, left:right] = BOX_EDGE
        shown[top:bottom, left:left + scale] = shown[top:bottom, right - scale:right] = BOX_EDGE
    return shown.round().astype(np.uint8)
