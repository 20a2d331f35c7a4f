"""``python -m genre tag`` run as a user would, on a library built to trip it, with real signals.

Links to songs outside the library, two links to one song, a FIFO, a read-only song, an empty file
and copies a killed run left; a worker killed with SIGKILL and a song that hangs; Ctrl-C and
SIGTERM during ``--write-tags``; two runs on one ``--out``; ``--undo``; and no TensorFlow lines.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import mutagen
import pytest

from tests.support import ROOT, skip_or_fail
from tests.support.library import add, make_song, on_terminal, rows, sound, tag
import genre
from genre import audio, cli
from genre.logs import LOG_LINE
from genre.tag import walk, write

TF_WORDS = re.compile(r"cuda|cuInit|absl|oneDNN|tensorflow|TF_ENABLE", re.IGNORECASE)


def tf_lines(stderr: str) -> list[str]:
    """TensorFlow's, absl's and CUDA's log lines in a run's stderr."""
    return [line for line in stderr.splitlines() if LOG_LINE.match(line.encode()) or TF_WORDS.search(line)]


def copies(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*") if walk.is_temp(p.name)]


@pytest.fixture(scope="module")
def slow_ffmpeg(tmp_path_factory) -> Path:
    """An ffmpeg that waits ``GENRE_TEST_DELAY`` seconds first, and hangs on a file named *HANGME*."""
    script = tmp_path_factory.mktemp("ffmpeg") / "ffmpeg"
    script.write_text(f'#!/bin/sh\ncase "$*" in *HANGME*) exec sleep 120;; esac\n'
                      f'sleep "${{GENRE_TEST_DELAY:-0}}"\nexec "{audio.ffmpeg_path()}" "$@"\n')
    script.chmod(0o755)
    return script


def start(*args, env: dict) -> subprocess.Popen:
    """A ``tag`` run in a session of its own (so its process group can be signalled)."""
    return subprocess.Popen([sys.executable, "-m", "genre", "tag", *map(str, args)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **env}, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_rows(out: Path, n: int, run: subprocess.Popen, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not (out.exists() and out.read_bytes().count(b"\n") >= n):
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.05)


def workers_of(pid: int) -> list[int]:
    """The worker processes of the run ``pid`` (spawned children)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid and b"spawn_main" in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


@pytest.fixture(scope="module")
def tagged(tmp_path_factory, tiny_model_path):
    """A library built to trip a tagger, tagged once with --write-tags on two workers."""
    base = tmp_path_factory.mktemp("safety")
    lib, outside = base / "library", base / "outside"
    (lib / "album").mkdir(parents=True), outside.mkdir()
    for i, name in enumerate(["tone.mp3", "noise.flac", "melody.ogg", "tone.opus"]):
        make_song(name, lib / "album", seconds=3.0, seed=i)
    make_song("melody.m4a", outside, seconds=3.0, seed=5)
    make_song("tone.wav", outside, seconds=3.0, seed=6)
    (lib / "linked.m4a").symlink_to(outside / "melody.m4a")  # a song kept outside the library
    (lib / "one.wav").symlink_to(outside / "tone.wav")  # two links to one song
    (lib / "two.wav").symlink_to(Path("..") / "outside" / "tone.wav")
    (lib / "album" / "zlink.mp3").symlink_to("tone.mp3")  # a link beside its file
    os.mkfifo(lib / "album" / "stream.mp3")
    make_song("tone.mp3", lib, seconds=3.0, seed=7).rename(lib / "locked.mp3")
    (lib / "locked.mp3").chmod(0o444)
    (lib / "empty.flac").write_bytes(b"")
    (lib / "album" / ".genre-tmp-x1y2z3w4.mp3").write_bytes((lib / "album" / "tone.mp3").read_bytes())
    (outside / ".genre-tmp-a1b2c3d4.wav").write_bytes(b"RIFF a copy a power cut left")
    files = [lib / "album" / n for n in ("tone.mp3", "noise.flac", "melody.ogg", "tone.opus")]
    files += [outside / "melody.m4a", outside / "tone.wav", lib / "locked.mp3"]
    before = {p: (sound(p), p.read_bytes() if p.name == "locked.mp3" else None) for p in files}
    out = base / "out.jsonl"
    done = tag(lib, "--out", out, "--write-tags", "--workers", 2, "--model", tiny_model_path)
    return {"lib": lib, "outside": outside, "out": out, "done": done, "before": before,
            "rows": {Path(r["path"]).relative_to(lib).as_posix(): r for r in rows(out)}}


@pytest.mark.slow  # starts worker processes: several seconds
def test_links_fifos_read_only_and_empty_files(tagged):
    lib, outside, done, found = tagged["lib"], tagged["outside"], tagged["done"], tagged["rows"]
    assert done.returncode == 1, done.stderr  # the read-only song and the empty file failed; the rest went on
    assert "Traceback" not in done.stderr and not tf_lines(done.stderr), done.stderr
    assert sorted(found) == ["album/melody.ogg", "album/noise.flac", "album/tone.mp3", "album/tone.opus",
                             "empty.flac", "linked.m4a", "locked.mp3", "one.wav"]  # the FIFO never opened
    assert found["one.wav"]["paths"] == [str(lib / "one.wav"), str(lib / "two.wav")]
    assert found["album/tone.mp3"]["paths"] == [str(lib / "album/tone.mp3"), str(lib / "album/zlink.mp3")]
    assert "read-only" in found["locked.mp3"]["tag"]["error"] and found["locked.mp3"]["tag"]["action"] == "failed"
    assert "empty" in found["empty.flac"]["error"]
    assert "stream.mp3: a FIFO: never opened" in done.stderr
    assert "1 FIFO, socket or device" in done.stderr and "2 path(s) to a song already found" in done.stderr
    for name in ("linked.m4a", "one.wav", "two.wav", "album/zlink.mp3"):
        assert (lib / name).is_symlink(), name
    assert write.read_genre(outside / "tone.wav") == write.tag_value(found["one.wav"]["genre"])
    assert write.read_genre(outside / "melody.m4a") == write.tag_value(found["linked.m4a"]["genre"])


@pytest.mark.slow  # starts worker processes: several seconds
def test_written_tags_say_where_they_came_from_and_the_audio_is_bit_identical(tagged):
    for path, (heard, data) in tagged["before"].items():
        assert sound(path) == heard, path
        if data is not None:
            assert path.read_bytes() == data  # the read-only song is not touched at all
    for name, row in tagged["rows"].items():
        assert {"unsure", "why_unsure", "reason", "model", "paths"} <= set(row) or row.get("error"), name
        if row.get("tag", {}).get("action") == "written":
            source = write.read_source(row["path"])
            assert source == f"genre {genre.__version__}; model cnn v0; confidence {row['confidence']:.2f}", name
            added = {"id3v2": False} if row["path"].endswith(".wav") else {}  # the write gave it its ID3 chunk
            assert row["tag"]["replaced"] == {"genre": [], "source": None, **added}


@pytest.mark.slow  # starts worker processes: several seconds
def test_copies_a_killed_run_left_are_removed_and_never_songs(tagged):
    assert not copies(tagged["lib"], tagged["outside"])
    assert "2 copy(ies) left by a killed run removed" in tagged["done"].stderr
    assert not any(walk.is_temp(Path(p).name) for r in tagged["rows"].values() for p in r.get("paths", []))


@pytest.mark.slow  # starts worker processes: several seconds
def test_undo_restores_and_leaves_a_file_changed_by_hand(tagged, capsys):
    lib, out = tagged["lib"], tagged["out"]
    flac = lib / "album" / "noise.flac"
    audio_file = mutagen.File(flac)
    audio_file["GENRE"] = ["Noise"]  # the user changed it after the run
    audio_file.save()
    assert cli.main(["tag", "--undo", "--dry-run", "--out", str(out)]) == 0
    said = capsys.readouterr()
    assert said.out.count("would remove") == 5 and "noise.flac: its genre is now 'Noise'" in said.err
    assert write.read_genre(lib / "album" / "tone.mp3") is not None  # a dry run changes nothing
    assert cli.main(["tag", "--undo", "--out", str(out)]) == 0
    assert "undo: 5 restored, 1 changed since" in capsys.readouterr().err
    assert write.read_genre(flac) == "Noise"
    for name, row in tagged["rows"].items():
        if name != "album/noise.flac" and row.get("tag", {}).get("action") == "written":
            assert write.read_genre(row["path"]) is None and write.read_source(row["path"]) is None, name
    for path, (heard, _) in tagged["before"].items():
        assert sound(path) == heard, path
    assert (lib / "one.wav").is_symlink() and not copies(lib, tagged["outside"])
    undone = {r["path"]: r["tag"]["action"] for r in rows(out) if r.get("tag")}
    assert list(undone.values()).count("undone") == 5
    assert cli.main(["tag", "--undo", "--out", str(out)]) == 0  # twice: nothing left to undo
    assert "undo: 0 restored" in capsys.readouterr().err


@pytest.mark.slow
def test_a_killed_worker_and_a_hung_song_cost_one_song_each(tmp_path, tiny_model_path, slow_ffmpeg):
    lib = tmp_path / "lib"
    lib.mkdir()
    names = [f"{kind}{i}.{ext}" for i in range(3) for kind, ext in (("tone", "mp3"), ("melody", "ogg"))]
    for i, name in enumerate(names):
        make_song(name, lib, seconds=3.0, seed=i)
    make_song("tone.mp3", lib, seconds=3.0).rename(lib / "zz-HANGME.mp3")  # last: no worker holds it yet
    out = tmp_path / "out.jsonl"
    run = start(lib, "--out", out, "--workers", 2, "--timeout", 5, "--model", tiny_model_path,
                env={"GENRE_FFMPEG": str(slow_ffmpeg), "GENRE_TEST_DELAY": "0.5"})
    wait_for_rows(out, 1, run)
    victims = workers_of(run.pid)
    assert len(victims) == 2
    os.kill(victims[0], signal.SIGKILL)  # what the out-of-memory killer does
    _, err = run.communicate(timeout=300)
    assert run.returncode == 1, err
    found = rows(out)
    assert sorted(Path(r["path"]).name for r in found) == sorted([*names, "zz-HANGME.mp3"])  # each once
    errors = {Path(r["path"]).name: r["error"] for r in found if r.get("error")}
    assert "Abandoned: not analysed within --timeout 5 s" in errors.pop("zz-HANGME.mp3")
    assert len(errors) <= 1 and all("died: it was killed by SIGKILL" in e for e in errors.values()), errors
    assert all(r.get("genre") for r in found if Path(r["path"]).name not in errors and "HANGME" not in r["path"])
    assert "worker(s) died or were stopped" in err and "Traceback" not in err


@pytest.mark.slow
def test_ctrl_c_and_sigterm_leave_no_copy_and_the_next_run_finishes(tmp_path, tiny_model_path, slow_ffmpeg):
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(4):
        for name in ("tone.mp3", "melody.m4a"):
            make_song(name.replace(".", f"{i}."), lib, seconds=3.0, seed=i)
    before = {p: sound(p) for p in lib.iterdir()}
    out, env = tmp_path / "out.jsonl", {"GENRE_FFMPEG": str(slow_ffmpeg), "GENRE_TEST_DELAY": "0.3"}
    argv = (lib, "--out", out, "--write-tags", "--workers", 2, "--model", tiny_model_path)
    for n, (signum, group) in enumerate([(signal.SIGTERM, False), (signal.SIGINT, True)], start=1):
        run = start(*argv, env=env)
        wait_for_rows(out, 2 * n, run)
        workers = workers_of(run.pid)
        (os.killpg if group else os.kill)(run.pid, signum)  # Ctrl-C reaches the whole group
        _, err = run.communicate(timeout=120)
        assert run.returncode == 128 + signum and "interrupted:" in err, err
        assert not copies(lib) and not any(Path(f"/proc/{pid}").exists() for pid in workers)
    done = tag(*argv)
    assert done.returncode == 0, done.stderr
    found = rows(out)
    assert sorted(r["path"] for r in found) == sorted(str(p) for p in lib.iterdir())  # each once
    for row in found:
        assert write.read_genre(row["path"]) == write.tag_value(row["genre"]), row["path"]
    assert {p: sound(p) for p in lib.iterdir()} == before and not copies(lib)


@pytest.mark.slow  # starts worker processes: several seconds
def test_a_second_run_on_the_same_out_is_refused(tmp_path, tiny_model_path, slow_ffmpeg):
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(3):
        make_song(f"tone{i}.mp3", lib, seconds=3.0, seed=i)
    out = tmp_path / "out.jsonl"
    first = start(lib, "--out", out, "--workers", 1, "--model", tiny_model_path,
                  env={"GENRE_FFMPEG": str(slow_ffmpeg), "GENRE_TEST_DELAY": "1"})
    wait_for_rows(out, 1, first)
    second = tag(lib, "--out", out, "--workers", 1, "--model", tiny_model_path, timeout=60)
    assert first.poll() is None  # refused while the first was still running
    assert second.returncode == 2 and f"Another run is using {out}: process {first.pid}" in second.stderr
    assert "genre tag" in second.stderr
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert sorted(Path(r["path"]).name for r in rows(out)) == ["tone0.mp3", "tone1.mp3", "tone2.mp3"]


@pytest.mark.slow  # starts worker processes: several seconds
def test_predict_prints_no_tensorflow_lines_unless_verbose(tmp_path, tiny_model_path):
    song = make_song("tone.wav", tmp_path, seconds=3.0)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    argv = [sys.executable, "-m", "genre", "predict", str(song), "--model", str(tiny_model_path)]
    quiet = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert quiet.returncode == 0 and "tone.wav:" in quiet.stdout
    assert not tf_lines(quiet.stderr), quiet.stderr
    loud = subprocess.run([*argv, "--verbose"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert loud.returncode == 0 and tf_lines(loud.stderr)  # what --verbose is for


def test_undo_needs_the_results_file(tmp_path, capsys):
    with pytest.raises(SystemExit) as usage:
        cli.main(["tag", "--undo"])
    assert usage.value.code == 2 and "--undo needs --out FILE" in capsys.readouterr().err
    assert cli.main(["tag", "--undo", "--out", str(tmp_path / "none.jsonl")]) == 2  # bad usage, as a missing PATH
    assert "nothing to undo" in capsys.readouterr().err


@pytest.mark.slow  # starts worker processes: several seconds
def test_undo_takes_back_what_a_ray_run_recorded_in_parquet(tmp_path, tiny_model_path, capsys):
    """``tag --ray --out *.parquet`` keeps its rows in Parquet parts (``ParquetResults``); ``--undo``
    reads them back, restores the songs and records the undone rows as a new part."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        skip_or_fail("pyarrow is not installed (requirements-scale.txt)")
    from genre.tag.ray import ParquetResults

    lib = tmp_path / "library"
    lib.mkdir()
    songs = [make_song(name, lib, seconds=3.0, seed=i) for i, name in enumerate(["tone.mp3", "noise.flac", "melody.ogg"])]
    heard = {p: sound(p) for p in songs}
    plain = tmp_path / "plain.jsonl"
    done = tag(lib, "--out", plain, "--write-tags", "--workers", 1, "--model", tiny_model_path)
    assert done.returncode == 0, done.stderr
    written = {r["path"] for r in rows(plain) if r.get("tag", {}).get("action") == "written"}
    assert written and all(write.read_genre(p) is not None for p in written)
    parquet = tmp_path / "ray.parquet"
    results = ParquetResults(parquet)  # the rows as a --ray run keeps them
    for row in rows(plain):
        add(results, row)
    results.close()

    assert cli.main(["tag", "--undo", "--out", str(parquet)]) == 0
    assert f"undo: {len(written)} restored" in capsys.readouterr().err
    for path in written:
        assert write.read_genre(path) is None and write.read_source(path) is None, path
    assert all(sound(p) == heard[p] for p in songs)  # the audio is untouched
    again = ParquetResults(parquet, write=False)
    assert {again.row(p).tag.action for p in written} == {"undone"}
    assert len(list(parquet.glob("*.parquet"))) == 2  # the run's part, then the undo's
    assert cli.main(["tag", "--undo", "--out", str(parquet)]) == 0  # twice: nothing left to undo
    assert "undo: 0 restored" in capsys.readouterr().err


@pytest.mark.slow  # a tag run: worker processes
def test_undo_with_a_path_finds_writes_a_killed_run_never_recorded(tmp_path, tiny_model_path, capsys):
    """A ``--ray`` actor writes a tag before the driver saves the row, so a killed run can leave a
    song tagged with no row (or only an earlier run's, without --write-tags): ``--undo --out FILE
    PATH`` finds it by the ``GENRE_REPLACED`` that names FILE, and leaves a song another run (another
    FILE) wrote."""
    lib = tmp_path / "library"
    lib.mkdir()
    ours, theirs, mine = (make_song(n, lib, seconds=3.0, seed=i)
                          for i, n in enumerate(["tone.mp3", "noise.flac", "melody.ogg"]))
    tagged = mutagen.File(mine)
    tagged["GENRE"] = ["Orig 06"]  # the user's own genre, to come back
    tagged.save()
    twice = make_song("tone2.mp3", lib, seconds=3.0, seed=5)
    heard = {p: sound(p) for p in (ours, theirs, mine, twice)}
    out, other = tmp_path / "killed.jsonl", tmp_path / "other.jsonl"
    done = tag(ours, "--out", out, "--workers", 1, "--model", tiny_model_path)  # analysed, not tagged
    assert done.returncode == 0, done.stderr
    done = tag(twice, "--out", out, "--write-tags", "--workers", 1, "--model", tiny_model_path)  # recorded
    assert done.returncode == 0 and rows(out)[-1]["tag"]["action"] == "written", done.stderr
    later = "metal" if rows(out)[-1]["genre"] != "metal" else "jazz"  # then a killed --overwrite run's, unrecorded
    assert write.write_genre(twice, later, overwrite=True, run=os.path.realpath(out)).action == "written"
    for song in (ours, mine):
        assert write.write_genre(song, "jazz", overwrite=True, run=os.path.realpath(out)).action == "written"
    assert write.write_genre(theirs, "rock", run=os.path.realpath(other)).action == "written"

    assert cli.main(["tag", "--undo", "--dry-run", "--out", str(out)]) == 0  # no PATH: only the rows
    assert "undo: 1 would restore, 0 changed since" in capsys.readouterr().err  # the later write, by its row
    assert cli.main(["tag", "--undo", "--dry-run", "--out", str(out), str(lib)]) == 0
    said = capsys.readouterr()
    assert "would restore 'Orig 06' over 'Jazz'" in said.out and "tone.mp3: would remove 'Jazz'" in said.out
    assert "undo: 3 would restore, 0 changed since" in said.err and "holds no song" not in said.err
    status, said = on_terminal(["tag", "--undo", "--dry-run", "--out", out, lib])  # a bar for each phase
    assert status == 0 and "undo: 3 would restore" in said, said
    assert re.search(r"undoing: 100%\|.*\| 1/1 \[\d\d:\d\d<\d\d:\d\d", said), said  # tone2's row
    assert re.search(r"reading tags: 100%\|.*\| 3/3 \[\d\d:\d\d<\d\d:\d\d", said), said  # the other three
    assert cli.main(["tag", "--undo", "--out", str(out), str(lib)]) == 0
    assert "undo: 3 restored, 0 changed since" in capsys.readouterr().err
    assert write.read_genre(twice) is None and write.read_source(twice) is None
    assert write.read_genre(ours) is None and write.read_source(ours) is None
    assert write.read_genre(mine) == "Orig 06" and write.read_genre(theirs) == "Rock"
    assert all(sound(p) == heard[p] for p in heard)
    latest = {r["path"]: r.get("tag", {}).get("action") for r in rows(out)}  # the songs with a row
    assert latest == {str(ours): "undone", str(twice): "undone"}
    assert cli.main(["tag", "--undo", "--out", str(out), str(lib)]) == 0  # twice: nothing left to undo
    assert "undo: 0 restored" in capsys.readouterr().err


def test_an_unreachable_cluster_is_said_at_once_and_leaves_no_results(tmp_path, capsys):
    try:
        import ray  # noqa: F401
    except ImportError:
        skip_or_fail("Ray is not installed (requirements-scale.txt)")
    lib = tmp_path / "library"
    lib.mkdir()
    make_song("tone.mp3", lib, seconds=3.0, seed=0)
    out = tmp_path / "r.jsonl"
    assert cli.main(["tag", str(lib), "--ray", "127.0.0.1:1", "--out", str(out)]) == 1  # nothing listens on 1
    assert "Cannot reach Ray at 127.0.0.1:1" in capsys.readouterr().err
    assert not out.exists()
