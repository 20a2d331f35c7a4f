"""A safety copy for the tag writes that must be made in place, so a SIGKILL cannot harm a song.

A song with hard links (or in a folder this user may not write in) cannot be changed on a copy
renamed over it: the rename would split its names. mutagen then rewrites it in place, and where
the new tag is larger than the old one that moves every byte of audio after it; a SIGKILL or a
power cut in the middle would leave half-moved audio. So before such a write ``kept`` copies the
song whole into the journal (``$XDG_STATE_HOME/genre/journal``, by default
``~/.local/state/genre/journal``), with a note of which file it is, and removes both once the
write is on disk. A write that fails is undone from the copy at once; one a killed process left
is undone by ``recover``, which every ``tag`` run that writes (and ``--undo``) calls first. The
copy holds an ``fcntl`` lock while its write lives, so a run never restores another's live write.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from pathlib import Path

from .walk import HASH_CHUNK

COPY_SUFFIX, NOTE_SUFFIX = ".song", ".json"  # the song's bytes, and which file they are
PART_SUFFIX = ".part"  # a note being written


def folder() -> Path:
    """Where the safety copies live: ``$XDG_STATE_HOME/genre/journal`` (``~/.local/state`` by default)."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "genre" / "journal"


class NoSafetyCopy(OSError):
    """The journal cannot hold a copy of the song (no room, no state folder): it is not changed."""


@contextlib.contextmanager
def kept(real: str, st: os.stat_result):
    """Within the block the song ``real`` (whose stat is ``st``) may be changed in place: its bytes
    are in the journal until the block ends; if the block raises, they are put back first.

    Raises
    ------
    NoSafetyCopy
        The copy cannot be made; the block does not run and the song is not touched.
    """
    where = folder()
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, copy = tempfile.mkstemp(suffix=COPY_SUFFIX, dir=where)
    except OSError as exc:
        raise NoSafetyCopy(exc.errno, f"no safety copy can be made in {where}: {exc.strerror or exc}") from exc
    note, settled = Path(copy).with_suffix(NOTE_SUFFIX), True  # settled: nothing left for ``recover``
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # this write is alive: no other run restores it
        try:
            with open(real, "rb") as src, open(fd, "wb", closefd=False) as dst:
                shutil.copyfileobj(src, dst, HASH_CHUNK)
                dst.flush()
                os.fsync(fd)
            _write_note(note, {"path": real, "dev": st.st_dev, "ino": st.st_ino, "mtime": st.st_mtime})
        except OSError as exc:
            raise NoSafetyCopy(exc.errno, f"no safety copy can be made in {where}: {exc.strerror or exc}") from exc
        try:
            yield
        except BaseException:
            settled = False
            _put_back(copy, real, st.st_mtime)  # a failed put-back leaves the copy for ``recover``
            settled = True
            raise
    finally:
        if settled:  # the note first, so a copy without one is never restored
            for path in (note, note.with_suffix(PART_SUFFIX), Path(copy)):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        os.close(fd)


def recover(warn=lambda message: None) -> int:
    """Put back every song whose in-place write a killed run left half done; how many.

    A copy still locked belongs to a live run and is left alone; a copy without its note was cut
    short before its song was touched, and is removed. ``warn`` hears of each song put back, and
    of a copy whose song is no longer there (kept, for the user).
    """
    where, restored = folder(), 0
    if not where.is_dir():
        return 0
    for copy in sorted(where.glob(f"*{COPY_SUFFIX}")):
        try:
            fd = os.open(copy, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # a live write
        try:
            restored += _recover_one(copy, warn)
        finally:
            os.close(fd)
    return restored


def _recover_one(copy: Path, warn) -> int:
    note = copy.with_suffix(NOTE_SUFFIX)
    try:
        about = json.loads(note.read_text())
    except FileNotFoundError:  # made before its song was touched
        with contextlib.suppress(FileNotFoundError):
            note.with_suffix(PART_SUFFIX).unlink()
        copy.unlink()
        return 0
    except (OSError, ValueError):
        warn(f"{copy}: a safety copy whose note is unreadable; left for you to look at")
        return 0
    try:
        st = os.stat(about["path"])
        same = (st.st_dev, st.st_ino) == (about["dev"], about["ino"])
    except OSError:
        same = False
    if not same:
        warn(f"{about['path']}: its tag write was cut short and the file is gone or replaced since; "
             f"its bytes before that write are kept in {copy}")
        return 0
    _put_back(str(copy), about["path"], about["mtime"])
    note.unlink()
    copy.unlink()
    warn(f"{about['path']}: a killed run left its tag write half done; the file is put back as it was")
    return 1


def _put_back(copy: str, real: str, mtime: float) -> None:
    """The song's bytes from ``copy`` over ``real``, in place (its links stay), with its old mtime."""
    with open(copy, "rb") as src, open(real, "r+b") as dst:
        shutil.copyfileobj(src, dst, HASH_CHUNK)
        dst.truncate()
        dst.flush()
        os.fsync(dst.fileno())
    os.utime(real, (mtime, mtime))


def _write_note(note: Path, about: dict) -> None:
    """The note, whole or not at all (written aside, then renamed), and durable."""
    aside = note.with_suffix(PART_SUFFIX)
    aside.write_text(json.dumps(about))
    with open(aside, "rb") as f:
        os.fsync(f.fileno())
    os.replace(aside, note)
    dir_fd = os.open(note.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
