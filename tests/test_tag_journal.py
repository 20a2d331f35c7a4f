"""genre/tag/journal.py: a write made in place (a hard-linked song) cannot be left half done.

A child process changes a hard-linked file in place through ``replace.rewrite`` and is killed
with SIGKILL halfway; the next run's ``journal.recover`` must put every byte back, through both
names, and never touch a write that is still alive.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT
from genre.tag import journal, replace

SONG = bytes(range(256)) * 400  # 100 kB standing in for a song: rewrite never parses it

CHANGE_AND_HANG = """
import os, signal, sys, time
from genre.tag import replace

def change(f):
    f.seek(10)
    f.write(b"HALF-MOVED" * 1000)  # what a SIGKILL in mutagen's resize would leave
    f.flush()
    print("changing", flush=True)
    time.sleep(60)

replace.rewrite(sys.argv[1], change)
"""


@pytest.fixture
def state(tmp_path, monkeypatch):
    """This test's own journal folder."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "genre" / "journal"


def linked(tmp_path: Path) -> tuple[Path, Path]:
    one = tmp_path / "one.mp3"
    one.write_bytes(SONG)
    os.utime(one, (1_600_000_000, 1_600_000_000))
    os.link(one, tmp_path / "two.mp3")
    return one, tmp_path / "two.mp3"


def test_a_write_killed_in_place_is_put_back_and_a_live_one_never(tmp_path, state):
    one, two = linked(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", CHANGE_AND_HANG, str(one)], stdout=subprocess.PIPE,
                             text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert child.stdout.readline() == "changing\n"
        assert one.read_bytes() != SONG  # half done, as a SIGKILL would leave it
        said = []
        assert journal.recover(said.append) == 0 and not said  # a live write is left alone
        assert one.read_bytes() != SONG
    finally:
        child.kill()
        child.wait()
    said = []
    assert journal.recover(said.append) == 1
    assert one.read_bytes() == SONG and two.read_bytes() == SONG and one.stat().st_ino == two.stat().st_ino
    assert one.stat().st_mtime == 1_600_000_000 and "put back as it was" in said[0]
    assert not list(state.iterdir())
    assert journal.recover() == 0  # done once


def test_an_in_place_write_leaves_nothing_in_the_journal(tmp_path, state):
    one, two = linked(tmp_path)

    def change(f):
        f.seek(0)
        f.write(b"TAG")

    replace.rewrite(one, change)
    assert two.read_bytes() == b"TAG" + SONG[3:] and not list(state.iterdir())


def test_a_failed_change_in_place_is_put_back_at_once(tmp_path, state):
    one, two = linked(tmp_path)

    def change(f):
        f.seek(5)
        f.write(b"HALF")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        replace.rewrite(one, change)
    assert two.read_bytes() == SONG and not list(state.iterdir())


def test_without_room_for_a_safety_copy_the_song_is_not_touched(tmp_path, monkeypatch):
    one, two = linked(tmp_path)
    (tmp_path / "state").write_text("a file where the state folder would go")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    with pytest.raises(replace.NotWritten, match="only be changed in place.*no safety copy"):
        replace.rewrite(one, lambda f: f.write(b"never"))
    assert two.read_bytes() == SONG


def test_a_copy_cut_short_before_its_note_is_removed(tmp_path, state):
    state.mkdir(parents=True)
    (state / "abc.song").write_bytes(SONG[:100])  # killed while copying: its song was not touched yet
    assert journal.recover() == 0 and not list(state.iterdir())


def test_a_copy_another_run_removes_before_it_is_locked_is_made_again(tmp_path, state, monkeypatch):
    one, two = linked(tmp_path)
    real_mkstemp, stolen = journal.tempfile.mkstemp, []

    def raced(**kwargs):  # another run's recovery takes the new copy for one cut short, once
        fd, name = real_mkstemp(**kwargs)
        if not stolen:
            stolen.append(name)
            os.unlink(name)
        return fd, name

    monkeypatch.setattr(journal.tempfile, "mkstemp", raced)
    with journal.safety_copy(str(one), one.stat()):
        copies = list(state.glob("*.song"))
        assert len(copies) == 1 and str(copies[0]) != stolen[0] and copies[0].read_bytes() == SONG
    assert not list(state.iterdir())


def test_a_put_back_that_fails_waits_for_the_next_run(tmp_path, state, monkeypatch):
    one, two = linked(tmp_path)
    real_put_back = journal._put_back

    def change(f):
        f.seek(5)
        f.write(b"HALF")
        raise OSError(5, "Input/output error")

    def fails(*args):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(journal, "_put_back", fails)
    with pytest.raises(journal.NotPutBack, match="kept in .*next run") as caught:
        replace.rewrite(one, change)
    assert "Input/output error" in str(caught.value.__cause__)
    assert two.read_bytes() != SONG and len(list(state.glob("*.song"))) == 1
    said = []
    assert journal.recover(said.append) == 0 and "could not be put back" in said[0]  # still failing: kept
    with pytest.raises(replace.NotWritten, match="safety copy of this file waits"):
        replace.rewrite(two, lambda f: f.write(b"never"))  # its good bytes are in the journal: not again
    monkeypatch.setattr(journal, "_put_back", real_put_back)
    assert journal.recover() == 1 and two.read_bytes() == SONG and not list(state.iterdir())


def test_a_note_in_the_first_format_is_put_back_too(tmp_path, state):
    one, _ = linked(tmp_path)
    state.mkdir(parents=True)
    (state / "old.song").write_bytes(SONG)
    st = one.stat()
    (state / "old.json").write_text(json.dumps({"path": str(one), "dev": st.st_dev, "ino": st.st_ino,
                                                "mtime": 1_600_000_000.0}))
    one.write_bytes(b"half-moved")
    assert journal.recover() == 1 and one.read_bytes() == SONG and one.stat().st_mtime == 1_600_000_000


def test_a_copy_whose_song_is_gone_or_whose_note_is_damaged_is_kept_and_named(tmp_path, state):
    one, _ = linked(tmp_path)
    state.mkdir(parents=True)
    (state / "gone.song").write_bytes(SONG)
    (state / "gone.json").write_text(json.dumps({"path": str(tmp_path / "moved.mp3"), "dev": 1, "ino": 2,
                                                 "mtime_ns": 0}))
    (state / "torn.song").write_bytes(SONG)
    (state / "torn.json").write_text('{"path": ')
    said = []
    assert journal.recover(said.append) == 0 and one.read_bytes() == SONG
    assert sorted(p.name for p in state.iterdir()) == ["gone.json", "gone.song", "torn.json", "torn.song"]
    assert any("moved.mp3" in s and "gone.song" in s for s in said) and any("torn.song" in s for s in said)
