"""``python -m genre tag --undo --out FILE``: take back the genre tags the runs recorded in FILE wrote.

FILE is a plain run's JSON Lines or CSV, or a ``--ray`` run's Parquet folder (``ray.ParquetResults``,
which needs pyarrow from ``requirements-scale.txt``; the undone rows become a new part).

Every row whose tag was 'written' holds what the write replaced (the genre field's values and any
``GENRE_SOURCE``), as does a 'same' row that found this project's genre already there (a killed
run's write, read back from the file's ``GENRE_REPLACED``). A file whose genre is still the one written, with this project's
``GENRE_SOURCE`` beside it, gets those values back (none: the genre is removed), through the same
safe copy-and-rename as the write; a file the user has changed since is left as it is and
reported. Each undone song with a row gets a new row ('undone', with the file's new fingerprint),
so a second undo and a resumed run leave it alone. With PATHs, the songs under them are also read
for a ``GENRE_REPLACED`` naming FILE (by a digest of its real path) with no row to undo it by (a killed ``--ray`` run's
writes): the file itself then says what to put back. ``--dry-run`` says what would be restored.
"""
from __future__ import annotations

import collections
import csv
import os
import signal
import sys

import mutagen

from . import journal, replace, walk, write
from .ledger import Ledger, LedgerBusy, NotResults
from .rows import Row, TagWrite, header_genres, is_parquet
from .tally import EXIT_BUSY, EXIT_FAILED, EXIT_OK, EXIT_USAGE, progress_bar


def results_genres(out, fallback: list[str]) -> list[str]:
    """The genres a CSV results file was written with (its header), else ``fallback``."""
    if str(out).lower().endswith(".csv"):
        try:
            with open(out, encoding="utf-8", errors="replace") as f:
                header = next(csv.reader([f.readline().rstrip("\r\n")]), [])  # as the ledger reads it
        except OSError:
            return fallback
        return header_genres(header) or fallback
    return fallback


def undo(args, genres: list[str], open_results) -> int:
    """The ``tag --undo`` command on parsed arguments; returns the exit status.

    ``genres`` are the model's, for a CSV whose header does not say them; ``open_results`` is
    ``run.open_results``, which a tag run opens its results file with.
    """
    if args.out is None:
        args.usage_error("--undo needs --out FILE, the .jsonl, .csv or .parquet results of the runs to take back")
    if not os.path.exists(args.out):
        print(f"error: {args.out} does not exist: nothing to undo", file=sys.stderr)
        return EXIT_USAGE  # as a PATH that does not exist: the command was mistyped
    if os.path.isdir(args.out) and not is_parquet(args.out):
        args.usage_error(f"--out {args.out} is a folder: give the .jsonl or .csv results file (or a .parquet folder)")
    try:
        ledger = open_results(args.out, results_genres(args.out, genres), write=not args.dry_run)
    except (LedgerBusy, NotResults) as exc:  # another run's, or not a results file at all: usage
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY if isinstance(exc, LedgerBusy) else EXIT_USAGE
    except ImportError as exc:
        print(f"error: reading {args.out} needs pyarrow: pip install -r requirements-scale.txt ({exc})",
              file=sys.stderr)
        return EXIT_FAILED
    counts, stopped = collections.Counter(), None
    roots = [os.path.abspath(p) for p in args.paths]
    with replace.stop_signals():
        try:
            if not args.dry_run:
                journal.recover(lambda message: print(f"warning: {walk.escaped(message)}", file=sys.stderr))
            chosen = [p for p in ledger.index if walk.under(p, roots)]
            run = os.path.realpath(args.out)
            handled, found = set(), set(chosen)  # the songs undone by their rows; the paths seen under roots
            rows = [row for row in map(ledger.row, chosen) if _undoable(row.tag)]
            with progress_bar(len(rows), "undoing") as bar:
                for row in rows:
                    handled.add(_identity(row.path))
                    with bar.external_write_mode(file=sys.stderr):
                        counts[_undo_one(ledger, row, row.tag, args.dry_run, run=run)] += 1
                    bar.update(1)
            if roots:  # songs a killed --ray run wrote with no row (or a row from before it)
                print(f"undo: reading the tags under {', '.join(map(walk.shown, roots))} for writes "
                      f"{args.out} has no row for", file=sys.stderr)
                recorded = {_identity(p): p for p in ledger.index}
                songs = [e.path for e in walk.walk(roots, on_problem=lambda problem: None)
                         if _identity(e.path) not in handled]
                with progress_bar(len(songs), "reading tags") as bar:
                    for path, tag in _unrecorded(songs, run, bar):
                        found.add(path)
                        known = recorded.get(_identity(path))
                        row = ledger.row(known) if known is not None else Row(path)
                        with bar.external_write_mode(file=sys.stderr):
                            counts[_undo_one(ledger, row, tag, args.dry_run, record=known is not None)] += 1
            for root in roots:
                if not any(walk.under(p, [root]) for p in found):
                    print(f"warning: {walk.shown(root)}: {args.out} holds no song there; nothing to restore",
                          file=sys.stderr)
        except KeyboardInterrupt as exc:
            stopped = getattr(exc, "signum", signal.SIGINT)
        finally:
            with replace.critical(act=False):
                ledger.close()
    done = "would restore" if args.dry_run else "restored"
    changed, cleared = counts["changed since"] + counts["cleared"], counts["cleared"]
    off = f"; this project's fields {'would be ' if args.dry_run else ''}taken off {cleared}" if cleared else ""
    print(f"{'interrupted: ' if stopped else ''}undo: {counts[done]} {done}, {changed} "
          f"changed since (their genre left as it is{off}), {counts['gone']} gone, {counts['failed']} failed",
          file=sys.stderr)
    if stopped:
        return 128 + stopped
    return EXIT_FAILED if counts["failed"] else EXIT_OK


def _undoable(tag: TagWrite | None) -> bool:
    """Whether a row's tag holds a write to take back: 'written', or 'same' with what it replaced."""
    return tag is not None and (tag.action == "written" or tag.action == "same" and tag.replaced is not None)


def _identity(path: str) -> tuple[int, int] | None:
    """The file a path leads to, through symlinks and hard links alike (None: gone)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _written_by(path: str, run: str) -> tuple[str, dict] | None:
    """``write.written_by``, None for a file that cannot be read or parsed."""
    try:
        return write.written_by(path, run)
    except (mutagen.MutagenError, OSError):
        return None


def _unrecorded(songs: list[str], run: str, bar):
    """``(path, tag)`` for each of ``songs`` whose genre a write of ``run`` put there, by its
    ``GENRE_REPLACED``: a ``--ray`` actor writes before the driver saves its row, so a killed run
    can leave such songs without one. Runs are told apart by their results file's real path (its digest).
    ``bar`` counts each song read."""
    for path in songs:
        written = _written_by(path, run)
        bar.update(1)
        if written is not None:
            yield path, TagWrite("written", None, written[0], written[1])


def _undo_one(ledger: Ledger, row: Row, tag: TagWrite, dry_run: bool, record: bool = True,
              run: str | None = None) -> str:
    """Restore one song (or say what would be restored); the action, for the counts. ``record``:
    add an 'undone' row (a song found by its ``GENRE_REPLACED`` alone has none to follow). ``run``:
    the results file's real path, to take back instead a later write of it whose row was lost."""
    path = row.path
    shown = walk.shown(path)
    if not os.path.exists(path):
        print(f"warning: {shown}: gone; nothing to restore", file=sys.stderr)
        return "gone"
    result = write.restore_genre(path, tag.new, tag.replaced, dry_run=dry_run)
    later = _written_by(path, run) if result.action == "changed since" and run else None
    if later is not None:  # a killed --ray --overwrite run of this file wrote over the recorded write
        tag = TagWrite("written", None, later[0], later[1])
        result = write.restore_genre(path, tag.new, tag.replaced, dry_run=dry_run)
    action, before = result.action, "; ".join(result.restored or []) or None
    if action == "would restore":
        print(f"{shown}: would restore {before!r} over {tag.new!r}" if before is not None else
              f"{shown}: would remove {tag.new!r} (it had no genre before)", flush=True)
    elif action == "changed since":
        how = (f"its genre was removed since this project wrote {tag.new!r}" if result.now is None else
               f"its genre is now {result.now!r}, not the {tag.new!r} this project wrote"
               if result.now.strip().lower() != (tag.new or "").strip().lower() else
               "this project's GENRE_SOURCE beside its genre is gone (edited by hand)")
        fields_off = ("; this project's fields beside it " + ("would be" if dry_run else "are") + " taken off"
                      if result.cleared else "")
        print(f"warning: {shown}: {how}: left as it is{fields_off}", file=sys.stderr)
        if result.cleared:
            return "cleared"
    elif action in ("failed", "unsupported"):
        print(f"warning: {shown}: {walk.escaped(result.error or 'no genre field in this format')}", file=sys.stderr)
        return "failed"
    elif action == "already restored" and dry_run:
        print(f"{shown}: already as it was before this project's write", flush=True)
    elif action in ("restored", "already restored"):  # already: an undo killed before it saved the row
        action = "restored"
        if not record:
            return action
        row.tag = TagWrite("undone", tag.new, before)
        try:
            row.set_fingerprint(walk.fingerprint(path))  # a resumed run sees the file as it is now
        except OSError:
            pass
        ledger.append(row)
    return action
