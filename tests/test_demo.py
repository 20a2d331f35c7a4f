"""The demo tracks the app offers: listed in demos.json, real MP3s, 30-60 s long, one for each of
the ten genres, and each one named as its genre by the shipped model (``python -m genre predict``).

The last is a behaviour test of the shipped model on the shipped demos: a demo the model names
wrong misleads everyone who tries it, so a new model, or a re-rendered demo, must pass it. A demo
may instead come back unsure with its genre as the runner-up the page names ("it could be country
(47%) or blues (40%)"): that verdict tells the person the truth, and the blues demo gets it from
the model whose audio head reads the pooled features (model/README.md).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from genre import audio
from genre.verdict import GENRES, display_name

DEMO_DIR = Path(__file__).resolve().parent.parent / "assets" / "demo"
INDEX = DEMO_DIR / "demos.json"
SR = 22050  # decode rate for the duration check; any rate works


def _entries():
    return json.loads(INDEX.read_text(encoding="utf-8"))["demos"]


ENTRIES = _entries() if INDEX.exists() else []
IDS = [e.get("file", "?") for e in ENTRIES]


def test_index_lists_demos():
    assert INDEX.exists(), "assets/demo/demos.json is missing"
    assert len(ENTRIES) >= 1
    files = [e["file"] for e in ENTRIES]
    assert len(files) == len(set(files)), "a file is listed twice"


def test_one_demo_for_each_of_the_ten_genres():
    genres = [e["genre"] for e in ENTRIES]
    assert len(genres) == len(set(genres)), f"a genre has two demos: {sorted(genres)}"
    assert set(genres) == set(GENRES), f"missing: {sorted(set(GENRES) - set(genres))}"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_entry_fields(entry):
    for key, kind in {"file": str, "title": str, "genre": str, "description": str}.items():
        assert isinstance(entry.get(key), kind) and entry[key].strip(), f"{key} missing or empty"
    assert isinstance(entry.get("duration_s"), (int, float))
    assert 30 <= entry["duration_s"] <= 60
    assert entry["genre"] in GENRES
    assert "/" not in entry["file"] and "\\" not in entry["file"], "files are named relative to assets/demo"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_file_is_an_mp3(entry):
    path = DEMO_DIR / entry["file"]
    assert path.is_file(), f"{path} is listed but missing"
    size = path.stat().st_size
    assert 50_000 < size < 1_100_000, f"unexpected size {size} bytes"
    head = path.read_bytes()[:4]
    assert head[:3] == b"ID3" or (head[0] == 0xFF and head[1] & 0xE0 == 0xE0), "no ID3 tag or MPEG frame sync"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_decodes_to_expected_duration(entry):
    ffmpeg = audio.ffmpeg_path()
    path = DEMO_DIR / entry["file"]
    out = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(SR), "-"],
        capture_output=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    assert not out.stderr.strip(), out.stderr.decode(errors="replace")
    seconds = len(out.stdout) / 2 / SR
    assert 30.0 <= seconds <= 60.0, f"decoded duration {seconds:.1f} s"
    assert abs(seconds - entry["duration_s"]) < 1.0, "demos.json duration disagrees with the file"


@pytest.mark.slow
def test_the_shipped_model_names_every_demo_as_its_genre_or_doubts_it_between_it_and_another():
    """One ``python -m genre predict --json`` over every demo, as a person would run it."""
    files = [str(DEMO_DIR / e["file"]) for e in ENTRIES]
    out = subprocess.run([sys.executable, "-m", "genre", "predict", "--json", *files],
                         capture_output=True, text=True, timeout=600, cwd=DEMO_DIR.parent.parent)
    assert out.returncode == 0, out.stderr[-2000:]
    verdicts = {Path(r["file"]).name: r for r in map(json.loads, out.stdout.splitlines())}

    def runner_up(r: dict) -> str:
        return sorted(r["probabilities"], key=r["probabilities"].get)[-2]

    wrong = {e["file"]: f"{verdicts[e['file']]['genre']} {verdicts[e['file']]['confidence']:.0%}"
             for e in ENTRIES if verdicts[e["file"]]["genre"] != e["genre"]
             and not (verdicts[e["file"]]["unsure"] and runner_up(verdicts[e["file"]]) == e["genre"]
                      and display_name(e["genre"]) in verdicts[e["file"]]["why_unsure"])}
    for e in ENTRIES:
        print(f"{e['file']:16} {verdicts[e['file']]['genre']:10} {verdicts[e['file']]['confidence']:.0%}")
    assert not wrong, f"demos named wrong: {wrong}"
