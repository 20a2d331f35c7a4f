"""The results file of ``python -m genre tag``: one line per song, appended so a run can resume.

A line is written whole and made durable (``fsync``) before the next song's, so an interrupted
run (Ctrl-C, kill, power cut) loses at most the songs in flight; a write that fails or comes up
short (a full disk) is cut off again and raised as a ``LedgerError`` with a sentence, so the file
always ends on a whole line. Loading the file indexes every song by path with the size, mtime and
sha256 it had when it was analysed; a torn last line (the write a power cut interrupted) is cut
off, and a damaged or superseded line (a song that changed and was analysed again) is dropped
when the file is compacted, atomically, at the end. A run holds the file's lock (``lock``) from
before it reads it until it is closed: a second run on the same file is refused.

Two formats, by the name's suffix, JSON Lines and ``.csv`` (``rows``). A file that holds no row
of ``tag`` (someone's song or notes, given as ``--out`` by mistake) is refused, never cut or rewritten.
"""
from __future__ import annotations

import csv
import errno
import fcntl
import glob
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import GenreError
from . import rows
from .journal import sync_folder
from .lock import LedgerBusy, open_locked
from .rows import ROW_START, Row, csv_columns
from .replace import critical, remove_leftover

TAG_SETTLED = frozenset({"written", "kept", "same", "unsure", "unsupported", "undone"})  # not to try again
COMPACT_SUFFIX = ".compact"  # the rewritten file before it is renamed over the results
__all__ = ["Done", "Ledger", "LedgerBusy", "LedgerError", "NotResults", "csv_columns", "done_of"]


class LedgerError(GenreError):
    """The results file cannot be read, written, or was written for other genres."""


class NotResults(LedgerError):
    """``--out`` names a file ``tag`` did not write (a song, notes): bad usage, left as it is."""


@dataclass(frozen=True)
class Done:
    """What the results file says about one path: its fingerprint then, and where its line is."""

    size: int | None
    mtime: float | None
    sha256: str | None
    offset: int
    tagged: bool = True  # --write-tags settled this song (or it failed): nothing left to write
    kept: bool = False  # its genre tag was kept: an --overwrite run still has it to write
    failed: bool = False  # it could not be analysed (an error, not a refusal): tried again once it changes
    undone: bool = False  # --undo took its tag back: not written again

    def to_tag(self, overwrite: bool = False) -> bool:
        """Whether a ``--write-tags`` run (with ``overwrite``: one that replaces genres) has to tag it."""
        return not self.tagged or (overwrite and self.kept)


def done_of(row: Row, offset: int) -> Done:
    """What a results row says of its song, for the index (``offset``: where the row is)."""
    action = row.tag.action if row.tag is not None else None
    return Done(row.size, row.mtime, row.sha256, offset, bool(row.error) or action in TAG_SETTLED,
                action == "kept", bool(row.error) and not row.refused, action == "undone")


class Results:
    """What any results file tells a run (``Ledger``, ``ray.ParquetResults``): the songs it holds."""

    index: dict[str, Done]  # path -> its latest row's fingerprint
    write = True  # False: a dry run, which reads and changes nothing
    damaged = 0  # lines that are not rows (edited by hand, or written over): skipped, and gone at compaction
    repaired = 0  # bytes of a torn last line cut off

    def repairs(self) -> str:
        """What reading the file found broken, in words ('' when nothing): said before a run starts."""
        done = "removed" if self.write else "ignored"
        return "; ".join(filter(None, [
            f"{self.damaged} line(s) that are not results {done}" * bool(self.damaged),
            f"a last line a killed run cut short {done} ({self.repaired} bytes)" * bool(self.repaired)]))

    def known(self, path: str, size: int, mtime: float) -> bool:
        """Whether ``path`` was analysed with this very size and mtime (so it is not opened)."""
        done = self.index.get(path)
        return done is not None and done.size == size and done.mtime == mtime


class Ledger(Results):
    """An append-only results file with an index of what it holds.

    Parameters
    ----------
    path : path
        ``*.csv`` for CSV, anything else for JSON Lines. Created when absent.
    genres : list of str
        The model's genres (the CSV's columns).
    write : bool
        False (``--dry-run``) reads the file and never changes it.

    Raises
    ------
    LedgerBusy
        Another run holds the file (``write`` only: a dry run reads without the lock).
    LedgerError
        The file cannot be opened, or is a CSV with other columns.
    """

    def __init__(self, path, genres: list[str], *, write: bool = True):
        self.path = Path(path)
        self.csv = self.path.suffix.lower() == ".csv"
        self.genres = list(genres)
        self.columns = csv_columns(self.genres)
        self.write = write
        self.index: dict[str, Done] = {}
        self.dropped = 0  # damaged or superseded lines, removed by ``close``
        self._fd = None
        try:
            if write:  # locked before it is read: what is read is what this run appends to
                self._fd = open_locked(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                self._remove_stale_compactions()
            self._load()
            if self._fd is not None and self.csv and os.fstat(self._fd).st_size == 0:
                self._write(rows.csv_line(self.columns))
        except (OSError, LedgerError) as exc:
            if self._fd is not None:
                os.close(self._fd)
            if isinstance(exc, LedgerError):
                raise
            raise LedgerError(f"Cannot use {self.path} for results: {exc.strerror or exc}.") from exc

    def __len__(self) -> int:
        return len(self.index)

    def append(self, row: Row) -> None:
        """Write one song's row durably (no-op without ``write``)."""
        if not self.write:
            return
        if row.path in self.index:
            self.dropped += 1  # the older line is superseded
        offset = os.fstat(self._fd).st_size
        with critical():  # Ctrl-C waits for the line's end: never a torn line from a live run
            self._write(self.encode(row))
        self.index[row.path] = done_of(row, offset)

    def row(self, path: str) -> Row:
        """``path``'s row as the file holds it (CSV: its columns)."""
        with open(self.path, "rb") as f:
            f.seek(self.index[path].offset)
            return self.decode(next(rows.records(f, self.csv))[1])

    def refresh(self, path: str, mtime: float) -> bool:
        """Re-append ``path``'s row with a new mtime: touched, but the same bytes (same sha256)."""
        row = self.row(path)
        row.mtime = mtime
        self.append(row)
        return True

    def encode(self, row: Row) -> bytes:
        """One row as its line, newline included."""
        return rows.encode(row, self.columns if self.csv else None)

    def decode(self, line: bytes) -> Row:
        """A line back as a row (CSV: its columns, fingerprint typed); ValueError when damaged."""
        return rows.decode(line, self.columns if self.csv else None)

    def close(self) -> None:
        """Rewrite the file without damaged or superseded lines when there are any, then close it.

        The rewrite is renamed over the file while this run still holds its lock: a run that
        starts meanwhile is refused, or (``lock.open_locked``) opens the rewritten file.
        """
        if self._fd is not None:
            try:
                if self.dropped and self.write:
                    self._compact()
            finally:
                os.close(self._fd)
                self._fd = None

    def _write(self, data: bytes) -> None:
        """Append ``data`` whole, or cut the file back to where it was and raise.

        Raises
        ------
        LedgerError
            The disk is full, the write came up short or failed; the file ends on a whole line.
        """
        start = os.fstat(self._fd).st_size
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                if written <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                view = view[written:]
            os.fsync(self._fd)
        except OSError as exc:
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                pass  # a torn last line is cut off by the next run's load
            raise LedgerError(f"Cannot write to {self.path}: {exc.strerror or exc}. The results so far are "
                              "kept and valid; free some space and run again to resume.") from exc

    def _load(self) -> None:
        if not self.path.exists():
            return
        good_end = 0
        with open(self.path, "rb") as f:
            for number, (start, line, whole) in enumerate(rows.records(f, self.csv)):
                if not whole:
                    break  # a torn last line: cut off below
                good_end = start + len(line)
                if self.csv and number == 0:
                    header = next(csv.reader([line.decode(errors="replace").rstrip("\n")]))
                    if header == csv_columns(self.genres, older=True):
                        self.columns = header  # an older version's file: kept as it is, so it still resumes
                    elif header != self.columns:
                        raise NotResults(f"{self.path} has other columns than this model's genres; "
                                          "use another --out.")
                    continue
                try:
                    row = self.decode(line)
                except ValueError:  # also UnicodeDecodeError and JSONDecodeError
                    self.dropped += 1
                    self.damaged += 1
                    continue
                if row.path in self.index:
                    self.dropped += 1
                self.index[row.path] = done_of(row, start)
        size = self.path.stat().st_size
        if size and not self.index and not self.csv and (self.dropped or not self._starts_a_row()):
            # nothing in it was written by ``tag``: someone's other file, never to be cut or compacted
            raise NotResults(f"{self.path} is not a results file of `tag` (no line of it is a result); "
                              "give --out a new file, or one an earlier run wrote.")
        if size > good_end:
            self.repaired = size - good_end
            if self.write:
                with open(self.path, "r+b") as f:
                    f.truncate(good_end)
                    os.fsync(f.fileno())

    def _starts_a_row(self) -> bool:
        """Whether the file begins as a JSON Lines row does (a first line cut short by a killed run)."""
        with open(self.path, "rb") as f:
            return f.read(len(ROW_START)) == ROW_START

    def _compaction_prefix(self) -> str:
        return f".{self.path.name}."

    def _remove_stale_compactions(self) -> None:
        """Remove the rewrites a run killed while compacting left (their lock died with it)."""
        prefix = self._compaction_prefix()
        exact = re.compile(re.escape(prefix) + r"[a-z0-9_]{8}" + re.escape(COMPACT_SUFFIX))  # mkstemp's name
        for other in self.path.parent.glob(f"{glob.escape(prefix)}*{COMPACT_SUFFIX}"):
            if not exact.fullmatch(other.name):
                continue  # a user's file that only looks like one
            try:
                remove_leftover(other)
            except OSError:
                pass

    def _compact(self) -> None:
        """Rewrite the file without damaged or superseded lines, then rename it over the results.

        Raises
        ------
        LedgerError
            The rewrite failed (a full disk): the results file is left as it was, still valid.
        """
        keep = {done.offset for done in self.index.values()}
        fd, tmp = tempfile.mkstemp(prefix=self._compaction_prefix(), suffix=COMPACT_SUFFIX, dir=self.path.parent)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # a live rewrite: not a leftover for another run to remove
            with open(self.path, "rb") as src, open(fd, "wb", closefd=False) as dst:
                for number, (offset, line, _) in enumerate(rows.records(src, self.csv)):
                    if offset in keep or (self.csv and number == 0):
                        dst.write(line)
                dst.flush()
                os.fsync(fd)
            os.chmod(tmp, os.stat(self.path).st_mode & 0o7777)
            os.replace(tmp, self.path)
        except OSError as exc:
            os.unlink(tmp)
            raise LedgerError(f"Cannot compact {self.path}: {exc.strerror or exc}. It is left as it was "
                              "and stays valid (superseded lines are skipped when it is read).") from exc
        finally:
            os.close(fd)
        sync_folder(self.path.parent)
        self.dropped = 0
