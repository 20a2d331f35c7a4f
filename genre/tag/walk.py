"""A music library on disk: the songs under some paths, found by content, and their fingerprints.

``walk`` goes through files and folders recursively and yields every song it finds with its size
and modification time; it never stops for a problem (an unreadable folder, a symlink loop, a file
that vanished between listing and reading) but reports it through a callback. A file is a song
when its first bytes are those of an audio format ``genre.audio`` decodes; a file with an audio
name (``.mp3`` and the like) whose content is not audio is yielded too, so that its failure is
reported like any other, while covers, playlists and notes are only counted.

A file reached by several paths (symlinks, hard links) is yielded once, under the first path
found; FIFOs, sockets and devices are reported and never opened (opening a FIFO blocks until
someone writes to it); and the copies ``--write-tags`` works on are never taken for songs.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .. import formats
from ..errors import AudioError

AUDIO_SUFFIXES = frozenset(formats.SUFFIXES)
HASH_CHUNK = 1 << 20  # bytes read at a time for sha256
TEMP_PREFIX = ".genre-tmp-"  # a tagged copy in progress (``tempfile.mkstemp`` adds 8 characters)
# exactly those names (mkstemp's alphabet, the song's suffix): a user's ".genre-anything" is never one
TEMP_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")  # a song's suffix a copy keeps (others: none, so it is found)
TEMP_NAME = re.compile(r"\.genre-tmp-[a-z0-9_]{8}(" + TEMP_SUFFIX.pattern + ")?")
SPECIAL = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
           stat.S_IFBLK: "a block device"}


@dataclass(frozen=True)
class Entry:
    """A file to analyse: its absolute path, size in bytes and modification time (seconds)."""

    path: str
    size: int
    mtime: float


@dataclass(frozen=True)
class Problem:
    """Something ``walk`` could not go through.

    ``kind`` is 'unreadable', 'loop', 'vanished' or 'special' (a FIFO, socket or device).
    """

    path: str
    kind: str
    message: str


def temp_suffix(path: str) -> str:
    """The suffix of a tagged copy of ``path``: the song's own when ``is_temp`` knows it again, else none."""
    suffix = os.path.splitext(path)[1]
    return suffix if TEMP_SUFFIX.fullmatch(suffix) else ""


def is_temp(name: str) -> bool:
    """Whether a file name is that of a copy ``--write-tags`` works on (``.genre-tmp-XXXXXXXX.mp3``)."""
    return TEMP_NAME.fullmatch(name) is not None


def shown(path: str) -> str:
    """A path as a terminal line shows it: as is, or escaped (``ascii``) when it holds a newline or the like."""
    return path if path.isprintable() else ascii(path)


def escaped(text: str) -> str:
    """A sentence as a terminal line shows it: each newline, escape code or the like as its ``\\`` escape.

    For messages that quote a file's name (an ``OSError``'s, ffmpeg's): one line each, and no name
    can move the cursor or colour the terminal.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() and c != "\\" else ascii(c)[1:-1] for c in text)  # "\\" too: unambiguous


def open_regular(path, flags: int = os.O_RDONLY) -> int:
    """A file descriptor on ``path``, a regular file: a FIFO put in its place is never waited on.

    Raises
    ------
    OSError
        The file cannot be opened, or is no longer a regular file (``EINVAL``).
    """
    fd = os.open(path, flags | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    os.set_blocking(fd, True)
    return fd


def open_song(path, mode: str = "rb"):
    """``open(path, mode)`` for a regular file only (``open_regular``): a FIFO never blocks it."""
    return open(path, mode, opener=open_regular)


def under(path: str, roots: list[str]) -> bool:
    """Whether ``path`` is one of ``roots`` (absolute) or under one (no roots: every path)."""
    return not roots or any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def is_audio(path: str, size: int) -> bool:
    """Whether a file is audio by its first bytes, or named like audio (so its failure is reported).

    Raises
    ------
    OSError
        The file cannot be opened.
    """
    if Path(path).suffix.lower() in AUDIO_SUFFIXES:
        return True
    if size == 0:
        return False
    with open_song(path) as f:
        head = f.read(formats.HEAD_BYTES)
    try:
        formats.sniff_format(head)
    except AudioError:
        return False
    return True


def walk(paths: Iterable[str | os.PathLike], on_problem: Callable[[Problem], None],
         on_skip: Callable[[str], None] = lambda path: None,
         known: Callable[[str, int, float], bool] = lambda path, size, mtime: False,
         on_alias: Callable[[str, str], None] = lambda first, path: None,
         on_leftover: Callable[[str], None] = lambda path: None) -> Iterator[Entry]:
    """Yield the songs under ``paths`` (files or folders, recursively, in sorted order).

    Parameters
    ----------
    paths : iterable of path
        Files and folders; symlinks to folders are followed once (a loop is reported).
    on_problem : callable
        Called with a ``Problem`` for an unreadable folder or file, a loop, a vanished file, or a
        FIFO, socket or device (never opened).
    on_skip : callable, optional
        Called with the path of each file that is not audio.
    known : callable, optional
        ``known(path, size, mtime)`` true means the file is already analysed as it is: it is
        yielded without being opened (a resumed run opens only new and changed files).
    on_alias : callable, optional
        ``on_alias(first, path)``: ``path`` leads to the file already yielded as ``first`` (a
        symlink or a hard link); it is not yielded again.
    on_leftover : callable, optional
        Called with the path of each copy ``--write-tags`` left behind (a killed run's), in the
        folders walked and in the folders that symlinked songs live in.

    Yields
    ------
    Entry
        One per file, with its absolute path.
    """
    state = _State(on_problem, on_skip, known, on_alias, on_leftover)
    for root in paths:
        yield from state.visit(os.path.abspath(root), top=True)


class _State:
    """What one walk has seen: folders entered, files yielded (by device and inode), folders swept."""

    def __init__(self, on_problem, on_skip, known, on_alias, on_leftover):
        self.on_problem, self.on_skip, self.known = on_problem, on_skip, known
        self.on_alias, self.on_leftover = on_alias, on_leftover
        self.folders: set[tuple[int, int]] = set()
        self.files: dict[tuple[int, int], str] = {}
        self.swept: set[str] = set()

    def visit(self, path: str, top: bool = False) -> Iterator[Entry]:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            kind = "vanished" if not top else "unreadable"
            message = "no such file or folder" if top else "vanished while the library was read"
            if os.path.islink(path):
                kind, message = "unreadable", "a broken symlink"
            self.on_problem(Problem(path, kind, message))
            return
        except OSError as exc:
            kind = "loop" if exc.errno == errno.ELOOP else "unreadable"
            self.on_problem(Problem(path, kind, exc.strerror or str(exc)))
            return
        key = (st.st_dev, st.st_ino)
        if stat.S_ISDIR(st.st_mode):
            yield from self.folder(path, key)
        elif not stat.S_ISREG(st.st_mode):
            what = SPECIAL.get(stat.S_IFMT(st.st_mode), "not a regular file")
            self.on_problem(Problem(path, "special", f"{what}: never opened"))
        elif key in self.files:
            self.on_alias(self.files[key], path)
        else:
            yield from self.file(path, st, key)

    def folder(self, path: str, key) -> Iterator[Entry]:
        if key in self.folders:
            self.on_problem(Problem(path, "loop", "a folder already visited (symlink loop or repeat)"))
            return
        self.folders.add(key)
        try:
            names = sorted(os.listdir(path))
        except OSError as exc:
            self.on_problem(Problem(path, "unreadable", exc.strerror or str(exc)))
            return
        self.swept.add(os.path.realpath(path))
        for name in names:
            if is_temp(name):
                self.on_leftover(os.path.join(path, name))
            else:
                yield from self.visit(os.path.join(path, name))

    def file(self, path: str, st, key) -> Iterator[Entry]:
        entry = Entry(path, st.st_size, st.st_mtime)
        if not self.known(path, st.st_size, st.st_mtime):
            try:
                audio_like = is_audio(path, st.st_size)
            except FileNotFoundError:
                self.on_problem(Problem(path, "vanished", "vanished while the library was read"))
                return
            except OSError as exc:
                self.on_problem(Problem(path, "unreadable", exc.strerror or str(exc)))
                return
            if not audio_like:
                self.on_skip(path)
                return
        self.files[key] = path
        if os.path.islink(path):
            self.sweep(os.path.dirname(os.path.realpath(path)))
        yield entry

    def sweep(self, folder: str) -> None:
        """Report the leftover copies in a symlinked song's own folder, outside those walked."""
        if folder in self.swept:
            return
        self.swept.add(folder)
        try:
            names = os.listdir(folder)
        except OSError:  # the song is reached by its link; its folder need not be readable
            return
        for name in sorted(filter(is_temp, names)):
            self.on_leftover(os.path.join(folder, name))


def sha256(path: str | os.PathLike) -> str:
    """The file's SHA-256, hex.

    Raises
    ------
    OSError
        The file cannot be read.
    """
    digest = hashlib.sha256()
    with open_song(path) as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(path: str | os.PathLike) -> tuple[int, float, str]:
    """``(size, mtime, sha256)`` of a file as it is now (what resuming compares).

    Raises
    ------
    OSError
        The file cannot be read.
    """
    st = os.stat(path)
    digest = sha256(path)
    after = os.stat(path)  # a file rewritten while it was hashed gets the later stat
    if (after.st_size, after.st_mtime) != (st.st_size, st.st_mtime):
        digest = sha256(path)
    return after.st_size, after.st_mtime, digest
