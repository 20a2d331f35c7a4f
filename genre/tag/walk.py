"""A music library on disk: the songs under some paths, found by content, and their fingerprints.

``walk`` goes through files and folders recursively and yields every song it finds with its size
and modification time; it never stops for a problem (an unreadable folder, a symlink loop, a file
that vanished between listing and reading) but reports it through a callback. A file is a song
when its first bytes are those of an audio format ``genre.audio`` decodes; a file with an audio
name (``.mp3`` and the like) whose content is not audio is yielded too, so that its failure is
reported like any other, while covers, playlists and notes are only counted.
"""
from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .. import audio
from ..errors import AudioError

AUDIO_SUFFIXES = frozenset({".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4",
                            ".aac", ".aif", ".aiff", ".mka", ".webm"})
HEAD_BYTES = 16  # enough for ``audio.sniff_format``
HASH_CHUNK = 1 << 20  # bytes read at a time for sha256
TEMP_PREFIX = ".genre-"  # tagwrite's copies in progress: never songs


@dataclass(frozen=True)
class Entry:
    """A file to analyse: its absolute path, size in bytes and modification time (seconds)."""

    path: str
    size: int
    mtime: float


@dataclass(frozen=True)
class Problem:
    """Something ``walk`` could not go through: ``kind`` is 'unreadable', 'loop' or 'vanished'."""

    path: str
    kind: str
    message: str


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
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
    try:
        audio.sniff_format(head)
    except AudioError:
        return False
    return True


def walk(paths: Iterable[str | os.PathLike], on_problem: Callable[[Problem], None],
         on_skip: Callable[[str], None] = lambda path: None,
         known: Callable[[str, int, float], bool] = lambda path, size, mtime: False) -> Iterator[Entry]:
    """Yield the songs under ``paths`` (files or folders, recursively, in sorted order).

    Parameters
    ----------
    paths : iterable of path
        Files and folders; symlinks to folders are followed once (a loop is reported).
    on_problem : callable
        Called with a ``Problem`` for an unreadable folder or file, a loop or a vanished file.
    on_skip : callable, optional
        Called with the path of each file that is not audio.
    known : callable, optional
        ``known(path, size, mtime)`` true means the file is already analysed as it is: it is
        yielded without being opened (a resumed run opens only new and changed files).

    Yields
    ------
    Entry
        One per song, with its absolute path.
    """
    seen: set[tuple[int, int]] = set()  # (device, inode) of the folders entered
    for root in paths:
        yield from _visit(os.path.abspath(root), seen, on_problem, on_skip, known, top=True)


def _visit(path, seen, on_problem, on_skip, known, top=False) -> Iterator[Entry]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        kind = "vanished" if not top else "unreadable"
        message = "no such file or folder" if top else "vanished while the library was read"
        if os.path.islink(path):
            kind, message = "unreadable", "a broken symlink"
        on_problem(Problem(path, kind, message))
        return
    except OSError as exc:
        on_problem(Problem(path, "loop" if exc.errno == errno.ELOOP else "unreadable", exc.strerror or str(exc)))
        return
    if stat.S_ISDIR(st.st_mode):
        key = (st.st_dev, st.st_ino)
        if key in seen:
            on_problem(Problem(path, "loop", "a folder already visited (symlink loop or repeat)"))
            return
        seen.add(key)
        try:
            names = sorted(os.listdir(path))
        except OSError as exc:
            on_problem(Problem(path, "unreadable", exc.strerror or str(exc)))
            return
        for name in names:
            if name.startswith(TEMP_PREFIX):
                continue
            yield from _visit(os.path.join(path, name), seen, on_problem, on_skip, known)
        return
    if not stat.S_ISREG(st.st_mode):
        on_skip(path)  # a device, a socket, a FIFO: never opened
        return
    entry = Entry(path, st.st_size, st.st_mtime)
    if known(path, st.st_size, st.st_mtime):
        yield entry
        return
    try:
        audio_like = is_audio(path, st.st_size)
    except FileNotFoundError:
        on_problem(Problem(path, "vanished", "vanished while the library was read"))
        return
    except OSError as exc:
        on_problem(Problem(path, "unreadable", exc.strerror or str(exc)))
        return
    if audio_like:
        yield entry
    else:
        on_skip(path)


def sha256(path: str | os.PathLike) -> str:
    """The file's SHA-256, hex.

    Raises
    ------
    OSError
        The file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(path: str | os.PathLike) -> dict:
    """``{"size", "mtime", "sha256"}`` of a file as it is now (what resuming compares).

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
    return {"size": after.st_size, "mtime": after.st_mtime, "sha256": digest}
