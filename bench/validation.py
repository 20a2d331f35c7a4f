"""The card's validation run as the benches that re-measure it load it.

The run (``runs/ens3`` for the CNN, ``runs/fused`` with ``--cache runs/emb-cache``) leaves every
train and valid file's backbone outputs and the band map in the cache; a bench fits its own
heads on them and measures by the held-out protocol of ``genre/training/heldout.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from genre import backbone, bands, fusion
from genre.cnn import load_model as load_cnn
from genre.training import data
from genre.training.calibration import NEIGHBOURS, margin_threshold, reference
from genre.training.embed import Song, cached_embed
from genre.training.fusion import cnn_probs
from genre.verdict import GENRES
from tests.support import ROOT, machine

DATA = ROOT.parent / "shared" / "data" / "gtzan"
CACHE = ROOT / "runs" / "emb-cache" / "train"  # the validation run's per-file outputs and band map
CNN = ROOT / "runs" / "ens3" / "genre_cnn.keras"  # the validation run's CNN


@dataclass
class ValidationRun:
    """The train and valid lists as the validation run heard them."""

    genres: list[str]
    tagger: backbone.Tagger  # runs only for files not cached
    band_map: bands.BandMap
    train_items: list[data.Item]
    valid_items: list[data.Item]
    train: list[Song]
    valid: list[Song]  # with the validation run's CNN outputs

    def base_unsure(self) -> dict:
        """The "unsure" rules fitted on the train list (tag margin, neighbours; no beat rule)."""
        return {"margin_above": margin_threshold(self.train), "k": NEIGHBOURS, "pulse_below": {}}

    def reference(self) -> dict:
        """The train songs' embeddings for the distance test."""
        return reference(self.train)


def load(root: Path | str = DATA) -> ValidationRun:
    """The validation run's songs from its cache (embedding only the files it lacks)."""
    genres = list(GENRES)
    if not (CACHE / fusion.BAND_MAP_FILE).is_file():
        raise SystemExit(f"{CACHE} holds no validation run: run the two commands under 'the validation run' "
                         "in model/README.md first")
    band_map = bands.BandMap.load(CACHE / fusion.BAND_MAP_FILE)
    train_items, valid_items = data.find_items(root, "train"), data.find_items(root, "valid")
    tagger = backbone.load_backbone(fusion.MODEL_DIR / backbone.MODEL_FILE)
    train = cached_embed(train_items, tagger, band_map, genres, CACHE, log=lambda m: None)
    valid = cached_embed(valid_items, tagger, band_map, genres, CACHE, log=lambda m: None)
    cnn_probs(valid, valid_items, load_cnn(CNN), genres)
    return ValidationRun(genres, tagger, band_map, train_items, valid_items, train, valid)


def from_command_line(doc: str, flags: dict[str, str] | None = None):
    """Parse a bench's ``--data`` and its on/off ``flags`` (name -> help), say which CPU measures,
    and ``load`` the run: returns (the run, the parsed arguments)."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--data", default=str(DATA))
    for name, help_text in (flags or {}).items():
        parser.add_argument(f"--{name}", action="store_true", help=help_text)
    args = parser.parse_args()
    print(f"measured on {machine.cpu()}")
    return load(args.data), args
