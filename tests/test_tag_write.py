"""Tag writes that never harm a song: through links, refused where they must be, undone, interrupted."""
from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import mutagen
from mutagen.id3 import ID3, IPLS, TBPM, TCON, TDAT, TIME, TIT2, TORY, TYER
import pytest

from tests.support import ROOT
from tests.support.library import FORMATS, make_song, sound, tag
import genre
from genre.formats import id3_size
from genre.tag import fields, pool, replace, walk, write
from genre.tag.ledger import Ledger
from genre.tag.rows import Row


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> dict[str, Path]:
    """One short song per format, made once; tests copy them."""
    folder = tmp_path_factory.mktemp("songs")
    return {name: make_song(name, folder, seconds=3.0) for name in FORMATS}


def copies(folder: Path) -> list[Path]:
    """The tagged copies in progress (or left) under ``folder``."""
    return [p for p in folder.rglob("*") if walk.is_temp(p.name)]


@pytest.mark.parametrize("name", list(FORMATS))
def test_source_and_undo_in_every_format_audio_bit_identical(name, songs, tmp_path):
    path = Path(shutil.copy(songs[name], tmp_path / name))
    before = sound(path)
    first = write.write_genre(path, "jazz", source=write.source_text("cnn v3", 0.8765), run="/music/a.jsonl")
    added = {"id3v2": False} if name.endswith(".wav") else {}  # ffmpeg's WAV has no ID3 chunk: the write adds it
    assert first.record() == {"action": "written", "old": None, "new": "Jazz",
                              "replaced": {"genre": [], "source": None, **added}}
    assert write.read_source(path) == f"genre {genre.__version__}; model cnn v3; confidence 0.88"
    audio = mutagen.File(path)
    kept = json.loads(fields.text(audio, fields.kind_of(audio), fields.REPLACED))
    assert kept["run"].startswith("sha256:") and "music" not in kept["run"]  # names the run, not its path
    again = write.write_genre(path, "jazz", run="/music/a.jsonl")  # its run was killed before it saved the row
    assert again.action == "same" and again.replaced == first.replaced  # read back from the file
    other = write.write_genre(path, "jazz", run="/music/b.jsonl")  # another run's results: not its to undo
    assert other.action == "same" and other.replaced is None
    second = write.write_genre(path, "rock", overwrite=True, source=write.source_text("cnn v3", 0.9))
    assert second.replaced == first.replaced  # over this project's own genre: undo goes back to the user's
    assert sound(path) == before
    assert write.restore_genre(path, "Rock", second.replaced, dry_run=True).action == "would restore"
    assert write.read_genre(path) == "Rock"
    assert write.restore_genre(path, "Rock", second.replaced).action == "restored"
    assert write.read_genre(path) is None and write.read_source(path) is None
    tags = mutagen.File(path).tags  # None: the chunk the write added is gone again
    assert (tags is None) == bool(added) and not [k for k in (tags or {}).keys() if "GENRE_" in k.upper()]
    assert sound(path) == before and not copies(tmp_path)


def test_a_run_is_named_by_a_digest_and_earlier_writes_by_their_path_still_count():
    mark = fields.run_mark("/home/alice/tags.jsonl")
    assert mark != fields.run_mark("/home/alice/tags.csv") and "alice" not in mark
    assert fields.same_run(mark, "/home/alice/tags.jsonl") and not fields.same_run(mark, "/home/bob/tags.jsonl")
    assert fields.same_run("/home/alice/tags.jsonl", "/home/alice/tags.jsonl")  # as the earliest writes hold it
    assert not fields.same_run(None, "/home/alice/tags.jsonl") and not fields.same_run(mark, None)


def test_a_genre_changed_by_hand_is_what_an_overwrite_replaces(songs, tmp_path):
    path = Path(shutil.copy(songs["tone.mp3"], tmp_path / "song.mp3"))
    write.write_genre(path, "blues")
    audio = mutagen.File(path)
    audio.tags.add(TCON(encoding=3, text=["Field recording"]))  # the user's, after the run
    audio.save()
    first_source = write.read_source(path)
    assert write.write_genre(path, "blues").action == "kept"  # not this project's genre any more
    done = write.write_genre(path, "jazz", overwrite=True)
    assert done.replaced == {"genre": ["Field recording"], "source": first_source, "encoding": 3}
    assert write.restore_genre(path, "Jazz", done.replaced).action == "restored"
    assert write.read_genre(path) == "Field recording"


@pytest.mark.parametrize("name", ["tone.mp3", "noise.flac", "melody.m4a", "tone.opus"])
def test_undo_leaves_a_genre_changed_by_hand_and_takes_its_own_fields_off_it(name, songs, tmp_path):
    path = Path(shutil.copy(songs[name], tmp_path / name))
    before = sound(path)
    done = write.write_genre(path, "blues", source=write.source_text("fused v1", 0.81))
    audio = mutagen.File(path, easy=True)
    audio["genre"] = ["Field recording"]  # the user's own choice, after the run
    audio.save()
    assert write.restore_genre(path, "Blues", done.replaced, dry_run=True).cleared  # says it would, and does not
    assert write.read_source(path) is not None
    kept = write.restore_genre(path, "Blues", done.replaced)
    assert kept.action == "changed since" and kept.now == "Field recording" and kept.cleared
    assert write.read_genre(path) == "Field recording" and write.read_source(path) is None  # not said to be ours
    tags = mutagen.File(path).tags
    assert not [k for k in tags.keys() if "GENRE_" in k.upper()]  # GENRE_REPLACED too
    assert sound(path) == before and not copies(tmp_path)
    stamp = path.stat().st_mtime_ns
    again = write.restore_genre(path, "Blues", done.replaced)  # a second undo: nothing of ours left to take
    assert again.action == "changed since" and not again.cleared and write.read_genre(path) == "Field recording"
    assert path.stat().st_mtime_ns == stamp  # not even rewritten


def test_undo_never_takes_off_another_tools_source_nor_gives_the_user_genre_an_older_one(songs, tmp_path):
    path = Path(shutil.copy(songs["noise.flac"], tmp_path / "song.flac"))
    first = write.write_genre(path, "rock", source=write.source_text("fused v1", 0.9))
    audio = mutagen.File(path)
    audio["GENRE"] = ["Jazz"]  # the user's
    audio.save()
    second = write.write_genre(path, "pop", overwrite=True, source=write.source_text("fused v2", 0.8))
    assert second.replaced["source"] == write.source_text("fused v1", 0.9)  # the first run's, left by the user
    audio = mutagen.File(path)
    audio["GENRE"] = ["Blues"]
    audio.save()
    assert write.restore_genre(path, "Pop", second.replaced).cleared
    assert write.read_genre(path) == "Blues" and write.read_source(path) is None  # no older run's claim put back
    theirs = Path(shutil.copy(songs["noise.flac"], tmp_path / "theirs.flac"))
    done = write.write_genre(theirs, "rock")
    audio = mutagen.File(theirs)
    audio["GENRE"], audio["GENRE_SOURCE"] = ["Jazz"], ["lastgenre plugin"]  # another tagger's, since
    audio.save()
    assert write.restore_genre(theirs, "Rock", done.replaced).cleared
    assert mutagen.File(theirs)["GENRE_SOURCE"] == ["lastgenre plugin"] and "GENRE_REPLACED" not in mutagen.File(theirs)
    assert first.action == "written"


def test_a_symlink_is_written_through_and_stays_a_link(songs, tmp_path):
    real, lib = tmp_path / "real", tmp_path / "lib"
    real.mkdir(), lib.mkdir()
    target = Path(shutil.copy(songs["tone.mp3"], real / "song.mp3"))
    (lib / "song.mp3").symlink_to(Path("..") / "real" / "song.mp3")  # relative, as users make them
    before, inode = sound(target), target.stat().st_ino
    assert write.write_genre(lib / "song.mp3", "metal").action == "written"
    assert (lib / "song.mp3").is_symlink() and os.readlink(lib / "song.mp3") == "../real/song.mp3"
    assert write.read_genre(target) == "Metal" and target.stat().st_ino != inode  # renamed over the target
    assert sound(target) == before and not copies(tmp_path)


def test_a_hard_linked_song_is_written_in_place_for_both_names(songs, tmp_path):
    one = Path(shutil.copy(songs["melody.ogg"], tmp_path / "one.ogg"))
    os.link(one, tmp_path / "two.ogg")
    before = sound(one)
    assert write.write_genre(tmp_path / "two.ogg", "pop").action == "written"
    assert one.stat().st_nlink == 2 and one.stat().st_ino == (tmp_path / "two.ogg").stat().st_ino
    assert write.read_genre(one) == "Pop" and sound(one) == before


def test_read_only_and_changed_files_are_not_written(songs, tmp_path):
    path = Path(shutil.copy(songs["tone.wav"], tmp_path / "song.wav"))
    data = path.read_bytes()
    path.chmod(0o444)  # refused even for root, who could rename over it
    refused = write.write_genre(path, "rock")
    assert refused.action == "failed" and "read-only" in refused.error
    path.chmod(0o644)
    st = path.stat()
    changed = write.write_genre(path, "rock", expect=(st.st_size, st.st_mtime - 10))
    assert changed.action == "changed" and "changed after it was analysed" in changed.error
    assert path.read_bytes() == data and not copies(tmp_path)


def test_an_interrupted_write_leaves_no_copy(songs, tmp_path, monkeypatch):
    path = Path(shutil.copy(songs["melody.m4a"], tmp_path / "song.m4a"))
    data = path.read_bytes()

    def interrupted(*args):
        assert len(copies(tmp_path)) == 1  # the copy exists while it is tagged...
        raise replace.Stopped(signal.SIGTERM)

    monkeypatch.setattr(write.fields, "set_fields", interrupted)
    with pytest.raises(replace.Stopped):
        write.write_genre(path, "rock")
    assert path.read_bytes() == data and not copies(tmp_path)  # ...and is gone after


def test_a_stop_signal_waits_for_the_end_of_a_critical_block():
    before = signal.getsignal(signal.SIGTERM)
    with replace.stop_signals():
        with pytest.raises(replace.Stopped) as stopped:
            with replace.critical():
                os.kill(os.getpid(), signal.SIGTERM)
                finished = True  # reached: the signal waits for the block's end
        assert finished and stopped.value.signum == signal.SIGTERM
        with replace.critical(act=False):  # the stopping itself: a second signal is dropped
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) == before


HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(60)
"""


def test_a_leftover_is_removed_only_when_its_run_is_gone(tmp_path):
    dead = tmp_path / ".genre-tmp-abcd1234.mp3"
    dead.write_bytes(b"ID3 a copy whose run was killed")
    live = tmp_path / ".genre-tmp-live0000.flac"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(live)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        assert pool.remove_leftovers(str(tmp_path)) == 1
        assert not dead.exists() and live.exists()  # a live run's copy in progress is never touched
    finally:
        holder.kill()
        holder.wait()
    assert replace.remove_leftover(live) and not live.exists()  # its lock died with it
    lookalike = tmp_path / ".genre-tmp-notes.txt"  # not the pattern: the user's, never removed
    lookalike.write_text("mine")
    assert pool.remove_leftovers(str(tmp_path)) == 0 and lookalike.exists()


def test_walk_skips_fifos_counts_aliases_and_reports_leftovers(songs, tmp_path):
    lib, outside = tmp_path / "lib", tmp_path / "outside"
    lib.mkdir(), outside.mkdir()
    shutil.copy(songs["tone.mp3"], lib / "a.mp3")
    shutil.copy(songs["tone.opus"], outside / "b.opus")
    (lib / "b.opus").symlink_to(outside / "b.opus")
    (lib / "b again.opus").symlink_to(outside / "b.opus")
    os.link(lib / "a.mp3", lib / "hard.mp3")
    os.mkfifo(lib / "pipe.mp3")  # opening it would block: the walk must never do so
    (lib / ".genre-tmp-abcdefgh.mp3").write_bytes(b"left")
    (outside / ".genre-tmp-12345678.opus").write_bytes(b"left")  # beside a symlinked song's target
    for name in (".genre-classics.mp3", ".genre-settings", ".genre-tmp-notes.txt"):  # a user's: never leftovers
        (outside / name).write_bytes(b"mine")
    problems, aliases, leftovers = [], [], []
    found = [e.path for e in walk.walk([lib], problems.append, on_alias=lambda *a: aliases.append(a),
                                       on_leftover=leftovers.append)]
    assert [Path(p).name for p in found] == ["a.mp3", "b again.opus"]
    assert sorted((Path(a).name, Path(b).name) for a, b in aliases) == [("a.mp3", "hard.mp3"),
                                                                       ("b again.opus", "b.opus")]
    assert [(Path(p.path).name, p.kind) for p in problems] == [("pipe.mp3", "special")]
    assert sorted(Path(p).name for p in leftovers) == [".genre-tmp-12345678.opus", ".genre-tmp-abcdefgh.mp3"]


def test_a_fifo_in_place_of_a_song_is_never_waited_on(tmp_path):
    fifo = tmp_path / "song.mp3"
    os.mkfifo(fifo)
    assert write.write_genre(fifo, "rock").action == "failed"
    with pytest.raises(OSError):
        walk.fingerprint(fifo)


AS_NOBODY = """
import os, sys
from genre.tag import write  # first: the interpreter's own files may be root's alone
os.setgid(65534)
os.setuid(65534)
print(write.write_genre(sys.argv[1], "rock").error)
"""


@pytest.fixture
def shared():
    """A folder anyone may write in, where anyone can reach it (pytest's own are root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="genre-test-"))
    folder.chmod(0o777)  # a rename here could replace root's song: the tagger must not
    yield folder
    shutil.rmtree(folder)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user and to mount")
def test_another_users_file_and_a_read_only_mount_are_refused(songs, shared):
    song = Path(shutil.copy(songs["tone.mp3"], shared / "root's song.mp3"))
    data = song.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", AS_NOBODY, str(song)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert "belongs to another user (uid 0)" in done.stdout, done.stderr
    assert song.read_bytes() == data and song.stat().st_uid == 0
    if not shutil.which("unshare") or not shutil.which("mount"):
        pytest.skip("needs unshare and mount for a read-only bind mount")
    code = f"from genre.tag import write; print(write.write_genre({str(song)!r}, 'rock').error)"
    mounted = subprocess.run(["unshare", "-m", "sh", "-c", f'mount --bind -o ro "{shared}" "{shared}" && '
                              f'exec "{sys.executable}" -c "$0"', code], capture_output=True, text=True,
                             env=env, timeout=120)
    if "mount:" in mounted.stderr or "unshare:" in mounted.stderr:
        pytest.skip(f"no read-only bind mount here: {mounted.stderr.strip()}")
    assert "read-only file system" in mounted.stdout, mounted.stderr
    assert song.read_bytes() == data


AS_NOBODY_TAGGING = """
import os, sys
from genre.tag import write
os.setgid(65534)
os.setuid(65534)
print(write.write_genre(sys.argv[1], "rock").action)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_another_users_file_that_lets_this_user_write_stays_theirs(songs, shared, monkeypatch):
    song = Path(shutil.copy(songs["tone.mp3"], shared / "shared song.mp3"))
    song.chmod(0o666)  # root lets anyone write it
    heard = sound(song)
    monkeypatch.setenv("XDG_STATE_HOME", str(shared / "state"))  # nobody's journal, where nobody may write
    done = subprocess.run([sys.executable, "-c", AS_NOBODY_TAGGING, str(song)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.stdout.strip() == "written", done.stderr
    st = song.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o666)  # still root's, as it was
    assert write.read_genre(song) == "Rock" and sound(song) == heard


@pytest.mark.parametrize("name", ["tone.mp3", "noise.flac"])
def test_a_songs_extended_attributes_survive_a_tag_write(songs, tmp_path, name, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the safety copy's journal
    song = Path(shutil.copy(songs[name], tmp_path / name))
    try:
        os.setxattr(song, "user.xdg.origin.url", b"https://example.org/song")
    except OSError as exc:
        pytest.skip(f"no user extended attributes on this file system ({exc})")
    heard = sound(song)
    assert write.write_genre(song, "jazz").action == "written"
    assert os.getxattr(song, "user.xdg.origin.url") == b"https://example.org/song"
    assert write.read_genre(song) == "Jazz" and sound(song) == heard and not copies(tmp_path)
    assert not list((tmp_path / "state").rglob("*.song"))  # the journal's copy is gone once written


@pytest.mark.parametrize("name", ["Symphony No. 5", "song.mp3~", "take.flac-old", "a.Remastered2011", "b.mp3"])
def test_a_copy_in_progress_is_known_as_one_whatever_the_song_is_called(songs, tmp_path, name):
    """A kill -9 leaves the copy: the next run must know it (and never tag it as a song)."""
    song = Path(shutil.copy(songs["tone.mp3"], tmp_path / name))
    seen = []
    replace.rewrite(song, lambda f: seen.extend(p.name for p in tmp_path.iterdir() if p.name != name))
    assert len(seen) == 1 and walk.is_temp(seen[0]), seen


def v1_only(path: Path) -> Path:
    """``path`` with an ID3v1 tag alone (genre Polka), as old rippers left MP3s."""
    tags = ID3()
    tags.add(TIT2(encoding=0, text=["Old Rip"]))
    tags.add(TCON(encoding=0, text=["Polka"]))
    tags.save(path, v1=2, v2_version=3)
    ID3(path).delete(path, delete_v1=False, delete_v2=True)
    return path


@pytest.mark.parametrize("name", ["tone.wav", "v1.mp3", "bare.mp3"])
def test_undo_takes_away_the_tag_a_write_added(songs, tmp_path, name):
    """A WAV without an ID3 chunk, an MP3 with only ID3v1 and one with no tag at all: the write
    adds an ID3v2 tag, and the undo leaves the file byte for byte as it was."""
    path = Path(shutil.copy(songs["tone.wav" if name.endswith("wav") else "tone.mp3"], tmp_path / name))
    if name.endswith(".mp3"):
        ID3(path).delete(path)  # no ID3 tag at all
    if name == "v1.mp3":
        v1_only(path)
    before = path.read_bytes()
    done = write.write_genre(path, "metal", overwrite=True, run=str(tmp_path / "out.jsonl"))
    assert done.action == "written" and done.replaced["id3v2"] is False
    assert path.read_bytes()[:3] == b"ID3" or name == "tone.wav"
    assert write.read_genre(path) == "Metal"
    assert write.restore_genre(path, "Metal", done.replaced).action == "restored"
    assert path.read_bytes() == before
    assert write.read_genre(path) == ("Polka" if name == "v1.mp3" else None)


@pytest.mark.parametrize("encoding", [0, 1])  # Latin-1, as most taggers write ASCII; UTF-16, as Windows does
def test_undo_puts_back_the_genre_frame_byte_for_byte(songs, tmp_path, encoding):
    path = Path(shutil.copy(songs["tone.mp3"], tmp_path / "song.mp3"))
    tags = ID3(path)
    tags.add(TCON(encoding=encoding, text=["Funk"]))
    tags.save(path, v2_version=3)
    before = path.read_bytes()
    done = write.write_genre(path, "metal", overwrite=True)
    assert done.replaced["encoding"] == encoding
    assert write.restore_genre(path, "Metal", done.replaced).action == "restored"
    assert ID3(path)["TCON"].encoding == encoding and path.read_bytes() == before


V1_FIELDS = (b"TAG" + b"Old Rip".ljust(30, b" ") + b"Some Artist".ljust(30, b" ") + b"An Album".ljust(30, b" ")
             + b"1999" + b"a comment".ljust(28, b" ") + b"\x00\x03")  # v1.1, padded with spaces; then the genre


@pytest.mark.parametrize("v2", [False, True])  # ID3v1 alone; ID3v1 beside an ID3v2 tag without those fields
def test_a_write_changes_only_the_id3v1_genre_and_undo_gives_every_byte_back(songs, tmp_path, v2):
    path = Path(shutil.copy(songs["tone.mp3"], tmp_path / "song.mp3"))
    ID3(path).delete(path)
    if v2:
        tags = ID3()
        tags.add(TIT2(encoding=1, text=["A longer title in ID3v2 than ID3v1 holds"]))
        tags.save(path, v1=0, v2_version=3)
    with open(path, "ab") as f:
        f.write(V1_FIELDS + bytes([8]))  # Jazz
    before = path.read_bytes()
    own = ID3(path, load_v1=False) if v2 else None
    done = write.write_genre(path, "metal", overwrite=True)
    assert done.action == "written" and done.old == "Jazz"
    after = path.read_bytes()
    assert after[-128:] == V1_FIELDS + bytes([9])  # Metal; the comment, padding and title as they were
    written = ID3(path, load_v1=False)
    assert set(written) - set(own or {}) == {"TCON", "TXXX:GENRE_SOURCE", "TXXX:GENRE_REPLACED"}  # no merged v1
    assert write.restore_genre(path, "Metal", done.replaced).action == "restored"
    assert path.read_bytes() == before


def test_an_id3v24_footer_is_not_left_in_front_of_the_audio(songs, tmp_path):
    path = Path(shutil.copy(songs["tone.mp3"], tmp_path / "song.mp3"))
    tags = ID3(path)
    tags.add(TCON(encoding=3, text=["Jazz", "Blues"]))
    tags.save(path, v2_version=4, padding=lambda info: 0)  # a footer forbids padding
    data = path.read_bytes()
    end = id3_size(data)  # the tag, before it says a footer follows
    head = bytearray(data[:10])
    head[5] |= 0x10  # "a footer follows"
    path.write_bytes(bytes(head) + data[10:end] + b"3DI" + bytes(head[3:]) + data[end:])
    heard = sound(path)
    done = write.write_genre(path, "metal", overwrite=True)
    assert done.action == "written" and sound(path) == heard  # the old footer was 10 bytes of junk audio
    assert write.restore_genre(path, "Metal", done.replaced).action == "restored"
    assert sound(path) == heard and ID3(path).getall("TCON")[0].text == ["Jazz", "Blues"]


def test_id3v23_frames_stay_as_stored_through_a_write_and_its_undo(songs, tmp_path):
    """mutagen reads ID3v2.3 as 2.4 (TYER+TDAT+TIME become TDRC, TORY TDOR, IPLS TIPL, "(17)" Rock)."""
    path = Path(shutil.copy(songs["tone.mp3"], tmp_path / "song.mp3"))
    ID3(path).delete(path)
    tags = ID3()
    for frame in (TYER(encoding=1, text=["2001"]), TDAT(encoding=1, text=["0403"]), TIME(encoding=1, text=["0506"]),
                  TORY(encoding=1, text=["1999"]), IPLS(encoding=1, people=[["producer", "Bob"]]),
                  TCON(encoding=0, text=["(17)"])):
        tags.add(frame)
    tags.save(path, v2_version=3)
    stored = ID3(path, translate=False)
    before = {k: repr(v) for k, v in stored.items()}
    done = write.write_genre(path, "metal", overwrite=True)
    assert done.replaced["genre"] == ["(17)"] and done.old == "Rock"  # as stored; as players show it
    written = ID3(path, translate=False)
    assert written.version[:2] == (2, 3)
    assert {k: repr(v) for k, v in written.items() if not k.startswith(("TCON", "TXXX"))} == \
        {k: v for k, v in before.items() if k != "TCON"}
    assert write.restore_genre(path, "Metal", done.replaced).action == "restored"
    assert {k: repr(v) for k, v in ID3(path, translate=False).items()} == before


def test_a_genre_in_an_apev2_tag_is_kept_without_overwrite(songs, tmp_path):
    from mutagen.apev2 import APEv2

    path = Path(shutil.copy(songs["tone.mp3"], tmp_path / "song.mp3"))
    ID3(path).delete(path)
    ape = APEv2()
    ape["Genre"] = "Jazz"
    ape.save(path)
    before = path.read_bytes()
    assert write.write_genre(path, "metal").record() == {"action": "kept", "old": "Jazz", "new": "Metal"}
    assert path.read_bytes() == before
    assert write.write_genre(path, "jazz").action == "same" and path.read_bytes() == before
    assert write.write_genre(path, "metal", overwrite=True, dry_run=True).beside == "Jazz"  # said before
    written = write.write_genre(path, "metal", overwrite=True)
    assert written.action == "written" and written.record()["beside"] == "Jazz"  # the row says both stand
    assert str(APEv2(path)["Genre"]) == "Jazz" and write.read_genre(path) == "Metal"  # APEv2 is left as it is


def test_a_genre_in_a_wavs_info_chunk_is_kept_without_overwrite(songs, tmp_path):
    import struct

    data = Path(songs["tone.wav"]).read_bytes()
    ignr = b"IGNR" + struct.pack("<I", 5) + b"Jazz\x00" + b"\x00"  # odd length: padded
    info = b"LIST" + struct.pack("<I", 4 + len(ignr)) + b"INFO" + ignr
    body = data[8:] + info
    path = tmp_path / "song.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    before = path.read_bytes()
    assert write.write_genre(path, "metal").record() == {"action": "kept", "old": "Jazz", "new": "Metal"}
    assert path.read_bytes() == before


def test_an_id3v22_tag_is_saved_as_the_v23_it_reads_as(songs, tmp_path):
    """mutagen cannot write ID3v2.2: its year and date must become v2.3's TYER/TDAT, not a v2.4 TDRC."""
    path = Path(shutil.copy(songs["tone.mp3"], tmp_path / "old.mp3"))
    ID3(path).delete(path)
    frames = b"".join(fid + len(data).to_bytes(3, "big") + data for fid, data in
                      [(b"TT2", b"\x00Old Title"), (b"TCO", b"\x00Jazz"), (b"TYE", b"\x002001"), (b"TDA", b"\x000304")])
    size = bytes((len(frames) >> shift) & 0x7F for shift in (21, 14, 7, 0))  # syncsafe
    path.write_bytes(b"ID3\x02\x00\x00" + size + frames + path.read_bytes())
    heard = sound(path)
    done = write.write_genre(path, "metal", overwrite=True)
    written = ID3(path, translate=False)
    assert written.version[:2] == (2, 3) and "TDRC" not in written
    assert (str(written["TYER"]), str(written["TDAT"]), str(written["TIT2"])) == ("2001", "0304", "Old Title")
    assert write.restore_genre(path, "Metal", done.replaced).action == "restored"
    assert str(ID3(path, translate=False)["TCON"]) == "Jazz" and sound(path) == heard


def test_a_tag_that_cannot_be_read_back_is_not_written(tmp_path):
    """A WAV whose odd-sized data chunk lacks its pad byte: mutagen appends an ID3 chunk no reader
    finds, and every run would append another."""
    import struct

    pcm = bytes(range(256)) * 86 + b"\x80"  # 8-bit mono, an odd count
    fmt = struct.pack("<HHIIHH", 1, 1, 22050, 22050, 1, 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm
    path = tmp_path / "odd.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    before = path.read_bytes()
    done = write.write_genre(path, "jazz")
    assert done.action == "failed" and "could not be read back" in done.error
    assert path.read_bytes() == before and not copies(tmp_path)


def test_undo_keeps_an_added_tag_the_user_has_written_to_since(songs, tmp_path):
    path = v1_only(Path(shutil.copy(songs["tone.mp3"], tmp_path / "v1.mp3")))
    done = write.write_genre(path, "metal", overwrite=True)
    tags = ID3(path)
    tags.add(TBPM(encoding=3, text=["120"]))  # a player's tempo: no ID3v1 field holds it
    tags.save(path, v2_version=3)
    assert write.restore_genre(path, "Metal", done.replaced).action == "restored"
    kept = ID3(path)
    assert kept.version >= (2, 0, 0) and str(kept["TBPM"]) == "120"
    assert write.read_genre(path) == "Polka"


def test_undo_takes_back_a_write_whose_row_a_killed_run_lost(songs, tmp_path):
    path = Path(shutil.copy(songs["noise.flac"], tmp_path / "song.flac"))
    audio = mutagen.File(path)
    audio["GENRE"] = ["Orig 06"]
    audio.save()
    before = sound(path)
    run = str(tmp_path / "out.jsonl")
    assert write.write_genre(path, "metal", overwrite=True, run=run).action == "written"  # its row never saved
    resumed = write.write_genre(path, "metal", overwrite=True, run=run)  # the next run finds it done
    assert resumed.action == "same" and resumed.replaced == {"genre": ["Orig 06"], "source": None}
    for out in (tmp_path / "out.jsonl", tmp_path / "again.jsonl"):  # again: as if an undo was killed
        ledger = Ledger(out, ["metal"])  # after it restored the file, before it saved its row
        ledger.append(Row(str(path), verdict={"genre": "metal"}, tag=resumed))
        ledger.close()
        done = tag("--undo", "--out", out)
        assert done.returncode == 0 and "1 restored" in done.stderr and "warning" not in done.stderr, done.stderr
        assert write.read_genre(path) == "Orig 06" and write.read_source(path) is None and sound(path) == before
    assert write.restore_genre(path, "Metal", resumed.replaced).action == "already restored"


def test_an_id3v23_file_holding_its_genres_again_is_already_restored(songs, tmp_path):
    path = Path(shutil.copy(songs["tone.mp3"], tmp_path / "song.mp3"))
    audio = mutagen.File(path)
    if audio.tags is None:
        audio.add_tags()
    audio.tags.add(TCON(encoding=3, text=["Rock", "Jazz"]))
    audio.save(v2_version=4)
    done = write.write_genre(path, "metal", overwrite=True)
    assert done.replaced == {"genre": ["Rock", "Jazz"], "source": None, "encoding": 3}
    audio = mutagen.File(path)  # put back, then saved as ID3v2.3 by a player: one "Rock/Jazz" value
    audio.tags.delall("TXXX")
    audio.tags.delall("TCON")
    audio.tags.add(TCON(encoding=3, text=["Rock", "Jazz"]))
    audio.save(v2_version=3)
    assert write.restore_genre(path, "Metal", done.replaced).action == "already restored"
