"""Do the musicnn wheel's other networks raise the fused model's held-out accuracy, and at what cost?

Prints figures; asserts nothing. Run after the card's validation run (``runs/ens3``, and
``runs/fused`` with ``--cache runs/emb-cache``)::

    python -m bench.backbones --data ../shared/data/gtzan          # embed (cached), then the table
    python -m bench.backbones --data ../shared/data/gtzan --time   # the same, with ms per patch

The wheel (``musicnn==0.1.0``) holds four networks: MSD_musicnn (shipped), MTT_musicnn (the
same architecture trained on MagnaTagATune), and two VGG-like CNNs (5 conv 3x3 blocks of 128
filters) trained on MSD and MTT. Each is run as its original TF1 graph
(``genre.training.musicnn.OriginalGraph``) on exactly the patches the shipped model sees: the
clean-audio patches of every audio file and the image-path patches (``band_map.patches``) of
every file, with the band map fitted on the training audio. The embedding is musicnn's 200-d
penultimate layer or the VGG's flattened pool5 (2 x 1 x 128 = 256-d). Each network's
embeddings are cached per file in ``runs/backbones/<network>/<kind>-<id>.npz``.

Every variant swaps (``alone``) or concatenates (``+``, stacked) only the embeddings the heads see;
the tags the "unsure" rules read stay MSD_musicnn's, and the CNN branch is the validation run's.
``fused with`` keeps MSD_musicnn's heads and gives the other network heads of its own, fused as
two more branches (``audio2``, ``image2``) whose weights the fusion chooses like the others'
(the bench extends ``fusion.BRANCHES`` while it measures; the distance test stays MSD_musicnn's).
The held-out protocol of ``genre/training/heldout.py`` measures each variant on the valid list,
as for the shipped model.

``--time`` measures each network's milliseconds per 3-s patch on this CPU with 2 threads
(batches of ``backbone.BATCH``, the networks taking turns), beside the load average: the original
graphs, and MSD_musicnn's Keras port (``backbone.load_backbone``, TensorFlow) for scale.
"""
from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from genre import audio, backbone, bands, fusion
from genre.prediction import clip_windows, heard_clips
from genre.training import data
from genre.training import musicnn as mi
from genre.training import calibration, evaluate_fusion
from genre.training.calibration import reference
from genre.training.embed import Song, branch_logp, save_npz
from genre.training.evaluate import windows_of
from genre.training.heads import fit_heads
from genre.training.heldout import L2_CHOICES, held_out
from genre.verdict import GENRES
from tests.support import ROOT, machine

from . import validation
from .validation import CACHE, DATA

OUT = ROOT / "runs" / "backbones"  # <network>/<kind>-<id>.npz
SHIPPED = "MSD_musicnn"
POOL5 = "model/max_pooling2d_4/MaxPool:0"  # the VGG's last pooling: (n, 2, 1, 128)
NETWORKS = {"MTT_musicnn": mi.EMBEDDING_TENSOR, "MSD_vgg": POOL5, "MTT_vgg": POOL5}
THREADS = 2  # the app's machine: two cores
TIME_PATCHES = 40  # patches timed per network, after one warm-up batch
TIME_REPEATS = 5  # rounds, each network's best kept


def wheel_path(arg: str | None, tmp: Path) -> Path:
    if arg:
        return Path(arg)
    # the wheel a test run of this user fetched (never another user's: its graph is run), else a fresh one
    mine = Path(tempfile.gettempdir()) / f"pytest-of-{getpass.getuser()}"
    found = sorted(p for p in mine.glob("pytest-*/wheel*/musicnn-0.1.0-*.whl") if p.stat().st_uid == os.getuid())
    return found[-1] if found else mi.download_wheel(tmp)


def graph(wheel: Path, name: str, tmp: Path, threads: int | None = THREADS) -> mi.OriginalGraph:
    folder = tmp / name
    folder.mkdir(exist_ok=True)
    prefix, _ = mi.extract_checkpoint(wheel, folder, f"musicnn/{name}/")
    return mi.OriginalGraph(prefix, NETWORKS.get(name, mi.EMBEDDING_TENSOR), threads=threads)


def views(item: data.Item, band_map: bands.BandMap) -> tuple[np.ndarray | None, np.ndarray]:
    """(clean-audio patches or None, image-path patches) of a file, as ``embed.embed`` makes them."""
    if item.kind == "mel-image":
        return None, band_map.patches(windows_of(item))
    samples = audio.decode(item.path)
    starts, windows = clip_windows(samples)
    _, heard = heard_clips(samples, starts)
    return np.stack([backbone.patch(c) for c in heard]), band_map.patches(windows)


def run(net, patches: np.ndarray) -> np.ndarray:
    return np.concatenate([net(patches[i:i + backbone.BATCH])[1] for i in range(0, len(patches), backbone.BATCH)])


def embed_networks(names, items, band_map, wheel: Path, tmp: Path, genres) -> None:
    """Cache every network's embeddings of every file not yet cached."""
    nets, started, done = {}, time.time(), 0
    for n, item in enumerate(items, 1):
        if item.genre not in genres:
            continue
        missing = [m for m in names if not (OUT / m / f"{item.kind}-{item.id}.npz").exists()]
        if not missing:
            continue
        clean, image = views(item, band_map)
        for m in missing:
            if m not in nets:
                nets[m] = graph(wheel, m, tmp)
            arrays = {"image_emb": run(nets[m], image)}
            if clean is not None:
                arrays["audio_emb"] = run(nets[m], clean)
            (OUT / m).mkdir(parents=True, exist_ok=True)
            save_npz(OUT / m / f"{item.kind}-{item.id}.npz", **arrays)
        done += 1
        if done % 50 == 0:
            print(f"embedded {done} files ({n}/{len(items)}, {time.time() - started:.0f} s)", flush=True)
    if done:
        print(f"embedded {done} files with {', '.join(names)} in {time.time() - started:.0f} s", flush=True)


def variant(songs: list[Song], names: list[str]) -> list[Song]:
    """``songs`` (MSD_musicnn's) with their embeddings replaced by ``names``' concatenated ones."""
    out = []
    for s in songs:
        parts = []
        for m in names:
            if m == SHIPPED:
                parts.append((s.image_emb, s.audio_emb))
            else:
                with np.load(OUT / m / f"{s.kind}-{s.id}.npz") as z:
                    parts.append((z["image_emb"], z["audio_emb"] if "audio_emb" in z.files else None))
        image = np.concatenate([p[0] for p in parts], axis=1)
        clean = None if s.audio_emb is None else np.concatenate([p[1] for p in parts], axis=1)
        # both heads read these embeddings here (this bench compares embeddings, not the pool)
        out.append(Song(s.id, s.label, s.kind, image, clean, s.tags, cnn=s.cnn, image_pool=image, audio_pool=clean))
    return out


def with_second(songs: list[Song], name: str) -> list[Song]:
    """``songs`` (MSD_musicnn's) carrying ``name``'s embeddings as ``second`` = (image, audio)."""
    out = []
    for s, o in zip(songs, variant(songs, [name])):
        # MSD_musicnn's heads stay as shipped, each reading its own output (the audio head the pool)
        s = Song(s.id, s.label, s.kind, s.image_emb, s.audio_emb, s.tags, cnn=s.cnn, image_pool=s.image_pool,
                 audio_pool=s.audio_pool)
        s.second = (o.image_emb, o.audio_emb)
        out.append(s)
    return out


def fused_logp(song: Song, head_models: dict, cnn_name: str = "cnn") -> dict:
    """``embed.branch_logp`` plus the second network's heads as branches ``image2`` and ``audio2``."""
    out = branch_logp(song, head_models, cnn_name)
    image, clean = song.second
    out["image2"] = fusion.head_logp(head_models["image2"], image)
    if clean is not None:
        out["audio2"] = fusion.head_logp(head_models["audio2"], clean)
    return out


@contextlib.contextmanager
def two_networks():
    """The fusion with two more branches, for as long as the block runs."""
    saved = dict(fusion.BRANCHES)
    fusion.BRANCHES.update(audio=saved["audio"] + ("audio2", "image2"), image=saved["image"] + ("image2",))
    calibration.branch_logp = evaluate_fusion.branch_logp = fused_logp
    try:
        yield
    finally:
        fusion.BRANCHES.update(saved)
        calibration.branch_logp = evaluate_fusion.branch_logp = branch_logp


def port_check(wheel: Path, tmp: Path) -> float:
    """Largest difference (tags or embedding) between the Keras port (``backbone.build_backbone``)
    loaded with MTT_musicnn's checkpoint and its original graph, on ``musicnn.probe_patches``."""
    folder = tmp / "port"
    folder.mkdir(exist_ok=True)
    prefix, _ = mi.extract_checkpoint(wheel, folder, "musicnn/MTT_musicnn/")
    network = backbone.build_backbone()
    mi.load_weights(network, mi.reader(prefix))
    probe = mi.probe_patches()
    ours = network.predict(probe, verbose=0)
    tags, embedding = mi.OriginalGraph(prefix)(probe)
    return max(float(np.abs(ours["tags"] - tags).max()), float(np.abs(ours["embedding"] - embedding).max()))


def timings(names, wheel: Path, tmp: Path) -> dict[str, str]:
    """ms per patch of each network (original graph) and of MSD_musicnn's Keras port.

    The networks take turns, ``TIME_REPEATS`` rounds, and each keeps its best round: a burst of
    other work on the machine then slows one round of every network, not one network.
    """
    rng = np.random.default_rng(0)
    probe = mi.probe_patches()
    patches = np.concatenate([probe] * (TIME_PATCHES // len(probe)))
    patches = patches + rng.normal(0, 0.01, patches.shape).astype(np.float32)
    nets = {"port": backbone.load_backbone(fusion.MODEL_DIR / backbone.MODEL_FILE)}
    nets.update({m: graph(wheel, m, tmp) for m in (SHIPPED, *names)})
    for net in nets.values():
        run(net, patches[:backbone.BATCH])  # warm up
    loads, best = [os.getloadavg()[0]], dict.fromkeys(nets, np.inf)
    for _ in range(TIME_REPEATS):
        for m, net in nets.items():
            started = time.perf_counter()
            run(net, patches)
            best[m] = min(best[m], 1000 * (time.perf_counter() - started) / len(patches))
        loads.append(os.getloadavg()[0])
    print(f"ms per 3-s patch, {THREADS} threads, batches of {backbone.BATCH}, {len(patches)} patches, best of "
          f"{TIME_REPEATS} rounds taken in turn; load average {min(loads):.2f}-{max(loads):.2f} (this bench's "
          f"own 2 threads included); {SHIPPED}'s Keras port {best.pop('port'):.1f} ms, "
          f"original graphs: " + ", ".join(f"{m} {v:.1f}" for m, v in best.items()), flush=True)
    return {m: f"{v:.1f}" for m, v in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--wheel", help="the musicnn-0.1.0 wheel (default: a test run's copy, else downloaded)")
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--embed-only", action="store_true", help="cache the embeddings, measure nothing")
    parser.add_argument("--fused-only", action="store_true", help="only the late-fusion rows")
    parser.add_argument("--time", action="store_true", help="also measure ms per patch (run it on a quiet machine)")
    args = parser.parse_args()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    genres, names = list(GENRES), args.networks
    print(f"measured on {machine.cpu()}")
    with tempfile.TemporaryDirectory(prefix="genre-backbones-") as tmp:
        tmp = Path(tmp)
        wheel = wheel_path(args.wheel, tmp)
        band_map = bands.BandMap.load(CACHE / fusion.BAND_MAP_FILE)
        train_items, valid_items = data.find_items(args.data, "train"), data.find_items(args.data, "valid")
        embed_networks(names, train_items + valid_items, band_map, wheel, tmp, genres)
        if args.embed_only:
            return
        if "MTT_musicnn" in names and not args.fused_only:
            print(f"MTT_musicnn through the Keras port vs its original graph: within {port_check(wheel, tmp):.1e}")
        cost = timings(names, wheel, tmp) if args.time else {}
    os.nice(19 - os.nice(0))  # what follows is no timing: let every other process go first

    run = validation.load(args.data)  # every file is cached: the backbone never runs
    train, valid, base = run.train, run.valid, run.base_unsure()
    print(f"{sum(s.audio_emb is not None for s in valid)} valid audio files, "
          f"{sum(s.kind == 'mel-image' for s in valid)} valid images; {PROTOCOL_NOTE}")
    print("| variant | width | audio % (halves) | images % (halves) | audio: sure of / right when sure "
          "| images: sure of / right when sure | ms per patch |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rows = [[SHIPPED]] + [[m] for m in names] + [[SHIPPED, m] for m in names]
    if len(names) > 1:
        rows.append([SHIPPED, *names])
    if args.fused_only:
        rows = []
    shipped = {l2: fit_heads(train, len(genres), l2=l2) for l2 in L2_CHOICES}

    def line(label: str, width: str, report: dict, ms: str) -> None:
        a, i = report["audio"], report["image"]
        ha = " / ".join(f"{100 * h['audio']['accuracy']:.1f}" for h in report["halves"])
        hi = " / ".join(f"{100 * h['image']['accuracy']:.1f}" for h in report["halves"])
        print(f"| {label} | {width} | {100 * a['accuracy']:.1f} ({ha}) "
              f"| {100 * i['accuracy']:.1f} ({hi}) | {a['coverage']:.2f} / {100 * a['accuracy_sure']:.1f} "
              f"| {i['coverage']:.2f} / {100 * i['accuracy_sure']:.1f} | {ms} |", flush=True)

    for row in rows:
        tr, va = variant(train, row), variant(valid, row)
        fitted = {l2: fit_heads(tr, len(genres), l2=l2) for l2 in L2_CHOICES}
        line(" + ".join(row), str(tr[0].image_emb.shape[1]), held_out(va, fitted, reference(tr), base, log=lambda m: None),
             " + ".join(cost.get(m, "-") for m in row))
    for m in names:
        tr, va = with_second(train, m), with_second(valid, m)
        fitted = {}
        for l2 in L2_CHOICES:  # both networks' heads with the same L2, chosen on the selection half
            second = fit_heads(variant(train, [m]), len(genres), l2=l2)
            fitted[l2] = {**shipped[l2], "audio2": second["audio"], "image2": second["image"]}
        ref = reference(tr)
        with two_networks():
            report = held_out(va, fitted, ref, base, log=print)
        line(f"{SHIPPED} fused with {m}", f"200, {tr[0].second[0].shape[1]}", report,
             " + ".join(cost.get(n, "-") for n in (SHIPPED, m)))


PROTOCOL_NOTE = "heads on the train list, everything after them chosen on one half of valid, reported on the other"

if __name__ == "__main__":
    main()
