"""``python -m genre tag``: a library of generated songs (and broken files), resumed, tagged, on Ray."""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import mutagen
import pytest

from tests.support import ROOT, skip_or_fail
from tests.support.library import FORMATS, add, audio_md5 as decoded_md5, make_song, on_terminal, rows
from tests.support.sounds import SR, encode
from genre import GENRES, cli
from genre.tag import write as tagwrite
from genre.tag.ledger import Ledger, LedgerError
from genre.tag.walk import Problem, walk

@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> dict[str, Path]:
    """One short song per format, made once; tests copy them."""
    folder = tmp_path_factory.mktemp("songs")
    return {name: make_song(name, folder) for name in FORMATS}


@pytest.fixture
def library(tmp_path, songs) -> Path:
    """Songs in nested folders, a truncated MP3, text named .mp3, an empty file, a cover, a loop."""
    lib = tmp_path / "library"
    (lib / "album" / "disc 2").mkdir(parents=True)
    for i, (name, path) in enumerate(songs.items()):
        shutil.copy(path, lib / ("album" if i % 2 else "album/disc 2") / name)
    data = songs["tone.mp3"].read_bytes()
    (lib / "truncated.mp3").write_bytes(data[:len(data) // 3])
    (lib / "not audio.mp3").write_text("this is a text file named like a song\n")
    (lib / "empty.mp3").write_bytes(b"")
    (lib / "album" / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    (lib / "album" / "notes.txt").write_text("liner notes")
    (lib / "album" / "loop").symlink_to(lib / "album")
    return lib


def run(*args, timeout=600):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "genre", "tag", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=timeout)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {os.path.join(top, name): Path(top, name).read_bytes()
            for top, _, names in os.walk(folder) for name in names if not Path(top, name).is_symlink()}


AUDIO_LIKE = 6 + 3  # the six songs, the truncated MP3, the text and the empty file named .mp3


@pytest.mark.slow  # starts worker processes: several seconds
def test_rows_and_errors_line_by_line_on_two_workers(library, tiny_model_path, tmp_path):
    out = tmp_path / "out.jsonl"
    done = run(library, "--out", out, "--workers", 2, "--model", tiny_model_path)
    assert done.returncode == 1, done.stderr  # two files named .mp3 are not audio
    assert "Traceback" not in done.stderr and "\r" not in done.stderr  # no bar off a terminal
    found = {Path(r["path"]).name: r for r in rows(out)}
    assert len(rows(out)) == len(found) == AUDIO_LIKE
    for name in FORMATS:
        row = found[name]
        assert {"path", "size", "mtime", "sha256", "file", "genre", "confidence", "probabilities",
                "tags", "unsure", "clips"} <= set(row), name
        assert row["size"] == os.path.getsize(row["path"]) and len(row["sha256"]) == 64
        assert abs(sum(row["probabilities"].values()) - 1) < 1e-4
    assert "empty" in found["empty.mp3"]["error"]
    assert "audio" in found["not audio.mp3"]["error"]
    cut, whole = found["truncated.mp3"], found["tone.mp3"]  # MP3 is frames: its first third still plays
    assert "error" not in cut and cut["genre"] in GENRES and 0 < cut["duration"] < whole["duration"]
    assert "2 other file(s) skipped" in done.stderr and "loop" in done.stderr
    assert f"{AUDIO_LIKE} song(s) analysed" in done.stderr and "genres (sure):" in done.stderr


@pytest.mark.slow  # starts worker processes: several seconds
def test_a_silent_or_too_short_track_is_refused_not_failed(tmp_path, songs, tiny_model_path):
    """A hidden track of silence or a 0.7-s sting is part of a library, not a fault: a cron job's
    run over it still exits 0, and the row and the summary say it was refused."""
    import numpy as np

    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(songs["tone.mp3"], lib / "song.mp3")
    encode(np.zeros(6 * SR, np.float32), lib / "99 hidden track.flac")
    encode(0.2 * np.sin(np.arange(int(0.7 * SR)) / 7.0).astype(np.float32), lib / "sting.ogg",
           args=["-c:a", "libvorbis"])
    out = tmp_path / "out.jsonl"
    done = run(lib, "--out", out, "--workers", 1, "--model", tiny_model_path)
    assert done.returncode == 0, done.stderr
    found = {Path(r["path"]).name: r for r in rows(out)}
    assert "silent" in found["99 hidden track.flac"]["error"] and "s is needed" in found["sting.ogg"]["error"]
    assert found["99 hidden track.flac"]["refused"] is found["sting.ogg"]["refused"] is True
    assert "refused" not in found["song.mp3"] and found["song.mp3"]["genre"] in GENRES
    assert "0 failed" in done.stderr and "2 refused: too short or silent to judge" in done.stderr
    (lib / "broken.mp3").write_bytes(b"ID3" + bytes(500))  # a fault, unlike the two: the next run exits 1
    again = run(lib, "--out", out, "--workers", 1, "--model", tiny_model_path)
    assert again.returncode == 1 and "1 failed" in again.stderr and "3 already in the results" in again.stderr
    assert f"warning: {lib / 'broken.mp3'}: " in again.stderr  # the fault is named, not only counted
    assert "warning" not in done.stderr  # a refusal is counted, not warned of
    assert "refused" not in {Path(r["path"]).name: r for r in rows(out)}["broken.mp3"]
    table = tmp_path / "out.csv"  # the CSV says it too, and reads it back
    assert run(lib, "--out", table, "--workers", 1, "--model", tiny_model_path).returncode == 1
    with open(table, newline="") as f:
        cells = {Path(r["path"]).name: r["refused"] for r in csv.DictReader(f)}
    assert cells == {"song.mp3": "", "99 hidden track.flac": "True", "sting.ogg": "True", "broken.mp3": ""}
    ledger = Ledger(table, list(GENRES), write=False)
    assert ledger.row(str(lib / "sting.ogg")).refused is True and ledger.row(str(lib / "song.mp3")).refused is False


@pytest.mark.slow  # starts worker processes: several seconds
@pytest.mark.parametrize("columns", [0, 100])  # 0: a terminal that does not say its size (script, some CI)
def test_a_terminal_gets_a_progress_bar_with_an_eta(library, tiny_model_path, tmp_path, columns):
    status, text = on_terminal(["tag", library / "album", "--workers", "1", "--model", tiny_model_path], columns)
    assert status == 0, text
    assert re.search(r"100%\|.*\| 6/6 \[\d\d:\d\d<\d\d:\d\d", text), text  # the bar, the count, elapsed<ETA
    assert "6 song(s) analysed" in text


def test_paths_that_do_not_exist_are_bad_usage_and_make_no_results_file(tmp_path):
    done = run(tmp_path / "Musci", "--out", tmp_path / "out.jsonl")
    assert done.returncode == 2 and "no such file or folder" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.slow  # starts worker processes: several seconds
def test_songs_gone_since_the_last_run_are_counted_and_their_rows_kept(tmp_path, songs, tiny_model_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("a.mp3", "b.mp3"):
        shutil.copy(songs["tone.mp3"], lib / name)
    out = tmp_path / "out.jsonl"
    first = run(lib, "--out", out, "--workers", 1, "--model", tiny_model_path)
    assert first.returncode == 0 and "not found this time" not in first.stderr, first.stderr
    (lib / "b.mp3").unlink()
    with open(out, "a") as f:
        f.write("a note someone added\n")
    again = run(lib, "--out", out, "--workers", 1, "--model", tiny_model_path)
    assert again.returncode == 0 and "1 song(s) in the results not found this time" in again.stderr, again.stderr
    assert "1 line(s) that are not results removed" in again.stderr  # said, not dropped in silence
    assert {Path(r["path"]).name for r in rows(out)} == {"a.mp3", "b.mp3"}
    assert "not found this time" not in run(lib / "a.mp3", "--out", out, "--workers", 1,
                                            "--model", tiny_model_path).stderr  # only under the paths given


@pytest.mark.slow  # starts worker processes: several seconds
def test_a_dry_runs_lines_stand_above_the_bar_never_inside_it(library, tiny_model_path):
    """stdout and the bar share the terminal: each line is written on a line of its own."""
    status, text = on_terminal(["tag", library / "album", "--dry-run", "--write-tags", "--workers", "1",
                                "--model", tiny_model_path], stdout=True)
    assert status == 0, text
    said = [part for part in re.split(r"[\r\n]", text) if ": would write" in part or ", nothing written" in part]
    assert len(said) == 6 and all(part.startswith(str(library / "album")) for part in said), said


@pytest.mark.slow  # starts worker processes: several seconds
def test_csv_and_stdout(library, tiny_model_path, tmp_path):
    out = tmp_path / "out.csv"
    assert cli.main(["tag", str(library / "album"), "--out", str(out), "--workers", "1",
                     "--model", str(tiny_model_path)]) == 0
    with open(out, newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 6 and set(table[0]) >= {"path", "genre", "confidence", "unsure", "why_unsure", "reason",
                                                 "rock", "error", "size", "mtime", "sha256", "paths", "model"}
    assert all(r["genre"] and not r["error"] for r in table)
    done = run(library / "album" / "tone.opus", "--workers", 1, "--model", tiny_model_path)
    assert done.returncode == 0 and json.loads(done.stdout)["path"].endswith("tone.opus")


@pytest.mark.slow  # starts worker processes: several seconds
def test_resume_after_a_kill_analyses_each_song_once(tmp_path, songs, tiny_model_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(10):
        make_song(["tone.mp3", "melody.ogg"][i % 2].replace(".", f"{i}."), lib, seconds=8, seed=i)
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen([sys.executable, "-m", "genre", "tag", str(lib), "--out", str(out), "--workers",
                              "1", "--model", str(tiny_model_path)], cwd=ROOT, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (out.exists() and out.read_bytes().count(b"\n") >= 2):
        time.sleep(0.02)
    os.killpg(first.pid, signal.SIGKILL)  # a power cut: no handler runs
    first.wait()
    before = out.read_bytes().count(b"\n")
    assert 2 <= before < 10
    with open(out, "ab") as f:
        f.write(b'{"path": "' + str(lib).encode() + b'/half')  # the write a power cut tore
    again = run(lib, "--out", out, "--workers", 1, "--model", tiny_model_path)
    assert again.returncode == 0, again.stderr
    assert f"{before} already in the results" in again.stderr
    paths = [r["path"] for r in rows(out)]
    assert sorted(paths) == sorted(str(p) for p in lib.iterdir()) and len(set(paths)) == 10
    (lib / "tone0.mp3").write_bytes((lib / "tone2.mp3").read_bytes())  # a changed song
    os.utime(lib / "melody1.ogg")  # a touched one: same bytes
    third = run(lib, "--out", out, "--workers", 1, "--model", tiny_model_path)
    assert "1 song(s) analysed" in third.stderr and "9 already" in third.stderr
    final = rows(out)
    assert len(final) == 10 and {r["sha256"] for r in final if r["path"].endswith("tone0.mp3")} == \
        {r["sha256"] for r in final if r["path"].endswith("tone2.mp3")}


@pytest.mark.parametrize("name", list(FORMATS))
def test_tag_written_read_back_audio_unchanged(name, songs, tmp_path):
    path = Path(shutil.copy(songs[name], tmp_path / name))
    sound = decoded_md5(path)
    assert tagwrite.read_genre(path) is None
    assert tagwrite.write_genre(path, "hiphop", dry_run=True).action == "would write"
    assert tagwrite.read_genre(path) is None
    added = {"id3v2": False} if name.endswith(".wav") else {}  # ffmpeg's WAV has no ID3 chunk: the write adds it
    assert tagwrite.write_genre(path, "hiphop").record() == {"action": "written", "old": None, "new": "Hip-Hop",
                                                            "replaced": {"genre": [], "source": None, **added}}
    assert tagwrite.read_genre(path) == "Hip-Hop"
    assert mutagen.File(path).tags is not None
    assert tagwrite.write_genre(path, "rock").record() == {"action": "kept", "old": "Hip-Hop", "new": "Rock"}
    assert tagwrite.write_genre(path, "rock", overwrite=True).action == "written"
    assert tagwrite.read_genre(path) == "Rock"
    assert decoded_md5(path) == sound
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".genre-")]
    path.chmod(0o444)  # a dry run says what the real run would meet
    said = tagwrite.write_genre(path, "jazz", overwrite=True, dry_run=True)
    assert said.action == "failed" and "read-only" in said.error


@pytest.mark.slow  # starts worker processes: several seconds
def test_write_tags_from_the_command_and_dry_run(library, tiny_model_path, tmp_path, capsys):
    album = library / "album"
    tagwrite.write_genre(album / "noise.flac", "jazz")  # a genre already there
    before = snapshot(library)
    sounds = {p: decoded_md5(Path(p)) for p in before if Path(p).name in FORMATS}
    assert len(sounds) == len(FORMATS)
    out = tmp_path / "dry.jsonl"
    argv = ["tag", str(album), "--workers", "1", "--model", str(tiny_model_path)]
    assert cli.main([*argv, "--write-tags", "--dry-run", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert snapshot(library) == before and not out.exists()
    assert re.search(r"noise\.flac: ((kept|same): 'Jazz'|unsure)", said), said
    out = tmp_path / "out.jsonl"
    assert cli.main([*argv, "--write-tags", "--out", str(out)]) == 0
    for row in rows(out):
        now = tagwrite.read_genre(row["path"])
        if row["path"].endswith("noise.flac"):
            assert now == "Jazz" and row["tag"]["action"] in ("kept", "same", "unsure")
        elif row["unsure"]:
            assert now is None and row["tag"]["action"] == "unsure"
        else:
            assert now == tagwrite.tag_value(row["genre"]) and row["tag"]["action"] == "written"
            assert row["sha256"] != "" and row["size"] == os.path.getsize(row["path"])
    assert all(decoded_md5(Path(p)) == md5 for p, md5 in sounds.items())
    assert cli.main([*argv, "--write-tags", "--out", str(out)]) == 0  # a resume: tagged files are done
    assert "0 song(s) analysed" in capsys.readouterr().err


@pytest.mark.slow  # starts worker processes: several seconds
@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_write_tags_later_uses_the_stored_verdicts(suffix, library, tiny_model_path, tmp_path, capsys):
    album, out = library / "album", tmp_path / f"out.{suffix}"
    argv = ["tag", str(album), "--workers", "1", "--model", str(tiny_model_path), "--out", str(out)]
    assert cli.main(argv) == 0
    assert all(tagwrite.read_genre(p) is None for p in album.rglob("*") if p.name in FORMATS)
    touched = sorted(p for p in album.rglob("*") if p.name in FORMATS)[0]
    later = touched.stat().st_mtime_ns + 5 * 10**9
    os.utime(touched, ns=(later, later))  # touched since (a backup restore, a sync): the same bytes
    capsys.readouterr()
    assert cli.main([*argv, "--write-tags", "--dry-run"]) == 0  # says what the real run will do
    err = capsys.readouterr().err
    assert "0 song(s) analysed" in err and "6 from earlier results" in err, err
    assert cli.main([*argv, "--write-tags"]) == 0
    err = capsys.readouterr().err
    assert "0 song(s) analysed" in err and "6 from earlier results" in err, err
    if suffix == "jsonl":
        final = {r["path"]: r for r in rows(out)}
    else:
        with open(out, newline="") as f:
            final = {r["path"]: r for r in csv.DictReader(f)}
    assert len(final) == 6
    for path, row in final.items():
        sure = row["unsure"] in (False, "False")
        assert tagwrite.read_genre(path) == (tagwrite.tag_value(row["genre"]) if sure else None)
    assert cli.main([*argv, "--write-tags"]) == 0  # all settled: nothing written, and it says so
    assert "tags: none left to write" in capsys.readouterr().err


@pytest.mark.slow  # starts worker processes: several seconds
def test_unreadable_folder_is_reported_not_fatal(library, tiny_model_path, monkeypatch, capsys):
    locked = library / "album" / "disc 2"
    listdir = os.listdir

    def refuse(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied")
        return listdir(path)

    monkeypatch.setattr(os, "listdir", refuse)  # root ignores chmod 000; this is what a user sees
    status = cli.main(["tag", str(library), "--workers", "1", "--model", str(tiny_model_path)])
    captured = capsys.readouterr()
    assert status == 1 and "disc 2: Permission denied" in captured.err
    assert len(captured.out.splitlines()) == AUDIO_LIKE - 3  # disc 2 held three songs


def test_walk_reports_problems_and_skips_what_is_not_audio(library):
    problems, skipped = [], []
    found = [Path(e.path).name for e in walk([library, library / "gone.mp3"], problems.append, skipped.append)]
    assert len(found) == AUDIO_LIKE and "cover.jpg" not in found
    assert sorted(Path(s).name for s in skipped) == ["cover.jpg", "notes.txt"]
    assert {p.kind for p in problems} == {"loop", "unreadable"}
    assert isinstance(problems[0], Problem)


def test_ledger_repairs_a_torn_line_and_drops_damage(tmp_path):
    path = tmp_path / "out.jsonl"
    good = {"path": "/a.mp3", "size": 1, "mtime": 2.5, "sha256": "x", "genre": "rock"}
    path.write_text(json.dumps(good) + "\n" + "\x00\x00garbage\n" + json.dumps({**good, "path": "/b"})[:20])
    ledger = Ledger(path, ["rock"])
    assert ledger.known("/a.mp3", 1, 2.5) and not ledger.known("/a.mp3", 1, 3.0) and len(ledger) == 1
    assert ledger.repaired == 20 and ledger.dropped == 1
    add(ledger, {**good, "path": "/c.mp3"})
    ledger.close()
    assert [r["path"] for r in rows(path)] == ["/a.mp3", "/c.mp3"]
    bad_csv = tmp_path / "x.csv"
    bad_csv.write_text("path,genre\n")
    with pytest.raises(LedgerError):
        Ledger(bad_csv, ["rock"])


@pytest.mark.parametrize("args", [["tag"], ["tag", "x", "--workers", "0"], ["tag", "x", "--out", "r.parquet"],
                                  ["tag", "--undo", "--write-tags", "--out", "r.jsonl"]])
def test_bad_usage_exits_2(args):
    done = subprocess.run([sys.executable, "-m", "genre", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 2 and ("usage" in done.stderr or "--ray" in done.stderr)



def test_ray_missing_is_said_before_any_results_file(library, tmp_path):
    """Without Ray, --ray says what to install and leaves no empty results file behind."""
    out = tmp_path / "r.jsonl"
    no_ray = ("import sys; sys.modules['ray'] = None; from genre.cli import main; "  # import ray -> ImportError
              f"sys.exit(main(['tag', {str(library / 'album')!r}, '--ray', '--out', {str(out)!r}]))")
    done = subprocess.run([sys.executable, "-c", no_ray], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "--ray needs Ray: pip install -r requirements-scale.txt" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def _in_loopback_namespace(*args, wait: bool = True, stderr=None):
    """Ray in a network namespace with only loopback: there it binds 127.0.0.1, never the LAN.
    ``wait=False``: the running process (``exec`` keeps its pid the one signals reach), its
    stderr to the file ``stderr``."""
    command = " ".join(f"'{a}'" for a in [sys.executable, "-m", "genre", "tag", *map(str, args)])
    argv = ["unshare", "-n", "sh", "-c", f"ip link set lo up && exec {command}"]
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}  # as a user's shell has it
    env.update(PYTHONPATH=str(ROOT), RAY_USAGE_STATS_ENABLED="0")
    if not wait:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr, cwd=ROOT, env=env)
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=900, env=env)


def _needs_ray_namespace():
    try:
        import ray.data  # noqa: F401
    except ImportError:
        skip_or_fail("Ray Data is not installed (requirements-scale.txt)")
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        skip_or_fail("it needs root, unshare and ip for a loopback-only network namespace")


@pytest.mark.slow
def test_ray_run_equals_the_plain_run(library, tiny_model_path, tmp_path):
    _needs_ray_namespace()
    plain, on_ray, parquet = tmp_path / "plain.jsonl", tmp_path / "ray.jsonl", tmp_path / "ray.parquet"
    assert run(library, "--out", plain, "--workers", 1, "--model", tiny_model_path).returncode == 1
    done = _in_loopback_namespace(library, "--out", on_ray, "--ray", "--model", tiny_model_path)
    assert done.returncode == 1, done.stderr[-3000:]
    expected, got = ({r["path"]: r for r in rows(p)} for p in (plain, on_ray))
    assert expected.keys() == got.keys() and len(got) == AUDIO_LIKE
    for path, row in expected.items():
        if "error" in row:
            assert got[path]["error"] == row["error"]
            continue
        assert got[path]["genre"] == row["genre"] and got[path]["sha256"] == row["sha256"]
        assert max(abs(got[path]["probabilities"][g] - p) for g, p in row["probabilities"].items()) <= 1e-6
    done = _in_loopback_namespace(library, "--out", parquet, "--ray", "--model", tiny_model_path)
    import pyarrow.parquet as pq

    table = pq.read_table(parquet).to_pylist()
    assert {r["path"] for r in table} == set(expected) and done.returncode == 1
    assert all(json.loads(r["record"])["path"] == r["path"] for r in table)


@pytest.mark.slow  # worker processes, then Ray
def test_a_name_that_is_not_utf8_is_a_song_like_any_other(tmp_path, songs, tiny_model_path):
    """A Latin-1 name (b'caf\\xe9.mp3') crashed every run at its row (JSON, CSV and Arrow take only
    UTF-8), after its tag was written: now its row is kept, read back, resumed and tagged."""
    lib = tmp_path / "lib"
    lib.mkdir()
    odd = lib / os.fsdecode(b"caf\xe9 \xff.mp3")  # a name Python holds with lone surrogates
    shutil.copy(songs["tone.mp3"], odd)
    shutil.copy(songs["melody.ogg"], lib / "after it.ogg")
    for out in (tmp_path / "r.jsonl", tmp_path / "r.csv"):
        done = run(lib, "--out", out, "--workers", 1, "--model", tiny_model_path, "--write-tags")
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
        found = Ledger(out, list(GENRES), write=False)
        assert set(found.index) == {str(odd), str(lib / "after it.ogg")}
        assert found.row(str(odd)).tag.action in ("written", "same", "unsure")
        again = run(lib, "--out", out, "--workers", 1, "--model", tiny_model_path)
        assert again.returncode == 0 and "0 song(s) analysed" in again.stderr and "2 already" in again.stderr
    assert b"\\udce9" in (tmp_path / "r.jsonl").read_bytes()  # valid UTF-8 JSON: the odd bytes escaped
    assert os.fsencode(str(odd)) in (tmp_path / "r.csv").read_bytes()  # the name's own bytes in its cell
    _needs_ray_namespace()
    parquet = tmp_path / "r.parquet"
    done = _in_loopback_namespace(lib, "--out", parquet, "--ray", "--model", tiny_model_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    import pyarrow.parquet as pq

    table = pq.read_table(parquet).to_pylist()
    assert {json.loads(r["record"])["path"] for r in table} == {str(odd), str(lib / "after it.ogg")}
    assert "caf\\xe9 \\xff.mp3" in {Path(r["path"]).name for r in table}  # readable, never a crash


@pytest.mark.slow
def test_sigterm_stops_a_ray_run_as_it_stops_a_plain_one(tmp_path, tiny_model_path):
    """Ray's driver takes SIGTERM for a stack dump and exit 15; the run takes it back: 143 and a summary."""
    _needs_ray_namespace()
    lib = tmp_path / "library"
    lib.mkdir()
    demos = sorted((ROOT / "assets" / "demo").glob("*.mp3"))
    for i in range(40):
        shutil.copyfile(demos[i % len(demos)], lib / f"song{i:02d}.mp3")
    out, log = tmp_path / "r.jsonl", tmp_path / "stderr.txt"
    with open(log, "wb") as stderr:
        run = _in_loopback_namespace(lib, "--ray", "--out", out, "--model", tiny_model_path, wait=False,
                                     stderr=stderr)
    try:
        deadline = time.monotonic() + 300
        while not (out.exists() and out.read_text().count("\n") >= 1):
            assert run.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    said = log.read_text(errors="replace")
    assert run.returncode == 128 + signal.SIGTERM, said[-3000:]
    assert "interrupted:" in said and "SIGTERM received" not in said
    assert 1 <= len(rows(out)) < 40
