"""The shipped model: the image CNN and two heads on the musicnn backbone, fused, with "unsure".

Branches (each gives log-probabilities of the ten genres, per clip and per song):

=========  ==========================================================  ===============
branch     input                                                        sees
=========  ==========================================================  ===============
``audio``  the backbone's pooled features of the clean 3-s clip (16 kHz) audio only
``image``  the backbone's embedding of the 128-band dB window           audio, images
``cnn``    the small CNN on the 128-band dB window                      audio, images
=========  ==========================================================  ===============

A verdict is a weighted sum of the branches' log-probabilities (weights chosen on the
valid list, one set for audio and one for images), softmaxed at a temperature fitted on
valid songs. A song is called ``unsure`` when the music detector (``detector.py``, audio only)
says it is not music at all (``not_music``); when it is called a genre whose training music
always had a beat but has no steady one (``no_beat``); when its tags lean outside the ten more
than 99 % of the training songs' do (plus a margin), or, for a mel image, its embedding lies far from every image the heads
were trained on (``outside_ten``); or when the fused confidence is under a threshold chosen on
valid (``low_confidence``). The numbers live in ``fusion.json``, read once into ``Fusion``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import backbone, detector, heads, runtime
from .audio import CLIP_SAMPLES
from .bands import BandMap
from .spectrogram import CLIP_COLUMNS, N_MELS
from .cnn import MODEL_DIR, MODEL_PATH, Classifier, Validation, log_of, softmax
from .cnn import load_model as load_cnn
from .errors import ModelError
from .verdict import (LOW_CONFIDENCE, NO_BEAT, NOT_MUSIC, OUTSIDE_TEN, TAG_FLOOR, Judgement, low_confidence_sentence,
                      no_beat_sentence, not_music_sentence, outside_sentence)

FUSION_FILE = "fusion.json"
BAND_MAP_FILE = "band_map.json"
REFERENCE_FILE = "reference.npz"  # standardised mean embeddings of the training songs, per kind in FAR_KINDS
# The inputs the distance test doubts. Audio has the music detector for non-music and the tag margin
# for music outside the ten; there the distance flagged 6 of 334 held-out recordings, 5 of them
# right, and none of 9 recordings from outside GTZAN (`python -m bench.distance`, model card).
FAR_KINDS = ("image",)
HEAD_FILE = "head_{}.keras"
WARM_UP_DB = -40.0  # the level of the window ``load_model`` judges once, mid-way in the dB range
WARM_UP_SAMPLE = 1e-3  # every sample of the clip it judges with it (and ``genre warmup`` renders): faint, not zero
BRANCHES = {"audio": ("audio", "image", "cnn"), "image": ("image", "cnn")}  # input kind -> branches
HEARD_WIDTH = {"embedding": backbone.EMBEDDING_UNITS, "pool": backbone.POOL_UNITS}  # what a head reads: its width
NAMED_TAGS = 3  # tags a "not music" or "not one of the ten" sentence names
# What the backbone says of sound outside the ten genres (noise, tones, electronic and ambient
# music), and the tags of music inside them. A song whose strongest outside tag beats its
# strongest inside tag by more than 99 % of GTZAN's training songs do (``calibration.margin_threshold``)
# is "not one of the ten".
OUTSIDE_TAGS = ("electronic", "electronica", "electro", "House", "ambient", "experimental")
INSIDE_TAGS = ("rock", "pop", "jazz", "metal", "blues", "country", "Hip-Hop", "soul", "funk", "rnb",
               "classic rock", "hard rock", "heavy metal", "folk", "punk", "oldies", "instrumental",
               "acoustic", "guitar", "60s", "70s", "80s", "90s", "00s")


def outside_margin(song_tags: np.ndarray) -> float:
    """Strongest outside tag minus strongest inside tag (positive: it sounds outside the ten)."""
    index = backbone.tag_index()
    return float(max(song_tags[index[t]] for t in OUTSIDE_TAGS) - max(song_tags[index[t]] for t in INSIDE_TAGS))


@dataclass(frozen=True)
class Unsure:
    """The rules that call a verdict unsure (``fusion.json``'s "unsure"), per input kind where they differ."""

    confidence_below: dict[str, float]  # kind -> fused confidence under which a verdict is unsure
    margin_above: float  # ``outside_margin`` over which audio is "not one of the ten"
    k: int  # neighbours the distance test averages
    distance_above: dict[str, float]  # kind -> ``knn_distance`` over which a song is "not one of the ten"
    pulse_below: dict[str, float]  # genre -> pulse clarity under which that genre's verdict has "no beat"


@dataclass(frozen=True)
class Fusion:
    """How the branches are weighed, sharpened and doubted: ``fusion.json`` less its provenance."""

    weights: dict[str, dict[str, float]]  # kind -> branch (``BRANCHES``) -> weight
    clip_temperature: dict[str, float]  # kind -> softmax temperature of a clip's fused log-probs
    song_temperature: dict[str, float]  # kind -> the same for the song's
    unsure: Unsure

    @classmethod
    def from_meta(cls, meta: dict) -> "Fusion":
        """The numbers of a ``fusion.json`` (as read by ``json``); KeyError or TypeError where one lacks."""
        rule, floats = meta["unsure"], (lambda d: {k: float(v) for k, v in d.items()})
        unsure = Unsure(floats(rule["confidence_below"]), float(rule["margin_above"]), int(rule["k"]),
                        floats(rule["distance_above"]), floats(rule.get("pulse_below", {})))
        return cls({kind: floats(w) for kind, w in meta["weights"].items()}, floats(meta["clip_temperature"]),
                   floats(meta["song_temperature"]), unsure)

    def used(self, kind: str) -> tuple[str, ...]:
        """The branches that carry weight for ``kind``, in ``BRANCHES``' order."""
        return tuple(b for b in BRANCHES[kind] if self.weights[kind].get(b, 0.0) > 0)


@dataclass
class Branches:
    """Each branch's (clip log-probs, song log-probs), and what the backbone heard on the judged path:
    the clean audio where there is audio (``kind`` "audio"), else the image path (``kind`` "image")."""

    kind: str  # "audio" or "image": which weights, temperatures and thresholds apply
    logp: dict[str, tuple[np.ndarray, np.ndarray]]  # branch name (BRANCHES) -> (clip, song)
    heard: backbone.Heard  # tags (n, 50), embedding (n, 200), pooled features (n, 1506)


def head_logp(head, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A head's (clip log-probs, song log-probs): each clip's embedding, and their mean."""
    return (heads.log_probs(head, embeddings),
            heads.log_probs(head, np.asarray(embeddings).mean(axis=0, keepdims=True))[0])


def cnn_logp(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The CNN's (clip log-probs, song log-probs): each clip's, and the log of their mean."""
    return log_of(probs), log_of(probs.mean(axis=0))


@dataclass(frozen=True)
class Reference:
    """The training songs of one kind, as the distance test reads them (``reference.npz``)."""

    mean: np.ndarray  # their mean embeddings' mean (200)
    std: np.ndarray  # and spread
    songs: np.ndarray  # (songs, 200): each song's mean embedding, standardised by the two


def knn_distance(embeddings: np.ndarray, ref: Reference, k: int) -> float:
    """How far a song's mean embedding lies from the training songs of its domain: the mean squared
    standardised distance to the ``k`` nearest (about 1 inside the training music, far more outside)."""
    z = (np.asarray(embeddings, np.float64).mean(axis=0) - ref.mean) / ref.std
    return float(np.sort(((ref.songs - z) ** 2).mean(axis=1))[:k].mean())


class GenreModel:
    """The fused model: ``judge(windows, clips)`` for audio, ``judge(windows)`` for mel images."""

    def __init__(self, cnn: Classifier, tagger: backbone.Tagger | runtime.OnnxTagger, band_map: BandMap,
                 head_models: dict, meta: dict, reference: dict[str, Reference],
                 music: detector.Detector | None = None):
        self.cnn, self.tagger, self.band_map, self.heads = cnn, tagger, band_map, head_models
        self.meta = meta  # fusion.json as written: the numbers below, and provenance (command, data, figures)
        self.fusion = Fusion.from_meta(meta)
        self.kind, self.version = "fused", meta.get("version", "?")  # ``fused v1``
        self.validation = Validation.of(meta.get("validation", {}).get("audio", {}))  # what the app hears
        self.reference = reference  # kind -> its training songs' Reference
        self.music = music  # the music detector (audio only), None where model/ has none
        self.genres = cnn.genres
        self.device = cnn.device
        self.tags = tuple(backbone.TAGS)
        self.runtime: runtime.Choice | None = None  # which runtime runs the backbone, set by load_model

    def branches(self, windows: np.ndarray, clips: list[np.ndarray] | None = None) -> Branches:
        """Each branch's (clip log-probs, song log-probs), and the tags and embeddings heard."""
        logp = {"cnn": cnn_logp(self.cnn.network_probs(windows))}
        by_path: dict[str, backbone.Heard] = {}  # what the backbone heard through each path
        if clips is None or "image" in self.fusion.used("audio"):
            # the image path costs a backbone pass per clip: paid only where it has weight
            by_path["image"] = self.tagger(self.band_map.patches(windows))
            logp["image"] = head_logp(self.heads["image"], by_path["image"].layer(heads.READS["image"]))
        if clips is not None:
            by_path["audio"] = self.tagger(np.stack([backbone.patch(c) for c in clips]))
            logp["audio"] = head_logp(self.heads["audio"], by_path["audio"].layer(heads.READS["audio"]))
        kind = "image" if clips is None else "audio"
        return Branches(kind, logp, by_path[kind])

    def fuse(self, parts: Branches) -> tuple[np.ndarray, np.ndarray]:
        """Fused (clip probs, song probs) from ``branches``' output."""
        weights, used = self.fusion.weights[parts.kind], self.fusion.used(parts.kind)
        clip = sum(weights[b] * parts.logp[b][0] for b in used)
        song = sum(weights[b] * parts.logp[b][1] for b in used)
        return (softmax(clip, self.fusion.clip_temperature[parts.kind]),
                softmax(song, self.fusion.song_temperature[parts.kind]))

    def judge(self, windows: np.ndarray, clips: list[np.ndarray] | None = None,
              pulse: float | None = None, gain_db: float = 0.0) -> Judgement:
        """Classify a song from its (n, 128, 39) dB windows and, for audio, its 3-s clips.

        ``pulse`` is the song's ``rhythm.pulse_clarity`` where it is long enough to have one;
        ``gain_db`` says how much louder than recorded ``clips`` are (``audio.normalise``).
        """
        parts = self.branches(windows, clips)
        clip_probs, song_probs = self.fuse(parts)
        tags = parts.heard.tags
        verdict = Judgement(clip_probs, song_probs, tags, tags.mean(axis=0))
        hearing = self.hear(parts, windows, clips, pulse, gain_db)
        self.doubt(verdict, parts.heard.embedding, parts.kind, pulse, hearing)
        return verdict

    def hear(self, parts: Branches, windows: np.ndarray, clips: list[np.ndarray] | None,
             pulse: float | None, gain_db: float = 0.0) -> detector.Hearing | None:
        """The music detector's view of an audio song (None for images, or without a detector)."""
        if self.music is None or clips is None:
            return None

        def features(heard: backbone.Heard, pieces: list[np.ndarray]) -> np.ndarray:
            return detector.features(heard.embedding, heard.pool, heard.tags, windows, pieces, pulse)

        hearing = self.music.hear(features(parts.heard, clips))
        if not hearing.not_music or gain_db == 0:
            return hearing
        # a song heard at another level and called not music: heard again as recorded (its dB windows
        # and pulse are the same at any level)
        recorded = [c * np.float32(10 ** (-gain_db / 20)) for c in clips]
        heard = self.tagger(np.stack([backbone.patch(c) for c in recorded]))
        return self.music.hear_as_recorded(hearing, features(heard, recorded), gain_db)

    def distance(self, embeddings: np.ndarray, kind: str) -> float:
        """``knn_distance`` of a song's clip embeddings from the training songs of its domain."""
        return knn_distance(embeddings, self.reference[kind], self.fusion.unsure.k)

    def doubt(self, verdict: Judgement, embedding: np.ndarray, kind: str, pulse: float | None = None,
              hearing: detector.Hearing | None = None) -> None:
        """Mark ``verdict`` unsure where the rules say so, with its reason and sentence.

        First, unsure when the music detector (``hearing``) says it is not music at all. Then
        when it is not one of the ten (its clean-audio tags lean outside them more than
        almost any training song's did, a mel image's embedding lies farther from the training
        images than held-out images do, or it is called a genre whose training music always had
        a beat but has none), or when the fused confidence is under the validated threshold.
        """
        rule, song_probs, song_tags = self.fusion.unsure, verdict.song_probs, verdict.song_tags
        outside = kind == "audio" and outside_margin(song_tags) > rule.margin_above
        far = kind in FAR_KINDS and self.distance(embedding, kind) > rule.distance_above[kind]
        best = self.genres[int(np.argmax(song_probs))]
        beat = rule.pulse_below.get(best)
        named = [self.tags[i] for i in np.argsort(song_tags)[::-1][:NAMED_TAGS] if song_tags[i] >= TAG_FLOOR]
        if hearing is not None and hearing.not_music:
            verdict.doubt(NOT_MUSIC, not_music_sentence(named))
        elif pulse is not None and beat is not None and pulse < beat:
            verdict.doubt(NO_BEAT, no_beat_sentence(best))
        elif outside or far:
            verdict.doubt(OUTSIDE_TEN, outside_sentence(named if kind == "audio" else []))
        elif song_probs.max() < rule.confidence_below[kind]:
            verdict.doubt(LOW_CONFIDENCE, low_confidence_sentence(self.genres, song_probs))


def save(out_dir, band_map: BandMap, head_models: dict, meta: dict, reference: dict[str, Reference]) -> Path:
    """Write the fusion's files beside the CNN and the backbone in ``out_dir``."""
    out_dir = Path(out_dir)
    band_map.save(out_dir / BAND_MAP_FILE)
    np.savez(out_dir / REFERENCE_FILE, **{f"{d}_{k}": np.asarray(v, np.float32)
                                          for d, r in reference.items() for k, v in asdict(r).items()})
    for name, head in head_models.items():
        head.save(out_dir / HEAD_FILE.format(name))
    path = out_dir / FUSION_FILE
    path.write_text(json.dumps(meta, indent=1) + "\n")
    return path


def load_model(path=None):
    """Load the shipped model: the fused model, or a lone CNN for a ``.keras`` file.

    Parameters
    ----------
    path : path, optional
        A model folder holding ``fusion.json`` (default: ``model/``), or a CNN's ``.keras`` file.

    Raises
    ------
    ModelError
        A file is missing or unreadable, or preprocessing differs from this code's.
    """
    path = Path(path) if path is not None else MODEL_DIR
    if path.suffix == ".keras":
        return load_cnn(path)
    if path.is_file():
        raise ModelError(f"{path} is not a model: give a model folder (like model/) or a CNN's .keras file.")
    if not (path / FUSION_FILE).exists():
        return load_cnn(path / MODEL_PATH.name)
    choice = runtime.choose(path)
    onnx = choice.runtime == runtime.ONNXRUNTIME
    try:
        meta = json.loads((path / FUSION_FILE).read_text())
        band_map = BandMap.load(path / BAND_MAP_FILE)
        head_models = {name: heads.read(path / HEAD_FILE.format(name)) for name in heads.HEADS}
        tagger = runtime.load_tagger(path, choice)
        with np.load(path / REFERENCE_FILE) as z:
            reference = {d: Reference(*(z[f"{d}_{k}"].astype(np.float64) for k in ("mean", "std", "songs")))
                         for d in FAR_KINDS}
        music = detector.load(path)
        for name, head in head_models.items():  # before the CNN is loaded: a stale head fails at once
            width = HEARD_WIDTH[heads.READS[name]]
            if head.kernel.shape[0] != width:  # heads trained when they read another output
                raise ModelError(f"{path / HEAD_FILE.format(name)} reads {head.kernel.shape[0]} values, but the "
                                 f"{name} head now reads the backbone's {heads.READS[name]} ({width}): retrain it "
                                 "with `python -m genre train` (model/README.md).")
        cnn = load_cnn(path / MODEL_PATH.name, onnx=path / runtime.ONNX_FILES[MODEL_PATH.name] if onnx else None)
        model = GenreModel(cnn, tagger, band_map, head_models, meta, reference, music)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"Cannot load the fused model in {path}: {exc!r}") from exc
    model.runtime = choice
    # one judgement at load, so that a model that cannot judge fails here, and the first song is not slower
    model.judge(np.full((1, N_MELS, CLIP_COLUMNS), WARM_UP_DB, np.float32), [np.full(CLIP_SAMPLES, WARM_UP_SAMPLE, np.float32)])
    return model
