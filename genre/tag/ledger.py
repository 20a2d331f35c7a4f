"""The results file of ``python -m genre tag``: one line per song, appended so a run can resume.

A line is written with one ``write`` and made durable (``fsync``) before the next song's, so an
interrupted run (Ctrl-C, kill, power cut) loses at most the songs in flight. Loading the file
indexes every song by path with the size, mtime and sha256 it had when it was analysed; a torn last
line (the write a power cut interrupted) is cut off, and a damaged or superseded line (a song that
changed and was analysed again) is dropped when the file is compacted, atomically, at the end.

Two formats, by the name's suffix: JSON Lines (the rows of ``predict --json`` plus ``path``,
``size``, ``mtime`` and ``sha256``) and ``.csv`` (one column per genre's probability).
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import GenreError

CSV_HEAD = ["path", "genre", "confidence", "unsure"]  # then one column per genre, then CSV_TAIL
CSV_TAIL = ["error", "size", "mtime", "sha256", "tag"]  # tag: what --write-tags did
TAG_SETTLED = frozenset({"written", "kept", "same", "unsure", "unsupported"})  # not to try again
NEWLINE = b"\n"


class LedgerError(GenreError):
    """The results file cannot be read, written, or was written for other genres."""


@dataclass(frozen=True)
class Done:
    """What the results file says about one path: its fingerprint then, and where its line is."""

    size: int | None
    mtime: float | None
    sha256: str | None
    offset: int
    tagged: bool = True  # --write-tags settled this song (or it failed): nothing left to write


def _done(row: dict, offset: int) -> Done:
    tag = row.get("tag")
    action = tag.get("action") if isinstance(tag, dict) else tag
    return Done(row.get("size"), row.get("mtime"), row.get("sha256"), offset,
                bool(row.get("error")) or action in TAG_SETTLED)


def csv_columns(genres: list[str]) -> list[str]:
    """The CSV header for a model's genres."""
    return [*CSV_HEAD, *genres, *CSV_TAIL]


class Ledger:
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
    LedgerError
        The file cannot be opened, or is a CSV with other columns.
    """

    def __init__(self, path, genres: list[str], *, write: bool = True):
        self.path = Path(path)
        self.csv = self.path.suffix.lower() == ".csv"
        self.columns = csv_columns(list(genres))
        self.write = write
        self.index: dict[str, Done] = {}
        self.dropped = 0  # damaged or superseded lines, removed by ``close``
        self.repaired = 0  # bytes of a torn last line cut off
        self._fd = None
        try:
            self._load()
            if write:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                if self.csv and os.fstat(self._fd).st_size == 0:
                    self._write(self._csv_line(self.columns))
        except OSError as exc:
            raise LedgerError(f"Cannot use {self.path} for results: {exc.strerror or exc}.") from exc

    def __len__(self) -> int:
        return len(self.index)

    def known(self, path: str, size: int, mtime: float) -> bool:
        """Whether ``path`` was analysed with this very size and mtime (so it is not opened)."""
        done = self.index.get(path)
        return done is not None and done.size == size and done.mtime == mtime

    def append(self, row: dict) -> None:
        """Write one song's row durably (no-op without ``write``)."""
        if not self.write:
            return
        if row["path"] in self.index:
            self.dropped += 1  # the older line is superseded
        offset = os.fstat(self._fd).st_size
        self._write(self.encode(row))
        self.index[row["path"]] = _done(row, offset)

    def row(self, path: str) -> dict:
        """``path``'s row as the file holds it (CSV: its columns)."""
        with open(self.path, "rb") as f:
            f.seek(self.index[path].offset)
            return self.decode(f.readline())

    def refresh(self, path: str, mtime: float) -> bool:
        """Re-append ``path``'s row with a new mtime: touched, but the same bytes (same sha256)."""
        row = self.row(path)
        row["mtime"] = mtime
        self.append(row)
        return True

    def encode(self, row: dict) -> bytes:
        """One row as its line, newline included."""
        if not self.csv:
            return (json.dumps(row, ensure_ascii=False) + "\n").encode()
        probs = row.get("probabilities") or {}
        values = {**row, **probs}
        if isinstance(values.get("tag"), dict):
            values["tag"] = values["tag"]["action"]
        if values.get("error"):
            values["error"] = " ".join(str(values["error"]).split())  # one line, always
        return self._csv_line(["" if values.get(c) is None else values[c] for c in self.columns])

    def decode(self, line: bytes) -> dict:
        """A line back as a row (CSV: its columns, fingerprint typed); ValueError when damaged."""
        text = line.decode()
        if not self.csv:
            row = json.loads(text)
            if not isinstance(row, dict) or "path" not in row:
                raise ValueError("not a row")
            return row
        fields = next(csv.reader([text.rstrip("\n")]))
        if len(fields) != len(self.columns):
            raise ValueError("wrong number of columns")
        row = dict(zip(self.columns, fields))
        row["size"] = int(row["size"]) if row["size"] else None
        row["mtime"] = float(row["mtime"]) if row["mtime"] else None
        row["sha256"] = row["sha256"] or None
        row["unsure"] = row["unsure"] == "True"
        return row

    def close(self) -> None:
        """Close the file; rewrite it without damaged or superseded lines when there are any."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            if self.dropped:
                self._compact()

    def _write(self, data: bytes) -> None:
        os.write(self._fd, data)
        os.fsync(self._fd)

    def _csv_line(self, values) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(values)
        return buffer.getvalue().encode()

    def _load(self) -> None:
        if not self.path.exists():
            return
        good_end = 0
        with open(self.path, "rb") as f:
            offset = 0
            for number, line in enumerate(f):
                start, offset = offset, offset + len(line)
                if not line.endswith(NEWLINE):
                    break  # a torn last line: cut off below
                good_end = offset
                if self.csv and number == 0:
                    if next(csv.reader([line.decode(errors="replace").rstrip("\n")])) != self.columns:
                        raise LedgerError(f"{self.path} has other columns than this model's genres; "
                                          "use another --out.")
                    continue
                try:
                    row = self.decode(line)
                except ValueError:  # also UnicodeDecodeError and JSONDecodeError
                    self.dropped += 1
                    continue
                if row["path"] in self.index:
                    self.dropped += 1
                self.index[row["path"]] = _done(row, start)
        size = self.path.stat().st_size
        if size > good_end:
            self.repaired = size - good_end
            if self.write:
                with open(self.path, "r+b") as f:
                    f.truncate(good_end)
                    os.fsync(f.fileno())

    def _compact(self) -> None:
        keep = {done.offset for done in self.index.values()}
        tmp = self.path.with_name(f".{self.path.name}.compact")
        with open(self.path, "rb") as src, open(tmp, "wb") as dst:
            offset = 0
            for number, line in enumerate(src):
                if offset in keep or (self.csv and number == 0):
                    dst.write(line)
                offset += len(line)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self.dropped = 0
