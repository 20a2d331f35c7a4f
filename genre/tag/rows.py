"""A song's result (``Row``) and its line in the results file: JSON Lines, or CSV with one column a genre.

JSON Lines rows are the fields of ``predict --json`` plus ``path``, ``paths``, ``size``, ``mtime``,
``sha256``, ``model`` and ``tag`` (what ``--write-tags`` did: ``TagWrite.record()``). A CSV
row flattens the same: one column per genre's probability, ``tag``'s parts in ``tag_*`` columns,
lists and objects as JSON in their cell, every sentence on one line.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field

CSV_HEAD = ["path", "genre", "confidence", "unsure", "why_unsure", "reason"]  # then a column a genre
CSV_TAIL = ["error", "refused", "size", "mtime", "sha256", "tag", "tag_old", "tag_new", "tag_replaced", "tag_error", "paths",
            "model"]
# Added after 1.0's first CSVs: a file without them is read and extended as it is (so a refusal
# in it reads back as a failure; JSON Lines keeps every field).
ADDED_COLUMNS = ("refused",)
OLDER_TAIL = [c for c in CSV_TAIL if c not in ADDED_COLUMNS]  # CSV_TAIL as those files have it
CSV_JSON = ("tag_replaced", "paths")  # cells holding JSON: a list or an object
ONE_LINE = ("error", "tag_error")  # sentences, kept to one line of the file
ROW_START = b'{"path"'  # how every JSON Lines row begins (``job`` puts the path first)
SURROGATES = "surrogateescape"  # a CSV cell keeps a name's bytes that are not UTF-8 as they are
PARQUET_SUFFIX = ".parquet"  # ``--out`` as a folder of Parquet parts (``--ray``): ``ray.ParquetResults``
OWN_KEYS = ("path", "file", "size", "mtime", "sha256", "model", "error", "refused", "tag", "paths")  # the rest: the verdict


@dataclass(frozen=True)
class TagWrite:
    """What ``write.write_genre`` did to one file's genre tag (or ``--undo`` took back); ``record()`` is
    a results row's ``tag``."""

    action: str  # 'written', 'would write', 'kept', 'same', 'unsupported', 'changed', 'failed'; 'unsure', 'undone'
    old: str | None  # the genre there before, or None
    new: str | None  # the label written (``write.tag_value``); with 'undone', the values put back, or None
    replaced: dict | None = None  # {"genre": [values], "source": GENRE_SOURCE or None} before this project's
    # (and, in an ID3 file, what ``fields.replaced_by_write`` adds for undo: "id3v2", "encoding",
    # "id3v1_genre")
    # genre: with 'written', and with 'same' where the file's GENRE_REPLACED says (a killed run's write)
    error: str | None = None  # a sentence, with 'changed' and 'failed'
    beside: str | None = None  # with a write: the genre in a tag this project never changes (an MP3's APEv2,
    # a WAV's LIST/INFO), which stays beside the one written

    def record(self) -> dict:
        """The JSON the results file keeps (``replaced`` and ``error`` only where they apply)."""
        return {k: v for k, v in asdict(self).items() if v is not None or k in ("old", "new")}

    @classmethod
    def from_record(cls, record: dict) -> TagWrite:
        """``record()`` read back."""
        return cls(record["action"], record.get("old"), record.get("new"), record.get("replaced"), record.get("error"),
                   record.get("beside"))


@dataclass
class Row:
    """One song's result, as the results file keeps it (``to_json``, ``from_json``).

    Either ``verdict`` (``Prediction.to_dict()``: the fields of ``predict --json``) or ``error``
    (with ``refused``: too short or silent to judge, not a failure). A row read from a CSV holds
    its verdict as the cells read, a column a genre.
    """

    path: str
    size: int | None = None  # the fingerprint a resumed run compares: size, mtime, content
    mtime: float | None = None
    sha256: str | None = None
    model: str | None = None  # ``job.describe``: ``fused v1``
    error: str | None = None
    refused: bool = False
    verdict: dict = field(default_factory=dict)
    tag: TagWrite | None = None  # with ``--write-tags`` (or ``--dry-run``), what was done to the genre tag
    paths: list[str] | None = None  # every path found to the song (symlinks, hard links), its own first

    @property
    def genre(self) -> str | None:
        return self.verdict.get("genre")

    @property
    def confidence(self):
        return self.verdict.get("confidence")

    @property
    def unsure(self) -> bool:
        return bool(self.verdict.get("unsure"))

    @property
    def reason(self) -> str | None:
        return self.verdict.get("reason")

    @property
    def probabilities(self) -> dict:
        return self.verdict.get("probabilities") or {}

    def set_fingerprint(self, fingerprint: tuple[int, float, str]) -> None:
        """Take ``walk.fingerprint``'s (size, mtime, sha256): the file as it is now."""
        self.size, self.mtime, self.sha256 = fingerprint

    def to_json(self) -> dict:
        """The row as the results file's JSON: ``path`` first (``ROW_START``), ``file`` beside it as
        ``predict --json`` has it, ``refused`` only when true."""
        out = {"path": self.path, "size": self.size, "mtime": self.mtime, "sha256": self.sha256, "file": self.path}
        if self.model is not None:
            out["model"] = self.model
        if self.error is not None:
            out["error"] = self.error
        if self.refused:
            out["refused"] = True
        out.update(self.verdict)
        if self.tag is not None:
            out["tag"] = self.tag.record()
        if self.paths is not None:
            out["paths"] = self.paths
        return out

    @classmethod
    def from_json(cls, data: dict) -> Row:
        """``to_json()`` read back (the keys that are not the row's own are its verdict).

        Raises ``ValueError`` for what is not a row (a line edited by hand): a path that is not text,
        a ``tag`` without its action.
        """
        tag = data.get("tag")
        if not isinstance(data.get("path"), str) or not (
                tag is None or isinstance(tag, dict) and isinstance(tag.get("action"), str)):
            raise ValueError("not a row")
        return cls(data["path"], data.get("size"), data.get("mtime"), data.get("sha256"), data.get("model"),
                   data.get("error"), bool(data.get("refused")),
                   {k: v for k, v in data.items() if k not in OWN_KEYS},
                   TagWrite.from_record(tag) if isinstance(tag, dict) else None, data.get("paths"))


def json_text(value) -> str:
    """``value`` as JSON text that encodes as UTF-8.

    A file name that is not UTF-8 (Latin-1 rips, Samba shares) reaches Python with lone surrogates
    in place of its odd bytes; such a value is written with ``\\u`` escapes, which read back to the
    very same name (and ``os.fsencode`` to the very same bytes). Every other value keeps its letters.
    """
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(value)
    return text


def utf8(text: str) -> bytes:
    """``text``'s bytes: a name's odd bytes (``SURROGATES``) as they were; any other lone surrogate,
    which only odd exception text holds, as ``\\udNNN``."""
    try:
        return text.encode("utf-8", SURROGATES)
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace")


def records(f, csv_format: bool = False):
    """``(offset, record, whole)`` for each row's bytes in a results file open for binary reading.

    A record is a line; in CSV a quoted cell may hold a newline (a file name can), so a line
    whose quotes are not all closed goes on into the next. ``whole`` is False for a last record
    a killed run tore (no newline at its end, or a quote left open).
    """
    offset, start, pending = f.tell(), f.tell(), b""
    for line in f:
        if not pending:
            start = offset
        offset += len(line)
        pending += line
        if csv_format and pending.count(b'"') % 2 and line.endswith(b"\n"):
            continue  # inside a quoted cell: the newline is the cell's
        yield start, pending, pending.endswith(b"\n")
        pending = b""
    if pending:
        yield start, pending, False


def is_parquet(out) -> bool:
    """Whether ``--out`` names a Parquet folder (``results.parquet``) rather than a file of lines."""
    return str(out).lower().endswith(PARQUET_SUFFIX)


def csv_columns(genres: list[str], *, older: bool = False) -> list[str]:
    """The CSV header for a model's genres (``older``: as written before ``ADDED_COLUMNS``)."""
    return [*CSV_HEAD, *genres, *(OLDER_TAIL if older else CSV_TAIL)]


def header_genres(header: list[str]) -> list[str] | None:
    """The genres of a CSV results file's header (of this version or an older one), else None."""
    for tail in (CSV_TAIL, OLDER_TAIL):
        if len(header) > len(CSV_HEAD) + len(tail) and header[:len(CSV_HEAD)] == CSV_HEAD \
                and header[-len(tail):] == tail:
            return header[len(CSV_HEAD):-len(tail)]
    return None


def csv_line(values) -> bytes:
    """``values`` as one CSV line, newline included."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return utf8(buffer.getvalue())


def encode(row: Row, columns: list[str] | None = None) -> bytes:
    """One row as its line, newline included: JSON, or CSV in ``columns`` (``csv_columns``)."""
    data = row.to_json()
    if columns is None:
        return (json_text(data) + "\n").encode()
    values = {**data, **row.probabilities}
    if isinstance(values.get("tag"), dict):
        tag = values["tag"]
        values.update(tag=tag["action"], tag_old=tag.get("old"), tag_new=tag.get("new"),
                      tag_replaced=tag.get("replaced"), tag_error=tag.get("error"))
    for column in CSV_JSON:
        if values.get(column) is not None:
            values[column] = json_text(values[column])
    for column in ONE_LINE:
        if values.get(column):
            values[column] = " ".join(str(values[column]).split())
    return csv_line(["" if values.get(c) is None else values[c] for c in columns])


def decode(line: bytes, columns: list[str] | None = None) -> Row:
    """A line back as a row (CSV: its ``columns``, fingerprint typed).

    Raises
    ------
    ValueError
        The line is damaged or not a row (also ``UnicodeDecodeError``, ``json.JSONDecodeError``).
    """
    text = line.decode("utf-8", SURROGATES if columns is not None else "strict")
    if columns is None:
        row = json.loads(text)
        if not isinstance(row, dict):
            raise ValueError("not a row")
        return Row.from_json(row)  # which checks the path and the tag
    fields = next(csv.reader([text.rstrip("\n")]))
    if len(fields) != len(columns):
        raise ValueError("wrong number of columns")
    row = dict(zip(columns, fields))
    row["size"] = int(row["size"]) if row["size"] else None
    row["mtime"] = float(row["mtime"]) if row["mtime"] else None
    row["sha256"] = row["sha256"] or None
    row["unsure"] = row["unsure"] == "True"
    row["reason"] = row["reason"] or None
    if row.pop("refused", "") == "True":  # as in JSON Lines: only a refused song's row has the key
        row["refused"] = True
    for column in CSV_JSON:
        row[column] = json.loads(row[column]) if row[column] else None
    row["error"], row["model"] = row["error"] or None, row["model"] or None
    old, new, replaced, error = (row.pop(c) for c in ("tag_old", "tag_new", "tag_replaced", "tag_error"))
    row["tag"] = {"action": row["tag"], "old": old or None, "new": new or None, "replaced": replaced,
                  "error": error or None} if row["tag"] else None
    return Row.from_json(row)
