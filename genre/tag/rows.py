"""A song's result as a line of the results file: JSON Lines, or CSV with one column a genre.

JSON Lines rows are the fields of ``predict --json`` plus ``path``, ``paths``, ``size``, ``mtime``,
``sha256``, ``model`` and ``tag`` (what ``--write-tags`` did: ``write.write_genre``'s record). A CSV
row flattens the same: one column per genre's probability, ``tag``'s parts in ``tag_*`` columns,
lists and objects as JSON in their cell, every sentence on one line.
"""
from __future__ import annotations

import csv
import io
import json

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


def encode(row: dict, columns: list[str] | None = None) -> bytes:
    """One row as its line, newline included: JSON, or CSV in ``columns`` (``csv_columns``)."""
    if columns is None:
        return (json_text(row) + "\n").encode()
    values = {**row, **(row.get("probabilities") or {})}
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


def decode(line: bytes, columns: list[str] | None = None) -> dict:
    """A line back as a row (CSV: its ``columns``, fingerprint typed).

    Raises
    ------
    ValueError
        The line is damaged or not a row (also ``UnicodeDecodeError``, ``json.JSONDecodeError``).
    """
    text = line.decode("utf-8", SURROGATES if columns is not None else "strict")
    if columns is None:
        row = json.loads(text)
        if not isinstance(row, dict) or "path" not in row:
            raise ValueError("not a row")
        return row
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
    if row["tag"]:
        row["tag"] = {"action": row["tag"], "old": row["tag_old"] or None, "new": row["tag_new"] or None,
                      **({"replaced": row["tag_replaced"]} if row["tag_replaced"] is not None else {}),
                      **({"error": row["tag_error"]} if row["tag_error"] else {})}
    return row
