"""Evaluating the fused model: the fusion and each branch alone, on audio and on mel images.

Files are grouped by what they are: audio (every branch can hear it) and mel images (only
the image-path head and the CNN can see them). For each group the report gives the fused
model's track- and clip-level accuracy, per-genre recall, calibration, the largest share
one genre takes of the verdicts, and "unsure" (how many songs it is sure of, and how often
it is right on those); then the same figures for each branch alone.
"""
from __future__ import annotations

import numpy as np

from . import data
from ..backbone import Heard
from ..errors import GenreError
from ..cnn import softmax
from ..fusion import BRANCHES, Branches, GenreModel
from ..verdict import NOT_MUSIC, OUTSIDE_TEN, Judgement
from .calibration import figures
from .embed import Song, branch_logp, embed


def parts_of(song: Song, model: GenreModel) -> Branches:
    """A song's branch outputs, as ``GenreModel.branches`` gives them to ``fuse`` and ``doubt``."""
    heard = Heard(tags=song.tags, embedding=song.heard(song.domain, "embedding"), pool=song.heard(song.domain, "pool"))
    return Branches(song.domain, branch_logp(song, model.heads), heard)


def evaluate_fusion(items: list[data.Item], model: GenreModel, log=print) -> dict:
    """Measure ``model`` on labelled ``items``; files that fail are counted, not fatal."""
    genres = list(model.genres)
    songs, failed = [], []
    for n, item in enumerate(items, 1):
        if item.genre not in genres:
            continue
        try:
            song = embed(item, model.tagger, model.band_map, genres.index(item.genre))
        except (GenreError, OSError, ValueError) as exc:  # one unreadable file must not stop the evaluation
            failed.append(f"{item.path.name}: {exc}")
            continue
        song.cnn["cnn"] = model.cnn.network_probs(song.windows)
        songs.append(song)
        if n % 100 == 0:
            log(f"evaluated {n}/{len(items)} files")
    return {"genres": genres, "failed": failed, **measure(songs, [model] * len(songs))}


def measure(songs: list[Song], models: list[GenreModel]) -> dict:
    """Figures per input kind for ``songs``, each judged by its own model in ``models``.

    One model for all is an evaluation; two, each judging the half of the valid list the other
    was chosen on, are the held-out figures of ``heldout.py``.
    """
    report = {}
    for domain, branches in BRANCHES.items():
        group = [(s, m) for s, m in zip(songs, models) if s.domain == domain]
        if not group:
            continue
        parts = [parts_of(s, m) for s, m in group]
        labels = np.array([s.label for s, _ in group])
        clip_labels = np.concatenate([[s.label] * len(s.image_emb) for s, _ in group])
        fused = [m.fuse(p) for p, (_, m) in zip(parts, group)]
        song_probs = np.stack([f[1] for f in fused])
        clip_probs = np.concatenate([f[0] for f in fused])
        fig = figures(song_probs, clip_probs, labels, clip_labels)
        doubts = [Judgement(f[0], f[1], p.heard.tags, p.heard.tags.mean(0)) for f, p in zip(fused, parts)]
        for verdict, p, (s, m) in zip(doubts, parts, group):
            m.doubt(verdict, p.heard.embedding, domain, s.pulse)
        sure = ~np.array([d.unsure for d in doubts])
        right = song_probs.argmax(1) == labels
        fig.update(coverage=float(sure.mean()),
                   accuracy_sure=float(right[sure].mean()) if sure.any() else None,
                   not_the_ten=int(sum(d.reason in (NOT_MUSIC, OUTSIDE_TEN) for d in doubts)))
        fig["branches"] = {b: figures(softmax(np.stack([p.logp[b][1] for p in parts])),
                                      softmax(np.concatenate([p.logp[b][0] for p in parts])), labels, clip_labels)
                           for b in branches}
        report[domain] = fig
    return report


def format_fusion_report(report: dict) -> str:
    """A plain-text report: one block per input kind, the fusion first, then each branch."""
    genres = report["genres"]
    lines = []
    for domain in BRANCHES:
        if domain not in report:
            continue
        r = report[domain]
        lines.append(f"{domain}: {r['n']} files, fused: track {r['accuracy']:.3f}, clip {r['clip_accuracy']:.3f} "
                     f"({r['clip_n']} clips), ECE {r['ece_track']:.3f}, largest genre share "
                     f"{r['largest_share']:.2f}; sure of {r['coverage']:.0%} of songs, right on "
                     + (f"{r['accuracy_sure']:.3f}" if r["accuracy_sure"] is not None else "none")
                     + f" of those ({r['not_the_ten']} called not one of the ten)")
        lines.append("  recall: " + "  ".join(f"{g} {v:.2f}" for g, v in zip(genres, r["recall"]) if v is not None))
        for b, f in r["branches"].items():
            lines.append(f"  {b:>5} alone: track {f['accuracy']:.3f}, clip {f['clip_accuracy']:.3f}")
    for failure in report.get("failed", []):
        lines.append(f"failed: {failure}")
    return "\n".join(lines)
