"""Training the fused model: the band map, the two backbone heads, the fusion weights, "unsure".

``python -m genre train`` calls ``train_fusion`` after the CNN (or on a CNN given with
``--cnn``). Every GTZAN file is embedded once: audio through the clean path (ten patches
for a 30-s clip, one repeat-padded patch for a 2-3 s excerpt) and the image path; images
through the image path only. The heads learn from the training split; with a validation
split, the fusion weights, temperatures and "unsure" thresholds are chosen there, and a
model trained on every split takes them from such a run (``--calibration``).
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path


from .. import audio, backbone, bands, fusion
from ..verdict import GENRES
from . import data
from .bands import fit as fit_bands
from .calibration import NEIGHBOURS, margin_threshold, pulse_thresholds, reference
from .embed import Song, cached_embed
from .export import export_onnx
from .heads import fit_heads
from .heldout import L2_CHOICES, Choice, choose, heads_of, held_out
from ..cnn import meta_path
from ..errors import ModelError


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
    from ..cnn import load_model as load_cnn

    started, genres = time.time(), list(GENRES)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    backbone_path = fusion.MODEL_DIR / backbone.MODEL_FILE
    if not backbone_path.exists():
        raise ModelError(f"{backbone_path} is missing: run `python -m genre import-musicnn` first.")
    cnn_path = Path(cnn_path)
    copies = {cnn_path: fusion.MODEL_PATH.name, cnn_path.with_suffix(".json"): meta_path(fusion.MODEL_PATH).name,
              backbone_path: backbone_path.name, meta_path(backbone_path): meta_path(backbone_path).name,
              backbone_path.parent / backbone.LICENSE_FILE: backbone.LICENSE_FILE}
    for src, name in copies.items():
        if src.resolve() != (out / name).resolve():
            shutil.copyfile(src, out / name)
    tagger = backbone.load_backbone(out / backbone.MODEL_FILE)
    train_items = data.find_items(root, train_split)
    # The band map is fitted on the training list's audio only, and the embeddings it makes are
    # cached per training list: a valid run never sees a valid file's spectrum before measuring it.
    cache = Path(cache) / train_split if cache else None
    map_path = (cache / fusion.BAND_MAP_FILE) if cache else None
    if map_path is not None and map_path.exists():
        band_map = bands.BandMap.load(map_path)
    else:
        fitting = [i for i in train_items if i.kind == "full"]
        log(f"fitting the 128 -> 96 band map on the {len(fitting)} training clips that exist as audio")
        band_map = fit_bands([audio.decode(i.path) for i in fitting])
        if map_path is not None:
            cache.mkdir(parents=True, exist_ok=True)
            band_map.save(map_path)
            band_map = bands.BandMap.load(map_path)  # as saved (rounded): what a rerun embeds with
    train_songs = cached_embed(train_items, tagger, band_map, genres, cache, log)
    meta = {"version": 1, "genres": genres, "seed": seed,
            "command": "python -m genre " + " ".join(sys.argv[1:]) if sys.argv[1:] else None,
            "data": {"root": Path(root).name, "train_split": train_split,
                     "audio_songs": sum(s.audio_emb is not None for s in train_songs),
                     "image_songs": sum(s.kind == "mel-image" for s in train_songs)}}
    base_unsure = {"margin_above": margin_threshold(train_songs), "k": NEIGHBOURS,
                   "pulse_below": pulse_thresholds(train_items, genres)}
    if valid_split:
        fitted = {l2: fit_heads(train_songs, len(genres), seed=seed, l2=l2) for l2 in L2_CHOICES}
        ref = reference(train_songs)
        valid_items = data.find_items(root, valid_split)
        valid_songs = cached_embed(valid_items, tagger, band_map, genres, cache, log)
        cnn_probs(valid_songs, valid_items, load_cnn(cnn_path), genres)
        figures = held_out(valid_songs, fitted, ref, base_unsure, log)
        chosen = choose(valid_songs, fitted, ref, base_unsure)  # what ships: all of valid
        head_models = heads_of(fitted, chosen.l2)
        meta.update(chosen.meta(), validation=figures)
    else:  # the calibration run's numbers, with this run's training-list rules (margin, beats)
        fitted = json.loads(Path(calibration).read_text())
        taken = fusion.Fusion.from_meta(fitted)
        unsure = fusion.Unsure(confidence_below=taken.unsure.confidence_below,
                               distance_above=taken.unsure.distance_above, **base_unsure)
        chosen = Choice({head: float(l2) for head, l2 in fitted["l2"].items()},
                        dataclasses.replace(taken, unsure=unsure))
        head_models = fit_heads(train_songs, len(genres), seed=seed, l2=chosen.l2)
        ref = reference(train_songs)
        meta.update(chosen.meta(), calibrated_by=str(calibration),
                    validation={**fitted["validation"], "measured_on": "the same recipe trained on "
                                f"{fitted['data']['train_split']}"})
    meta["train_seconds"] = round(time.time() - started, 1)
    path = fusion.save(out, band_map, head_models, meta, ref)
    log(f"wrote {path} in {time.time() - started:.0f} s")
    try:  # the CNN is new: its ONNX form too, or serving stays on TensorFlow (runtime.converted_from)
        export_onnx(out, log)
    except ModelError as exc:
        log(f"not converted for ONNX Runtime ({exc}); `python -m genre export-onnx --out {out}` does it later")
    return meta
