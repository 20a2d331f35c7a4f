"""``python -m genre tag``: put a genre on every song of a library, resumably, on every core.

The run walks the paths (``walk``), leaves out the songs the results file already holds as they
are (``ledger``, locked for this run alone), and hands the rest to workers that each load the
model once (``job``): processes watched by ``pool`` here, or Ray actors with ``--ray``
(``ray``). Every row goes to the results file as it arrives, so memory does not grow with the
walk; copies a killed run left are removed on the way. A progress bar shows on a terminal; a
summary ends every run. ``--undo`` (``undo``) takes back the tags a run wrote.

Exit status: 0, 1 when a song failed or a worker died (a song refused as too short or silent is
not a failure), 2 for bad usage or when another run holds
the results file, 128 + the signal when interrupted (130 for Ctrl-C, 143 for SIGTERM).
"""
from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from . import job, journal, replace, walk
from .ledger import LedgerBusy, NotResults
from .pool import DEFAULT_TIMEOUT
from .rows import Row, is_parquet, json_text
from ..verdict import NOT_MUSIC
from .tally import EXIT_BUSY, EXIT_FAILED, EXIT_OK, EXIT_USAGE, Tally, progress_bar


def model_genres(model_path) -> list[str]:
    """A saved model's genres (the CSV's columns), read from its JSON without starting TensorFlow."""
    from ..verdict import GENRES
    from ..cnn import MODEL_DIR, MODEL_PATH, meta_path

    path = Path(model_path) if model_path else MODEL_DIR
    path = meta_path(path) if path.suffix == ".keras" else path / meta_path(MODEL_PATH).name
    try:
        return list(json.loads(path.read_text())["genres"])
    except (OSError, ValueError, KeyError):
        return list(GENRES)  # loading the model will say what is wrong with it


def open_results(out, genres, *, write: bool):
    """The results file for ``--out``, locked for this run: Parquet folder (``--ray``), CSV or JSON Lines.

    Raises
    ------
    LedgerBusy
        Another run holds it.
    """
    if out is None:
        return None
    if is_parquet(out):
        from .ray import ParquetResults  # imports neither Ray nor pyarrow until it reads

        return ParquetResults(out, write=write)
    from .ledger import Ledger

    return Ledger(out, genres, write=write)


def plan(paths, results, tally: Tally, warn, retag: list | None = None, aliases: dict | None = None,
         clean: bool = True, overwrite: bool = False) -> list[walk.Entry]:
    """The songs to analyse: all found, less those ``results`` holds unchanged (size, mtime, sha256).

    Unchanged songs whose tag is not settled yet (with ``overwrite``, also those whose genre was kept)
    are added to ``retag`` when it is given; more paths to one song go to ``aliases`` (first path -> the
    others); copies a killed run left are removed when ``clean`` (a run that writes tags, never a read).
    """
    aliases, todo, seen = {} if aliases is None else aliases, [], set()

    def problem(p: walk.Problem) -> None:
        tally.problems[p.kind] += 1
        seen.add(p.path)  # said as a problem, not again as gone
        warn(f"{walk.shown(p.path)}: {p.message}")

    def skip(path: str) -> None:
        tally.not_audio += 1

    def alias(first: str, path: str) -> None:
        tally.aliases += 1
        aliases.setdefault(first, []).append(path)
        seen.add(path)

    def leftover(path: str) -> None:
        try:
            removed = clean and replace.remove_leftover(path)
        except OSError as exc:
            warn(f"{walk.shown(path)}: a copy left by a killed run, not removed: {exc.strerror or exc}")
            return
        tally.leftovers += bool(removed)

    known = results.known if results is not None else (lambda path, size, mtime: False)

    def already(path: str) -> None:
        done = results.index[path]
        tally.already += 1
        tally.failed_before += done.failed
        tally.undone_before += done.undone

    for entry in walk.walk(paths, problem, skip, known, alias, leftover):
        seen.add(entry.path)
        if known(entry.path, entry.size, entry.mtime):
            already(entry.path)
            if retag is not None and results.index[entry.path].to_tag(overwrite):
                retag.append(entry.path)
            continue
        done = results.index.get(entry.path) if results is not None else None
        if done is not None and done.size == entry.size and done.sha256:  # a dry run too, to say the same
            try:
                same = walk.sha256(entry.path) == done.sha256
            except OSError:
                same = False
            if same and results.refresh(entry.path, entry.mtime):  # touched, not changed
                already(entry.path)
                if retag is not None and results.index[entry.path].to_tag(overwrite):
                    retag.append(entry.path)
                continue
        todo.append(entry)
    roots = [os.path.abspath(p) for p in paths]  # songs the results hold there that are gone (or moved)
    tally.gone = sum(p not in seen and walk.under(p, roots) and not os.path.lexists(p)
                     for p in results.index) if results is not None else 0
    return todo


def run(args) -> int:
    """The ``tag`` command on parsed arguments; returns the exit status."""
    if args.undo:
        from .undo import undo

        if args.write_tags or args.overwrite or args.ray is not None:
            args.usage_error("--undo takes tags back: it cannot be combined with --write-tags, --overwrite or --ray")

        return undo(args, model_genres(args.model), open_results)
    if not args.paths:
        args.usage_error("the following arguments are required: PATH (or --undo --out FILE)")
    if not any(os.path.lexists(p) for p in args.paths):  # a typo: no results file made for it
        args.usage_error(f"no such file or folder: {', '.join(map(walk.shown, args.paths))}")
    if args.overwrite and not (args.write_tags or args.dry_run):
        args.usage_error("--overwrite replaces genre tags, so it needs --write-tags (or --dry-run to see what it would do)")
    if args.out is not None and not args.out.parent.is_dir():
        args.usage_error(f"--out {args.out}: the folder {args.out.parent} does not exist")
    if args.out is not None and args.out.is_dir() and not is_parquet(args.out):
        args.usage_error(f"--out {args.out} is a folder: give a file (.jsonl or .csv) inside it")
    if args.out is not None and is_parquet(args.out) and args.ray is None:
        print("error: --out *.parquet needs --ray (Parquet is written from Ray's results)", file=sys.stderr)
        return EXIT_USAGE
    if args.ray is not None:
        from .ray import RayError, require

        try:
            require(args.ray)
        except RayError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
    try:
        results = open_results(args.out, model_genres(args.model), write=not args.dry_run)
    except (LedgerBusy, NotResults) as exc:  # another run's, or not a results file at all: usage
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY if isinstance(exc, LedgerBusy) else EXIT_USAGE
    with replace.stop_signals():  # Ctrl-C and SIGTERM: stop the workers, no copy left, a summary
        return _tag(args, results)


def _tag(args, results) -> int:
    options = job.Options(args.write_tags, args.overwrite, args.dry_run,
                          os.path.realpath(args.out) if args.out is not None else None)
    bar, tally, stopped, rows, pool, aliases = None, Tally(tagging=options.tags), None, None, None, {}

    def warn(message: str) -> None:
        (bar.write if bar is not None else print)(f"warning: {walk.escaped(message)}", file=sys.stderr)

    def say(line: str) -> None:  # a line of stdout, written above the bar, never into it
        (bar.write if bar is not None else print)(line, file=sys.stdout)
        sys.stdout.flush()

    retag = [] if options.tags and hasattr(results, "row") else None
    if results is not None and (repairs := results.repairs()):
        warn(f"{walk.shown(str(args.out))}: {repairs}")
    try:
        if options.writes:  # a killed run's half-done write in place: put back
            journal.recover(warn)
        todo = plan(args.paths, results, tally, warn, retag, aliases, clean=options.writes,
                    overwrite=options.overwrite)
        for path in retag or ():  # analysed before without --write-tags: tag from the stored verdict
            row = job.tag(results.row(path), options)
            tally.retagged += 1
            tally.count_tag(row.tag)
            _warn_failed(row, warn)
            _emit(row, results, options, aliases, say)
        if todo:
            bar = progress_bar(len(todo))
            if args.ray is not None:
                from .ray import ray_rows

                rows = ray_rows(todo, args.model, args.workers, options, args.ray, args.timeout, warn)
            else:
                from .pool import Pool

                workers = max(1, min(args.workers or os.cpu_count() or 1, len(todo)))
                pool = Pool(args.model, workers, options, timeout=args.timeout, verbose=args.verbose, warn=warn)
                rows = pool.rows(todo)
            for row in rows:
                tally.count(row)
                _warn_failed(row, warn, options)
                _emit(row, results, options, aliases, say)
                bar.update(1)
                bar.set_postfix(failed=tally.failed + tally.tags_failed, refresh=False)
    except KeyboardInterrupt as exc:
        stopped = getattr(exc, "signum", signal.SIGINT)
    finally:
        with replace.critical(act=False):  # stopping already: a second Ctrl-C must not cut it short
            if rows is not None:
                rows.close()  # stops the workers or Ray now, not when collected
            if bar is not None:
                bar.close()
            if results is not None:
                results.close()
    tally.deaths = pool.deaths if pool is not None else 0
    print(tally.summary(stopped is not None), file=sys.stderr)
    if stopped is not None:
        return 128 + stopped
    failed = tally.failed or tally.tags_failed or tally.deaths or tally.problems["unreadable"]
    return EXIT_FAILED if failed else EXIT_OK


def _warn_failed(row: Row, warn, options: job.Options | None = None) -> None:
    """Name a song that could not be analysed (``options``: this run's; a dry run's line says it) or tagged."""
    if options is not None and row.error and not row.refused and not options.dry_run:
        warn(f"{walk.shown(row.path)}: {row.error}")
    if row.tag is not None and row.tag.error:
        warn(f"{walk.shown(row.path)}: tag {row.tag.action}: {row.tag.error}")


def _emit(row: Row, results, options: job.Options, aliases: dict, say=print) -> None:
    """A row to the results file (or stdout); with ``--dry-run`` a line saying what would be written."""
    row.paths = [row.path, *aliases.get(row.path, ())]
    if options.dry_run:
        tag = row.tag
        if row.error:
            line = f"{'refused' if row.refused else 'error'}: {row.error}"
        elif tag.action == "would write":
            line = (f"would write {tag.new!r}" + (f" over {tag.old!r}" if tag.old and tag.old != tag.beside else "")
                    + (f" (the genre {tag.beside!r} in its other tag stays: never changed)" if tag.beside else ""))
        elif tag.error:
            line = f"{tag.action}: {tag.error}"
        elif tag.action == "unsure":
            line = ("not music" if row.reason == NOT_MUSIC else f"unsure ({row.genre}?)") + ", nothing written"
        else:
            line = f"{tag.action}: {tag.old!r} ({row.genre} heard)"
        say(f"{walk.shown(row.path)}: {walk.escaped(line)}")  # an error may quote a name
    elif results is not None:
        results.append(row)
    else:
        say(json_text(row.to_json()))


def _positive(kind):
    def parse(text: str):
        import argparse

        try:
            if (value := kind(text)) > 0:
                return value
        except ValueError:
            pass
        raise argparse.ArgumentTypeError(f"must be a number above 0, not {text!r}")

    return parse


def add_arguments(parser) -> None:
    """The ``tag`` command's arguments, on its sub-parser."""
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files and folders (walked recursively)")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="results, one line per song (.jsonl; .csv; .parquet with --ray); "
                             "run again with the same FILE to resume; one run at a time per FILE "
                             "(default: JSON Lines on stdout)")
    parser.add_argument("--workers", type=_positive(int), metavar="N",
                        help="songs analysed in parallel, each worker with its own model "
                             "(default: the cores; with --ray: the actors)")
    parser.add_argument("--timeout", type=_positive(float), default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help="abandon a song that takes longer, with an error row "
                             f"(default: {DEFAULT_TIMEOUT:g}; not with --ray, where each decode is bounded instead)")
    parser.add_argument("--write-tags", action="store_true",
                        help="write the genre (and GENRE_SOURCE) into each song's metadata when the model is sure")
    parser.add_argument("--overwrite", action="store_true", help="with --write-tags: replace a genre tag already there")
    parser.add_argument("--dry-run", action="store_true",
                        help="say what --write-tags or --undo would write; write nothing (no tags, no --out)")
    parser.add_argument("--undo", action="store_true",
                        help="with --out FILE: put back the genres the runs recorded there replaced, in "
                             "files whose genre is still the one this project wrote (PATHs: only those, "
                             "and any there whose GENRE_REPLACED names FILE without a row)")
    parser.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                        help="run on Ray Data: a local instance, or the cluster at ADDRESS "
                             "(needs requirements-scale.txt)")
    parser.add_argument("--model", type=Path,
                        help="a model folder or a CNN's .keras file (default: the shipped model/)")
    parser.add_argument("--verbose", action="store_true", help="also show TensorFlow's and CUDA's log lines")
    parser.set_defaults(run=run, usage_error=parser.error)
