"""Training the fused model: the band map, the two backbone heads, the fusion weights, "unsure".

``python -m genre train`` calls ``train_fusion`` after the CNN (or on a CNN given with
``--cnn``). Every GTZAN file is embedded once: audio through the clean path (ten patches
for a 30-s clip, one repeat-padded patch for a 2-3 s excerpt) and the image path; images
through the image path only. The heads learn from the training split; with a validation
split, the fusion weights, temperatures and "unsure" thresholds are chosen there, and a
model trained on every split takes them from such a run (``--calibration``).
"""
from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import audio, backbone, bands, data, fusion, heads, spectrogram
from .evaluate import expected_calibration_error
from .predict import clip_windows, window_starts
from .rhythm import pulse_clarity

WEIGHT_STEP = 0.1  # grid of fusion weights, each in [0, 1] summing to 1
TEMPERATURES = np.round(np.arange(0.3, 3.001, 0.05), 2)
TARGET_ACCURACY = 0.85  # "unsure" threshold: the lowest confidence keeping this accuracy on the sure
DISTANCE_QUANTILE = 0.99  # songs farther than this share of the training music are "not one of the ten"
PULSE_SLACK = 0.9  # a beat under 90 % of the weakest training clip's of that genre is no beat
PULSE_FLOOR = 0.25  # genres whose training clips ever fall under this have no reliable beat
MARGIN_QUANTILE = 0.99  # of the training songs' outside-tag margins (one 2-s excerpt reaches 0.53)
MARGIN_SLACK = 0.02
NEIGHBOURS = 5
CALIBRATION_KEYS = ("weights", "clip_temperature", "song_temperature")


@dataclass
class Song:
    """One labelled file, seen by every branch that can see it."""

    id: str
    label: int
    kind: str  # mel-image, full, excerpt or audio
    image_emb: np.ndarray  # (n, 200) image-path embeddings
    audio_emb: np.ndarray | None = None  # (n, 200) clean-audio embeddings
    tags: np.ndarray | None = None  # (n, 50) from the clean audio, else the image path
    cnn: dict = field(default_factory=dict)  # CNN name -> (n, genres) network probabilities
    pulse: float | None = None  # rhythm.pulse_clarity of the audio (not kept in the cache)
    windows: np.ndarray | None = field(default=None, repr=False)

    @property
    def domain(self) -> str:
        return "image" if self.audio_emb is None else "audio"


def embed(item: data.Item, tagger: backbone.Tagger, band_map: bands.BandMap, label: int) -> Song:
    """Every backbone view of one file, as prediction computes them."""
    if item.kind == "mel-image":
        levels = data.image_levels(item.path)
        starts = window_starts(levels.shape[1], spectrogram.CLIP_COLUMNS)
        windows = np.stack([spectrogram.cut_window(levels, s) for s in starts])
        tags, image_emb = tagger(band_map.patches(windows))
        return Song(item.id, label, item.kind, image_emb, None, tags, windows=windows)
    samples = audio.decode(item.path)
    starts, windows = clip_windows(samples)
    tags, audio_emb = tagger(np.stack([backbone.patch(samples[s:s + audio.CLIP_SAMPLES]) for s in starts]))
    _, image_emb = tagger(band_map.patches(windows))
    return Song(item.id, label, item.kind, image_emb, audio_emb, tags, windows=windows,
                pulse=pulse_clarity(samples))


def embed_all(items, tagger, band_map, genres, log=print) -> list[Song]:
    songs, started = [], time.time()
    for n, item in enumerate(items, 1):
        if item.genre in genres:
            songs.append(embed(item, tagger, band_map, genres.index(item.genre)))
        if n % 100 == 0:
            log(f"embedded {n}/{len(items)} files ({time.time() - started:.0f} s)")
    return songs


def fit_heads(songs: list[Song], n_classes: int, seed: int = 0, l2: float = heads.L2) -> dict:
    """The two heads, each standardising with its own domain's statistics.

    The image head learns from the mel images' song means. The audio head learns from every
    3-s clip of the clean audio and every window of the images, each standardised with its
    own domain's statistics: on the valid list that lifted it from 65 % (audio song means)
    to 69 %, 77 % on whole 30-s clips (model/README.md), since audio exists for only a
    third of the recordings.
    """
    audio = [s for s in songs if s.audio_emb is not None]
    images = [s for s in songs if s.kind == "mel-image"]
    image_x = np.stack([s.image_emb.mean(0) for s in images])
    image_y = [s.label for s in images]
    audio_means = np.stack([s.audio_emb.mean(0) for s in audio])
    stats = {"audio": (audio_means.mean(0), audio_means.var(0) + 1e-6),
             "image": (image_x.mean(0), image_x.var(0) + 1e-6)}

    def z(x, domain):
        return (x - stats[domain][0]) / np.sqrt(stats[domain][1])

    clips_x = np.concatenate([z(np.concatenate([s.audio_emb for s in audio]), "audio"),
                              z(np.concatenate([s.image_emb for s in images]), "image")])
    clips_y = np.concatenate([np.repeat([s.label for s in audio], [len(s.audio_emb) for s in audio]),
                              np.repeat(image_y, [len(s.image_emb) for s in images])])
    return {"audio": heads.fit_head(clips_x, clips_y, n_classes, l2=l2, seed=seed, name="head_audio",
                                    standardised=stats["audio"]),
            "image": heads.fit_head(image_x, image_y, n_classes, l2=l2, seed=seed, name="head_image")}


def branch_logp(song: Song, head_models: dict, cnn_name: str = "cnn") -> dict:
    """Each branch's (clip log-probs, song log-probs) for a song, as ``GenreModel.branches``."""
    out = {"image": (heads.logits(head_models["image"], song.image_emb),
                     heads.logits(head_models["image"], song.image_emb.mean(0, keepdims=True))[0])}
    if cnn_name in song.cnn:
        p = song.cnn[cnn_name]
        out["cnn"] = (fusion.log_of(p), fusion.log_of(p.mean(0)))
    if song.audio_emb is not None:
        out["audio"] = (heads.logits(head_models["audio"], song.audio_emb),
                        heads.logits(head_models["audio"], song.audio_emb.mean(0, keepdims=True))[0])
    return out


def nll(logp: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    p = fusion.softmax(logp, temperature)
    return float(-np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, 1)).mean())


def fit_temperature(logp: np.ndarray, labels: np.ndarray) -> float:
    return float(min(TEMPERATURES, key=lambda t: nll(logp, labels, t)))


def weight_grid(n: int):
    steps = int(round(1 / WEIGHT_STEP))
    for combo in itertools.product(range(steps + 1), repeat=n):
        if sum(combo) == steps:
            yield tuple(c / steps for c in combo)


def choose_fusion(songs: list[Song], head_models: dict, log=print) -> dict:
    """Per domain: weights (by validation log-loss), temperatures, unsure thresholds; and the figures."""
    meta = {"weights": {}, "clip_temperature": {}, "song_temperature": {},
            "unsure": {"confidence_below": {}}, "validation": {}}
    for domain, branches in fusion.BRANCHES.items():
        group = [s for s in songs if s.domain == domain]
        if not group:
            continue
        parts = [branch_logp(s, head_models) for s in group]
        labels = np.array([s.label for s in group])
        clip_labels = np.concatenate([[s.label] * len(p["image"][0]) for s, p in zip(group, parts)])
        song_lp = {b: np.stack([p[b][1] for p in parts]) for b in branches}
        clip_lp = {b: np.concatenate([p[b][0] for p in parts]) for b in branches}

        def score(w):
            lp = sum(wi * song_lp[b] for wi, b in zip(w, branches))
            return nll(lp, labels, fit_temperature(lp, labels))

        best = min(weight_grid(len(branches)), key=score)
        weights = dict(zip(branches, best))
        song = sum(weights[b] * song_lp[b] for b in branches)
        clip = sum(weights[b] * clip_lp[b] for b in branches)
        t_song, t_clip = fit_temperature(song, labels), fit_temperature(clip, clip_labels)
        probs = fusion.softmax(song, t_song)
        threshold = unsure_threshold(probs, labels)
        meta["weights"][domain] = weights
        meta["song_temperature"][domain], meta["clip_temperature"][domain] = t_song, t_clip
        meta["unsure"]["confidence_below"][domain] = threshold
        report = figures(probs, fusion.softmax(clip, t_clip), labels, clip_labels, threshold)
        report["branches"] = {b: figures(fusion.softmax(song_lp[b]), fusion.softmax(clip_lp[b]), labels,
                                         clip_labels) for b in branches}
        meta["validation"][domain] = report
        log(f"{domain}: weights {weights}, song T {t_song}, clip T {t_clip}; "
            f"track {report['accuracy']:.3f}, clip {report['clip_accuracy']:.3f}, "
            f"sure {report['coverage']:.2f} of songs at {report['accuracy_sure']:.3f}; "
            + ", ".join(f"{b} {r['accuracy']:.3f}" for b, r in report["branches"].items()))
    return meta


def unsure_threshold(probs: np.ndarray, labels: np.ndarray, target: float = TARGET_ACCURACY) -> float:
    """The lowest confidence above which the verdicts reach ``target`` accuracy."""
    conf, right = probs.max(1), probs.argmax(1) == labels
    for t in np.round(np.arange(0.0, 0.951, 0.01), 2):
        sure = conf >= t
        if sure.sum() >= 10 and right[sure].mean() >= target:
            return float(t)
    return 0.95


def figures(probs, clip_probs, labels, clip_labels, threshold: float | None = None) -> dict:
    """Track and clip accuracy, per-genre recall, calibration and (with a threshold) coverage."""
    pred = probs.argmax(1)
    out = {"n": int(len(labels)), "accuracy": float((pred == labels).mean()),
           "clip_n": int(len(clip_labels)), "clip_accuracy": float((clip_probs.argmax(1) == clip_labels).mean()),
           "recall": [float((pred[labels == g] == g).mean()) if (labels == g).any() else None
                      for g in range(probs.shape[1])],
           "ece_track": expected_calibration_error(probs, labels),
           "largest_share": float(np.bincount(pred, minlength=probs.shape[1]).max() / len(pred))}
    if threshold is not None:
        sure = probs.max(1) >= threshold
        out.update(coverage=float(sure.mean()),
                   accuracy_sure=float((pred[sure] == labels[sure]).mean()) if sure.any() else None)
    return out


def reference(songs: list[Song], head_models: dict) -> dict:
    """Standardised mean embeddings of the training songs, per domain, for the distance test."""
    out = {}
    for domain in ("audio", "image"):
        emb = np.stack([(s.audio_emb if domain == "audio" else s.image_emb).mean(0) for s in songs
                        if (s.audio_emb is not None if domain == "audio" else s.kind == "mel-image")])
        norm = head_models[domain].get_layer("standardise")
        mean = np.asarray(norm.mean).reshape(-1)
        std = np.sqrt(np.asarray(norm.variance).reshape(-1))
        out[domain] = {"mean": mean, "std": std, "songs": (emb - mean) / std}
    return out


def distance_thresholds(ref: dict, songs: list[Song]) -> dict:
    """Per domain, the distance that ``DISTANCE_QUANTILE`` of held-out (or training) music stays under."""
    out = {}
    for domain, r in ref.items():
        group = [s for s in songs if s.domain == domain or (domain == "image" and s.kind == "mel-image")]
        d = [knn_distance((s.audio_emb if domain == "audio" else s.image_emb), r) for s in group]
        out[domain] = float(np.quantile(d, DISTANCE_QUANTILE))
    return out


def margin_threshold(songs: list[Song]) -> float:
    """Just above the outside-tag margin that 99 % of the training songs heard as audio stay under."""
    margins = [fusion.outside_margin(s.tags.mean(0)) for s in songs if s.audio_emb is not None]
    return float(np.quantile(margins, MARGIN_QUANTILE) + MARGIN_SLACK)


def pulse_thresholds(items, genres) -> dict:
    """Per genre whose whole training clips all have a clear beat: the pulse under which to doubt it."""
    pulses: dict[str, list[float]] = {}
    for item in items:
        if item.kind == "full" and item.genre in genres:
            pulse = pulse_clarity(audio.decode(item.path))
            if pulse is not None:
                pulses.setdefault(item.genre, []).append(pulse)
    return {g: round(PULSE_SLACK * min(v), 3) for g, v in sorted(pulses.items()) if min(v) >= PULSE_FLOOR}


def knn_distance(embedding: np.ndarray, ref: dict, k: int = NEIGHBOURS, exclude_self: bool = False) -> float:
    z = (embedding.mean(0) - ref["mean"]) / ref["std"]
    d = np.sort(((ref["songs"] - z) ** 2).mean(1))
    return float(d[int(exclude_self):int(exclude_self) + k].mean())


def save_json(path, meta: dict) -> None:
    Path(path).write_text(json.dumps(meta, indent=1) + "\n")


def cached_embed(items, tagger, band_map, genres, cache: Path | None, log=print) -> list[Song]:
    """``embed_all`` with a per-file cache (``cache/<kind>-<id>.npz``): a rerun embeds nothing twice."""
    if cache is None:
        return embed_all(items, tagger, band_map, genres, log)
    cache.mkdir(parents=True, exist_ok=True)
    songs, started = [], time.time()
    for n, item in enumerate(items, 1):
        if item.genre not in genres:
            continue
        path = cache / f"{item.kind}-{item.id}.npz"
        if path.exists():
            z = np.load(path)
            songs.append(Song(item.id, genres.index(item.genre), item.kind, z["image_emb"],
                              z["audio_emb"] if "audio_emb" in z.files else None, z["tags"]))
            continue
        song = embed(item, tagger, band_map, genres.index(item.genre))
        arrays = {"image_emb": song.image_emb, "tags": song.tags}
        if song.audio_emb is not None:
            arrays["audio_emb"] = song.audio_emb
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)  # atomic: an interrupted run leaves no half-written file
        songs.append(song)
        if n % 50 == 0:
            log(f"embedded {n}/{len(items)} files ({time.time() - started:.0f} s)")
    return songs


def cnn_probs(songs: list[Song], items, cnn, genres) -> None:
    """Attach the CNN's clip probabilities to ``songs`` (the windows are recomputed if not kept)."""
    by_key = {(i.kind, i.id): i for i in items}
    from .evaluate import windows_of

    for song in songs:
        windows = song.windows if song.windows is not None else windows_of(by_key[(song.kind, song.id)])
        song.cnn["cnn"] = cnn.network_probs(windows)


def train_fusion(root, out, *, cnn_path, seed: int = 0, train_split: str = "train",
                 valid_split: str | None = "valid", calibration=None, cache=None, log=print) -> dict:
    """Fit the band map, the heads and the fusion; write them with the CNN and backbone into ``out``.

    Parameters
    ----------
    root : path
        The GTZAN folder (``../shared/data/gtzan``).
    out : path
        The model folder to write (``model/`` ships); the CNN at ``cnn_path`` and the imported
        backbone (``model/musicnn.keras``) are copied into it when they are elsewhere.
    valid_split : str or None
        Where weights, temperatures and thresholds are chosen; ``None`` takes them from
        ``calibration`` (the ``fusion.json`` of a run that had a validation split).
    cache : path, optional
        Folder of per-file embeddings, kept between runs.
    """
    import shutil

    from .model import load_model as load_cnn

    started, genres = time.time(), list(data.GENRES)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    backbone_path = fusion.MODEL_DIR / backbone.MODEL_FILE
    if not backbone_path.exists():
        raise FileNotFoundError(f"{backbone_path} is missing: run `python -m genre import-musicnn` first.")
    for src in (Path(cnn_path), Path(cnn_path).with_suffix(".json"), backbone_path,
                backbone_path.with_suffix(".json"), backbone_path.parent / "MUSICNN_LICENSE.md"):
        dest = out / (fusion.MODEL_PATH.name if src.suffix == ".keras" and src.stem != "musicnn"
                      else src.name)
        if src.suffix == ".json" and src.stem != "musicnn":
            dest = out / fusion.MODEL_PATH.with_suffix(".json").name
        if src.resolve() != dest.resolve():
            shutil.copyfile(src, dest)
    tagger = backbone.load_backbone(out / backbone.MODEL_FILE)
    cache = Path(cache) if cache else None
    map_path = (cache / fusion.BAND_MAP_FILE) if cache else None
    if map_path is not None and map_path.exists():
        band_map = bands.BandMap.load(map_path)
    else:
        fitting = [i for i in data.find_items(root) if i.kind == "full"]
        log(f"fitting the 128 -> 96 band map on {len(fitting)} clips that exist as audio")
        band_map = bands.fit([audio.decode(i.path) for i in fitting])
        if map_path is not None:
            cache.mkdir(parents=True, exist_ok=True)
            band_map.save(map_path)
    train_items = data.find_items(root, train_split)
    train_songs = cached_embed(train_items, tagger, band_map, genres, cache, log)
    head_models = fit_heads(train_songs, len(genres), seed=seed)
    ref = reference(train_songs, head_models)
    import sys

    meta = {"version": 1, "genres": genres, "seed": seed, "l2": heads.L2,
            "command": "python -m genre " + " ".join(sys.argv[1:]) if sys.argv[1:] else None,
            "data": {"root": Path(root).name, "train_split": train_split,
                     "audio_songs": sum(s.audio_emb is not None for s in train_songs),
                     "image_songs": sum(s.kind == "mel-image" for s in train_songs)}}
    if valid_split:
        valid_items = data.find_items(root, valid_split)
        valid_songs = cached_embed(valid_items, tagger, band_map, genres, cache, log)
        cnn_probs(valid_songs, valid_items, load_cnn(cnn_path), genres)
        chosen = choose_fusion(valid_songs, head_models, log)
        thresholds = distance_thresholds(ref, valid_songs)
        meta.update({k: chosen[k] for k in CALIBRATION_KEYS}, validation=chosen["validation"])
        meta["unsure"] = {**chosen["unsure"], "distance_above": thresholds,
                          "margin_above": margin_threshold(train_songs)}
    else:
        fitted = json.loads(Path(calibration).read_text())
        meta.update({k: fitted[k] for k in CALIBRATION_KEYS}, calibrated_by=str(calibration),
                    validation={**fitted["validation"], "measured_on": "the same recipe trained on "
                                f"{fitted['data']['train_split']}"})
        meta["unsure"] = {"confidence_below": fitted["unsure"]["confidence_below"],
                          "distance_above": fitted["unsure"]["distance_above"],
                          "margin_above": margin_threshold(train_songs)}
    meta["unsure"]["k"] = NEIGHBOURS
    meta["unsure"]["pulse_below"] = pulse_thresholds(train_items, genres)
    meta["train_seconds"] = round(time.time() - started, 1)
    path = fusion.save(out, band_map, head_models, meta, ref)
    log(f"wrote {path} in {time.time() - started:.0f} s")
    return meta
