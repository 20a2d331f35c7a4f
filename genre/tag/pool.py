"""The worker processes of ``tag``: a worker that dies or hangs costs its song, never the run.

Each worker is a process of its own (started by ``spawn``: no TensorFlow state copied by fork)
that loads the model once and then analyses one song at a time, sent through its pipe. The run
watches every pipe and every process at once: a worker that dies (SIGKILL, the out-of-memory
killer, a crash in a native library) or spends longer than ``--timeout`` on a song is replaced,
and its song gets an error row saying so; the other songs go on. A song is only ever with one
worker, so each is analysed once.

Workers ignore Ctrl-C (the terminal sends it to the whole group): the run decides, and stops
them with SIGTERM, which each turns into ``replace.Stopped`` so that a tagged copy in progress is
removed; one that does not stop within ``STOP_GRACE_SECONDS`` is killed, and the copies it held
are removed by the run (their locks died with it). A worker whose run is gone stops itself.
"""
from __future__ import annotations

import collections
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time

from . import job, replace, walk
from .rows import Row
from ..errors import GenreError

START_METHOD = "spawn"
DEFAULT_TIMEOUT = 300.0  # seconds a song may take (--timeout): far above a slow CPU's few seconds
STARTUP_SECONDS = 600.0  # a worker that has not loaded the model by then is stuck
STOP_GRACE_SECONDS = 5.0  # after SIGTERM, before SIGKILL
MAX_FAILED_STARTS = 3  # workers in a row dead before loading the model: something is broken
PARENT_POLL_SECONDS = 1.0  # how often a worker checks that the run that started it lives


class WorkerError(GenreError):
    """The workers cannot start: the model does not load, or they die before it does."""


def serve(conn, model_path, threads: int, options: job.Options, verbose: bool) -> None:
    """A worker's life: load the model, say 'ready', then one row per path received."""
    replace.on_stop_signals()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the run decides, and stops workers with SIGTERM
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)  # the run was killed: clean up, do not go on as an orphan
        time.sleep(STOP_GRACE_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    try:
        try:
            model = job.load(model_path, threads, verbose)
        except GenreError as exc:
            conn.send(("failed", str(exc)))
            return
        conn.send(("ready", None))
        while (path := conn.recv()) is not None:
            conn.send(("row", job.analyse(path, model, options)))
    except (replace.Stopped, EOFError, BrokenPipeError):
        return


def death(exitcode: int | None) -> str:
    """How a process ended, in words: 'was killed by SIGKILL, perhaps out of memory'."""
    if exitcode is None:
        return "was stopped"
    if exitcode < 0:
        name = signal.Signals(-exitcode).name
        return f"was killed by {name}" + (", perhaps out of memory" if name == "SIGKILL" else "")
    return f"exited with status {exitcode}"


def error_row(path: str, message: str) -> Row:
    """A song's row when it was not analysed; no fingerprint, so the next run tries it again."""
    return Row(path, error=message)


class _Worker:
    def __init__(self, context, args):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child, *args), daemon=True)
        self.process.start()
        child.close()
        self.ready, self.song, self.since = False, None, time.monotonic()

    def deadline(self, timeout: float) -> float | None:
        if not self.ready:
            return self.since + STARTUP_SECONDS
        return self.since + timeout if self.song is not None else None


class Pool:
    """``workers`` processes analysing songs; ``rows(todo)`` yields a row per song as it ends.

    ``deaths`` counts the workers that died or were stopped for ``--timeout``; ``warn`` is told of each.
    """

    def __init__(self, model_path, workers: int, options: job.Options, *, timeout: float = DEFAULT_TIMEOUT,
                 verbose: bool = False, warn=lambda message: None):
        threads = max(1, (os.cpu_count() or 1) // workers)
        os.environ.update({k: v for k, v in job.thread_environment(threads).items() if k not in os.environ})
        self.context = multiprocessing.get_context(START_METHOD)
        self.args = (model_path, threads, options, verbose)
        self.size, self.options, self.timeout, self.warn = workers, options, timeout, warn
        self.workers: list[_Worker] = []
        self.deaths = self.failed_starts = 0

    def rows(self, todo):
        """Rows for the songs in ``todo`` (``walk.Entry``), in the order they finish."""
        queue = collections.deque(todo)
        try:
            self.workers = [_Worker(self.context, self.args) for _ in range(min(self.size, len(queue)))]
            while queue or any(w.song is not None for w in self.workers):
                self._dispatch(queue)
                yield from self._wait(queue)
        finally:
            self.close()

    def _dispatch(self, queue) -> None:
        for worker in self.workers:
            if worker.ready and worker.song is None and queue:
                worker.song, worker.since = queue.popleft(), time.monotonic()
                try:
                    worker.conn.send(worker.song.path)
                except OSError:  # it died meanwhile: the song goes back, the death is seen next
                    queue.appendleft(worker.song)
                    worker.song = None

    def _wait(self, queue):
        deadlines = [d for w in self.workers if (d := w.deadline(self.timeout)) is not None]
        wait = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        ready = set(multiprocessing.connection.wait(
            [w.conn for w in self.workers] + [w.process.sentinel for w in self.workers], wait))
        for worker in list(self.workers):
            if worker.conn in ready:
                try:
                    kind, payload = worker.conn.recv()
                except (EOFError, OSError):
                    yield from self._replace(worker, queue, None)
                    continue
                if kind == "failed":
                    raise WorkerError(payload)
                if kind == "ready":
                    worker.ready, self.failed_starts = True, 0
                else:
                    worker.song = None
                    yield payload
            elif worker.process.sentinel in ready:
                yield from self._replace(worker, queue, None)
            elif (d := worker.deadline(self.timeout)) is not None and time.monotonic() >= d:
                yield from self._replace(worker, queue, self.timeout if worker.ready else STARTUP_SECONDS)

    def _replace(self, worker: _Worker, queue, timed_out: float | None):
        """A worker dead or out of time: its song's error row, its leftovers gone, a new worker."""
        self.workers.remove(worker)
        self._stop([worker])
        self.deaths += 1
        how = f"was stopped after {timed_out:g} s" if timed_out is not None else death(worker.process.exitcode)
        if not worker.ready:
            self.failed_starts += 1
            self.warn(f"a worker {how} before its model was loaded")
            if self.failed_starts >= MAX_FAILED_STARTS:
                raise WorkerError(f"{self.failed_starts} workers in a row ended before loading the model (the "
                                  f"last {how}); run with --verbose to see why.")
        elif worker.song is None:
            self.warn(f"an idle worker {how}; a new one takes its place")
        elif timed_out is not None:  # the run names the song with its row's error (``run._warn_failed``)
            yield error_row(worker.song.path, f"Abandoned: not analysed within --timeout {timed_out:g} s, "
                                              "so its worker was stopped; the next run tries it again.")
        else:
            yield error_row(worker.song.path, f"The worker analysing this song died: it {how}. The next "
                                              "run tries it again.")
        if queue or any(w.song is not None for w in self.workers):
            self.workers.append(_Worker(self.context, self.args))

    def _stop(self, workers: list[_Worker]) -> None:
        """SIGTERM, then SIGKILL after the grace; then the tagged copies their songs left go."""
        for worker in workers:
            if worker.process.is_alive():
                worker.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
            if worker.song is not None and self.options.write_tags:
                remove_leftovers(os.path.dirname(os.path.realpath(worker.song.path)))

    def close(self) -> None:
        """Stop every worker now (a song in flight is left for the next run)."""
        with replace.critical(act=False):  # a second Ctrl-C must not leave workers behind
            self._stop(self.workers)
            self.workers = []


def remove_leftovers(folder: str) -> int:
    """Delete the tagged copies in ``folder`` whose run is gone; how many."""
    try:
        names = [n for n in os.listdir(folder) if walk.is_temp(n)]
    except OSError:
        return 0
    removed = 0
    for name in names:
        try:
            removed += replace.remove_leftover(os.path.join(folder, name))
        except OSError:
            pass
    return removed
