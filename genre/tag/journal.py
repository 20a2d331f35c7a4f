"""A safety copy for the tag writes that must be made in place, so a SIGKILL cannot harm a song.

A song with hard links (or in a folder this user may not write in) cannot be changed on a copy
renamed over it: the rename would split its names. mutagen then rewrites it in place, and where
the new tag is larger than the old one that moves every byte of audio after it; a SIGKILL or a
power cut in the middle would leave half-moved audio. So before such a write ``safety_copy``
copies the song whole into the journal (``$XDG_STATE_HOME/genre/journal``, by default
``~/.local/state/genre/journal``), with a note of which file it is, and removes both once the
write is on disk. A write that fails is undone from the copy at once; one a killed process left
is undone by ``recover``, which every ``tag`` run that writes (and ``--undo``, and each Ray actor
that writes) calls first. A copy holds an ``fcntl`` lock while its write lives, so a run never
restores, nor removes, another's live write.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from .walk import HASH_CHUNK

COPY_SUFFIX, NOTE_SUFFIX = ".song", ".json"  # the song's bytes, and which file they are
PART_SUFFIX = ".part"  # a note being written
FOLDER = ("genre", "journal")  # under the state folder
FOLDER_MODE = 0o700  # the copies are the user's music: for the user alone
CLAIM_TRIES = 3  # a copy another run's ``recover`` took for a leftover before it was locked: make another


def folder() -> Path:
    """Where the safety copies live: ``$XDG_STATE_HOME/genre/journal`` (``~/.local/state`` by default)."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state).joinpath(*FOLDER)


@dataclasses.dataclass(frozen=True)
class Note:
    """Which song a safety copy holds the bytes of, and its mtime before the write."""

    path: str
    dev: int
    ino: int
    mtime_ns: int

    @classmethod
    def read(cls, note: Path) -> Note:
        """The note at ``note``.

        Raises
        ------
        OSError, ValueError, KeyError, TypeError
            It cannot be read, or is not a note (FileNotFoundError: made before its song was touched).
        """
        about = json.loads(note.read_text())
        mtime_ns = int(about["mtime_ns"]) if "mtime_ns" in about else int(float(about["mtime"]) * 1e9)  # older notes
        return cls(str(about["path"]), int(about["dev"]), int(about["ino"]), mtime_ns)

    def is_of(self, st: os.stat_result) -> bool:
        """Whether the file ``st`` is the song this note names."""
        return (self.dev, self.ino) == (st.st_dev, st.st_ino)


class NoSafetyCopy(OSError):
    """No safety copy of the song could be made (no room, no state folder, unreadable): it is not changed."""


class NotPutBack(OSError):
    """A write in place failed and the song could not be put back at once; its copy waits for ``recover``."""


@contextlib.contextmanager
def safety_copy(real: str, st: os.stat_result):
    """Within the block the song ``real`` (whose stat is ``st``) may be changed in place: its bytes
    are in the journal until the block ends; if the block raises, they are put back first.

    Raises
    ------
    NoSafetyCopy
        The copy cannot be made; the block does not run and the song is not touched.
    NotPutBack
        The block raised and the song could not be put back (chained to the block's error).
    """
    fd, copy = _claimed_copy()
    note, settled = copy.with_suffix(NOTE_SUFFIX), True  # settled: nothing left for ``recover``
    try:
        try:
            with open(real, "rb") as src, open(fd, "wb", closefd=False) as dst:
                shutil.copyfileobj(src, dst, HASH_CHUNK)
                dst.flush()
                os.fsync(fd)
            _write_note(note, Note(real, st.st_dev, st.st_ino, st.st_mtime_ns))
        except OSError as exc:
            raise NoSafetyCopy(exc.errno, f"no safety copy could be made ({exc.strerror or exc})") from exc
        try:
            yield
        except BaseException as exc:
            settled = False
            try:
                _put_back(copy, real, st.st_mtime_ns)
            except OSError as failed:
                raise NotPutBack(failed.errno, f"the change failed ({exc}) and the file could not be put back "
                                 f"at once ({failed.strerror or failed}); its bytes are kept in {copy}, and "
                                 "the next run that writes tags puts them back") from exc
            settled = True
            raise
    finally:
        if settled:  # the note first, so a copy without one is never restored
            _remove(note, note.with_suffix(PART_SUFFIX), copy)
        os.close(fd)


def recover(warn: Callable[[str], None] = lambda message: None) -> int:
    """Put back every song whose in-place write a killed run left half done.

    Parameters
    ----------
    warn : callable
        Hears of each song put back, and of each copy that could not be (it is kept for the next
        run, or for the user when its song is gone).

    Returns
    -------
    int
        How many songs were put back. A copy still locked belongs to a live write and is left
        alone; a copy without its note was cut short before its song was touched, and is removed.
    """
    where, restored = folder(), 0
    if not where.is_dir():
        return 0
    for copy in sorted(where.glob(f"*{COPY_SUFFIX}")):
        try:
            fd = os.open(copy, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue  # removed meanwhile by another run's recovery
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _same_file(copy, fd):  # not removed between the open and the lock
                restored += _recover_one(copy, warn)
        except BlockingIOError:
            continue  # a live write
        except (OSError, ValueError, KeyError, TypeError) as exc:  # one bad copy must not stop every run
            warn(f"{copy}: a safety copy that could not be put back ({exc}); kept for the next run")
        finally:
            os.close(fd)
    return restored


def _recover_one(copy: Path, warn) -> int:
    """Put back the song of one unlocked ``copy`` (1), or remove a copy cut short (0)."""
    note = copy.with_suffix(NOTE_SUFFIX)
    try:
        about = Note.read(note)
    except FileNotFoundError:  # made before its song was touched
        _remove(note.with_suffix(PART_SUFFIX), copy)
        return 0
    try:
        same = about.is_of(os.stat(about.path))
    except OSError:
        same = False
    if not same:
        warn(f"{about.path}: its tag write was cut short and the file is gone or replaced since; "
             f"its bytes before that write are kept in {copy}")
        return 0
    _put_back(copy, about.path, about.mtime_ns)
    _remove(note, copy)
    warn(f"{about.path}: a killed run left its tag write half done; the file is put back as it was")
    return 1


def waiting(st: os.stat_result) -> Path | None:
    """The copy of the file ``st`` that a killed write left and ``recover`` could not put back, if any:
    such a file must not be written again until it is (its bytes there are the good ones)."""
    where = folder()
    if not where.is_dir():
        return None
    for note in where.glob(f"*{NOTE_SUFFIX}"):
        try:
            if Note.read(note).is_of(st) and note.with_suffix(COPY_SUFFIX).exists():
                return note.with_suffix(COPY_SUFFIX)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def _claimed_copy() -> tuple[int, Path]:
    """A new, locked, empty copy file in the journal: (its descriptor, its path).

    Raises
    ------
    NoSafetyCopy
        The journal folder cannot be made or written.
    """
    where = folder()
    for _ in range(CLAIM_TRIES):
        try:
            where.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
            fd, name = tempfile.mkstemp(suffix=COPY_SUFFIX, dir=where)
        except OSError as exc:
            raise NoSafetyCopy(exc.errno, f"no safety copy can be made in {where} ({exc.strerror or exc})") from exc
        fcntl.flock(fd, fcntl.LOCK_EX)  # this write is alive: no other run restores or removes it
        if _same_file(Path(name), fd):
            return fd, Path(name)
        os.close(fd)  # another run's recovery removed it before the lock, as a copy cut short
    raise NoSafetyCopy(None, f"no safety copy could be kept in {where}: other runs removed {CLAIM_TRIES} in a row")


def _same_file(path: Path, fd: int) -> bool:
    try:
        return os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _put_back(copy: Path, real: str, mtime_ns: int) -> None:
    """The song's bytes from ``copy`` over ``real``, in place (its links stay), with its old mtime."""
    with open(copy, "rb") as src, open(real, "r+b") as dst:
        shutil.copyfileobj(src, dst, HASH_CHUNK)
        dst.truncate()
        dst.flush()
        os.fsync(dst.fileno())
    os.utime(real, ns=(mtime_ns, mtime_ns))


def _remove(*paths: Path) -> None:
    """Remove ``paths`` (those present), durably: a power cut must not bring a note back."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    sync_folder(paths[0].parent)


def _write_note(note: Path, about: Note) -> None:
    """The note, whole or not at all (written aside, then renamed), and durable."""
    aside = note.with_suffix(PART_SUFFIX)
    aside.write_text(json.dumps(dataclasses.asdict(about)))
    with open(aside, "rb") as f:
        os.fsync(f.fileno())
    os.replace(aside, note)
    sync_folder(note.parent)


def sync_folder(folder) -> None:
    """Make a rename in ``folder`` durable (a power cut after it keeps the new name).

    Shared by the journal, ``replace`` and ``ledger``: every rename the package relies on.
    """
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    except OSError:  # some file systems cannot sync a folder; the rename stands anyway
        pass
    finally:
        os.close(dir_fd)
