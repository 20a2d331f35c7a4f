"""``python -m genre tag``: put a genre on every song of a library, resumably, on every core.

The run walks the paths (``library``), leaves out the songs the results file already holds as they
are (``ledger``), and hands the rest to workers that each load the model once (``tagjob``): a pool
of processes here, or Ray actors with ``--ray`` (``scale``). At most ``SUBMIT_AHEAD`` songs per
worker are in flight, and every row goes to the results file as it arrives, so memory does not
grow with the walk. A progress bar shows on a terminal; a summary ends every run.
"""
from __future__ import annotations

import collections
import concurrent.futures as cf
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

from . import job, walk

SUBMIT_AHEAD = 2  # songs in flight per worker: one being analysed, one waiting
START_METHOD = "spawn"  # a clean process per worker: no TensorFlow state copied by fork
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class Tally:
    """Counts for the progress bar and the summary (never the rows themselves)."""

    def __init__(self):
        self.start = time.monotonic()
        self.analysed = self.failed = self.already = self.not_audio = self.unsure = self.retagged = 0
        self.problems = collections.Counter()  # walk problems by kind
        self.genres = collections.Counter()
        self.tags = collections.Counter()  # tag actions

    def count(self, row: dict) -> None:
        self.analysed += 1
        if row.get("error"):
            self.failed += 1
            return
        self.genres[row["genre"]] += 1
        self.unsure += bool(row.get("unsure"))
        if "tag" in row:
            self.tags[row["tag"]["action"]] += 1
            self.failed += row["tag"]["action"] == "failed"

    def summary(self, interrupted: bool = False) -> str:
        seconds = time.monotonic() - self.start
        rate = self.analysed / seconds if seconds else 0.0
        lines = [f"{'interrupted: ' if interrupted else ''}{self.analysed} song(s) analysed in "
                 f"{_clock(seconds)} ({rate:.2f}/s), {self.failed} failed; {self.already} already "
                 f"in the results and unchanged; {self.not_audio} other file(s) skipped"]
        if self.problems:
            lines.append("not read: " + ", ".join(f"{n} {k}" for k, n in sorted(self.problems.items())))
        if self.genres:
            lines.append("genres: " + ", ".join(f"{g} {n}" for g, n in self.genres.most_common())
                         + (f" ({self.unsure} unsure)" if self.unsure else ""))
        if self.tags:
            lines.append("tags: " + ", ".join(f"{n} {a}" for a, n in self.tags.most_common())
                         + (f" ({self.retagged} from earlier results)" if self.retagged else ""))
        return "\n".join(lines)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


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
    """The results file for ``--out``: Parquet folder (with ``--ray``), CSV or JSON Lines."""
    if out is None:
        return None
    if str(out).lower().endswith(".parquet"):
        from .ray import ParquetResults

        return ParquetResults(out, write=write)
    from .ledger import Ledger

    return Ledger(out, genres, write=write)


def plan(paths, results, tally: Tally, warn, retag: list | None = None) -> list[walk.Entry]:
    """The songs to analyse: all found, less those ``results`` holds unchanged (size, mtime, sha256).

    Unchanged songs whose tag is not settled yet are added to ``retag`` when it is given.
    """

    def problem(p: walk.Problem) -> None:
        tally.problems[p.kind] += 1
        warn(f"{p.path}: {p.message}")

    def skip(path: str) -> None:
        tally.not_audio += 1

    known = results.known if results is not None else (lambda path, size, mtime: False)
    todo = []
    for entry in walk.walk(paths, problem, skip, known):
        if known(entry.path, entry.size, entry.mtime):
            tally.already += 1
            if retag is not None and not results.index[entry.path].tagged:
                retag.append(entry.path)
            continue
        done = results.index.get(entry.path) if results is not None else None
        if done is not None and done.size == entry.size and done.sha256 and results.write:
            try:
                same = walk.sha256(entry.path) == done.sha256
            except OSError:
                same = False
            if same and results.refresh(entry.path, entry.mtime):  # touched, not changed
                tally.already += 1
                continue
        todo.append(entry)
    return todo


def _pool_rows(todo, model_path, workers: int, options: job.Options):
    """Rows from a pool of ``workers`` processes, each with the model; at most a few per worker ahead."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    os.environ.update({k: v for k, v in job.thread_environment(threads).items() if k not in os.environ})
    pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(START_METHOD),
                                  initializer=job.init_worker, initargs=(model_path, threads))
    songs = iter(todo)
    pending = set()
    try:
        while True:
            while len(pending) < workers * SUBMIT_AHEAD:
                entry = next(songs, None)
                if entry is None:
                    break
                pending.add(pool.submit(job.run_in_worker, entry.path, options))
            if not pending:
                break
            finished, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                yield future.result()
    finally:
        for process in list(getattr(pool, "_processes", {}).values()):  # no waiting for songs in flight
            process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


def _local_rows(todo, model_path, workers: int, options: job.Options):
    if workers == 1:
        model = job.load(model_path)
        for entry in todo:
            yield job.analyse(entry.path, model, options)
    else:
        yield from _pool_rows(todo, model_path, workers, options)


def run(args) -> int:
    """The ``tag`` command on parsed arguments; returns the exit status."""
    options = job.Options(args.write_tags, args.overwrite, args.dry_run)
    if args.out is not None and str(args.out).lower().endswith(".parquet") and args.ray is None:
        print("error: --out *.parquet needs --ray (Parquet is written from Ray's results)", file=sys.stderr)
        return EXIT_USAGE
    tty = sys.stderr.isatty()
    bar = None

    def warn(message: str) -> None:
        (bar.write if bar is not None else print)(f"warning: {message}", file=sys.stderr)

    tally = Tally()
    results = open_results(args.out, model_genres(args.model), write=not args.dry_run)
    interrupted = False
    rows = None
    retag = [] if options.tags and hasattr(results, "row") else None
    try:
        todo = plan(args.paths, results, tally, warn, retag)
        for path in retag or ():  # analysed before without --write-tags: tag from the stored verdict
            row = job.tag(results.row(path), options)
            tally.retagged += 1
            tally.tags[row["tag"]["action"]] += 1
            tally.failed += row["tag"]["action"] == "failed"
            _emit(row, results, options)
        if todo:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), unit="song", disable=not tty, file=sys.stderr, dynamic_ncols=True,
                       smoothing=0.1)
            workers = max(1, min(args.workers or os.cpu_count() or 1, len(todo)))
            if args.ray is not None:
                from .ray import ray_rows

                rows = ray_rows(todo, args.model, args.workers, options, args.ray)
            else:
                rows = _local_rows(todo, args.model, workers, options)
            for row in rows:
                tally.count(row)
                _emit(row, results, options)
                bar.update(1)
                bar.set_postfix(failed=tally.failed, refresh=False)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if rows is not None:
            rows.close()  # stops the pool's processes or Ray now, not when collected
        if bar is not None:
            bar.close()
        if results is not None:
            results.close()
    print(tally.summary(interrupted), file=sys.stderr)
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if tally.failed or tally.problems["unreadable"] else EXIT_OK


def _emit(row: dict, results, options: job.Options) -> None:
    """A row to the results file (or stdout); with ``--dry-run`` a line saying what would be written."""
    if options.dry_run:
        tag = row.get("tag")
        if row.get("error"):
            line = f"error: {row['error']}"
        elif tag["action"] == "would write":
            line = f"would write {tag['new']!r}" + (f" over {tag['old']!r}" if tag["old"] else "")
        elif tag["action"] == "unsure":
            line = f"unsure ({row['genre']}?), nothing written"
        else:
            line = f"{tag['action']}: {tag['old']!r} ({row['genre']} heard)"
        print(f"{row['path']}: {line}", flush=True)
    elif results is not None:
        results.append(row)
    else:
        print(json.dumps(row, ensure_ascii=False), flush=True)


def _positive(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of 1 or more, not {text!r}")
    return value


def add_arguments(parser) -> None:
    """The ``tag`` command's arguments, on its sub-parser."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files and folders (walked recursively)")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="results, one line per song (.jsonl; .csv; .parquet with --ray); "
                             "run again with the same FILE to resume (default: JSON Lines on stdout)")
    parser.add_argument("--workers", type=_positive, metavar="N",
                        help="songs analysed in parallel, each worker with its own model "
                             "(default: the cores; with --ray: the actors)")
    parser.add_argument("--write-tags", action="store_true",
                        help="write the genre into each song's metadata when the model is sure")
    parser.add_argument("--overwrite", action="store_true", help="with --write-tags: replace a genre tag already there")
    parser.add_argument("--dry-run", action="store_true",
                        help="say what --write-tags would write; write nothing (no tags, no --out)")
    parser.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                        help="run on Ray Data: a local instance, or the cluster at ADDRESS "
                             "(needs requirements-scale.txt)")
    parser.add_argument("--model", type=Path, help="a .keras model (default: the shipped one)")
    parser.set_defaults(run=run)
