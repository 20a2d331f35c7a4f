"""Changing a song's file without harming it: through its links, on a locked copy, never half-done.

``rewrite`` hands a change (a tag write) a copy of the song made beside the file the path leads
to (a symlink's target, so the link stays a link), then renames the copy over that file: an
interruption leaves the old file or the new one, never half of each. The copy is made and
changed through one descriptor that holds an ``fcntl.flock`` lock; the lock dies with the
process, so a copy whose lock is free was left by a run that is gone (SIGKILL, a power cut) and
``remove_leftover`` may delete it, while a live run's copy is never touched.

A read-only file, a file on a read-only mount or another user's is refused with a sentence
(root could rename over it: the permission bits say the owner does not want it changed), and a
file whose size or modification time is no longer what was analysed is not written. Another user's
file that lets this user write it, and a file with extended attributes, are changed in place like a
hard-linked one: a renamed copy would be this user's, without the attributes.

Ctrl-C and SIGTERM become ``Stopped`` (a ``KeyboardInterrupt``) through ``on_stop_signals``; the
copy is removed on the way out, and a change made in place (a hard-linked file, where a rename
would split the links) finishes before the signal is acted on. A change in place is made with the
song's bytes kept in the ``journal``, so that SIGKILL or a power cut cannot leave it half done.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import stat
import tempfile
import threading

from ..errors import GenreError
from . import journal
from .walk import HASH_CHUNK, TEMP_PREFIX, open_song, temp_suffix

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
POLICY_XATTRS = frozenset({"security.selinux"})  # set on every file by policy (a new one gets its own)

_pending: list[int] = []  # a stop signal that arrived inside ``critical``
_critical = 0


class NotWritten(GenreError):
    """The song cannot or must not be changed; the message says why, as a sentence."""


class FileChanged(NotWritten):
    """The song's size or modification time changed since it was analysed."""


class Stopped(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, raised in the main thread; ``signum`` says which."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _on_signal(signum, frame) -> None:
    if _critical:
        _pending.append(signum)
        return
    raise Stopped(signum)


def on_stop_signals() -> None:
    """Make SIGINT and SIGTERM raise ``Stopped`` in this process (its main thread; elsewhere nothing)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_signal)


@contextlib.contextmanager
def stop_signals():
    """Within the block SIGINT and SIGTERM raise ``Stopped``; the handlers before are put back after.

    Only the main thread can set handlers: elsewhere the block changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    on_stop_signals()
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def critical(act: bool = True):
    """A block a stop signal does not interrupt: it is acted on when the block ends.

    With ``act`` false it is dropped instead: the block is the stopping itself (closing the
    workers and the results file), which a second Ctrl-C must not cut short.
    """
    global _critical
    _critical += 1
    try:
        yield
    finally:
        _critical -= 1
        if not _critical and _pending:
            signum = _pending.pop()
            _pending.clear()
            if act:
                raise Stopped(signum)


def check_writable(path: str, st: os.stat_result) -> None:
    """Refuse a file this user may not (or should not) change.

    Raises
    ------
    NotWritten
        Read-only by its permissions, on a read-only file system, or not writable by this user.
    """
    if not st.st_mode & WRITE_BITS:
        raise NotWritten("The file is read-only (no write permission for anyone); not changed.")
    if os.access(path, os.W_OK):
        return
    if os.statvfs(path).f_flag & os.ST_RDONLY:
        raise NotWritten("The file is on a read-only file system; not changed.")
    if st.st_uid != os.geteuid():
        raise NotWritten(f"The file belongs to another user (uid {st.st_uid}) who has not let this "
                         "user write it; not changed.")
    raise NotWritten("This user has no permission to write the file; not changed.")


def check_unchanged(st: os.stat_result, expect: tuple[int, float] | None) -> None:
    """Refuse a file that is no longer the one analysed: ``expect`` is its (size, mtime) then.

    Raises
    ------
    FileChanged
        The size or the modification time differs.
    """
    if expect is not None and (st.st_size, st.st_mtime) != tuple(expect):
        raise FileChanged("The file changed after it was analysed; not written (the next run "
                          "analyses it again).")


def rewrite(path, change, expect: tuple[int, float] | None = None) -> None:
    """Apply ``change`` to the file ``path`` leads to, on a copy renamed over it.

    Parameters
    ----------
    path : path
        The song, or a symlink to it (the link is kept; its target is changed).
    change : callable
        ``change(f)`` with ``f`` a binary file object, open for reading and writing at 0, that
        holds the song's bytes; it changes them in place (mutagen's ``save(f)``).
    expect : (int, float), optional
        The size and mtime the file had when it was analysed: a file that differs is not written.

    Raises
    ------
    NotWritten
        The file may not be written (its sentence says why), or it changed.
    OSError
        Reading, copying or renaming failed (a full disk, an I/O error).
    """
    real = os.path.realpath(path)
    with open_song(real) as src:
        st = os.fstat(src.fileno())
        check_unchanged(st, expect)
        check_writable(real, st)
        if (copy := journal.waiting(st)) is not None:
            raise NotWritten(f"A killed run's safety copy of this file waits in {copy} and could not be put "
                             "back; not changed (the next run that writes tags tries again).")
        try:
            fd, tmp = (None, None) if _in_place(real, st) else tempfile.mkstemp(
                prefix=TEMP_PREFIX, suffix=temp_suffix(real), dir=os.path.dirname(real))
        except OSError:  # a folder this user may not write in, around a file they may
            fd = None
        if fd is None:  # in place: a rename would split links, or lose its owner or attributes
            try:
                with critical(), journal.safety_copy(real, st), open_song(real, "r+b") as f:
                    change(f)
                    os.fsync(f.fileno())
            except journal.NoSafetyCopy as exc:
                raise NotWritten(f"This file can only be changed in place (it is hard-linked, another user's, "
                                 f"has extended attributes, or its folder is not writable), and "
                                 f"{exc.strerror}; not changed.") from exc
            # journal.NotPutBack, an OSError, goes up as it is: its sentence says where the bytes wait
            return
        _replace_with_copy(src, st, real, fd, tmp, change)


def _in_place(real: str, st: os.stat_result) -> bool:
    """Whether the song must be changed in place: a copy renamed over it would split its hard links,
    make another user's file (that lets this user write it) this user's, or drop its extended
    attributes (ACLs, a browser's ``user.xdg.origin.url``), which a copy does not carry."""
    if st.st_nlink > 1 or st.st_uid != os.geteuid() != 0:
        return True
    try:
        return any(name not in POLICY_XATTRS for name in os.listxattr(real))
    except OSError:  # a file system without extended attributes
        return False


def _replace_with_copy(src, st: os.stat_result, real: str, fd: int, tmp: str, change) -> None:
    try:
        with open(fd, "r+b", closefd=False) as copy:
            fcntl.flock(fd, fcntl.LOCK_EX)  # this run's copy: never taken for a leftover
            shutil.copyfileobj(src, copy, HASH_CHUNK)
            copy.flush()
            os.fchmod(fd, st.st_mode & 0o7777)
            if os.geteuid() == 0:
                os.fchown(fd, st.st_uid, st.st_gid)
            copy.seek(0)
            change(copy)
            copy.flush()
            os.fsync(fd)
        check_unchanged(os.stat(real), (st.st_size, st.st_mtime))  # not changed while copied
        if os.stat(tmp, follow_symlinks=False).st_ino != os.fstat(fd).st_ino:
            raise NotWritten("The tagged copy was removed by someone else; not written.")
        os.replace(tmp, real)
        tmp = None
        journal.sync_folder(os.path.dirname(real))
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                if os.stat(tmp, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                    os.unlink(tmp)
        os.close(fd)



def remove_leftover(path) -> bool:
    """Delete a copy that a run which is gone left behind; False when a live run still holds it.

    Raises
    ------
    OSError
        It could not be opened or deleted (permissions).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live run's copy in progress
        if os.stat(path, follow_symlinks=False).st_ino != os.fstat(fd).st_ino:
            return False  # replaced meanwhile: not the file that was checked
        os.unlink(path)
        return True
    finally:
        os.close(fd)
