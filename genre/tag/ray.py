"""``tag --ray``: the same job on Ray Data, on a local instance or across a cluster.

The list of songs becomes a Ray dataset; ``map_batches`` sends it through a pool of actors, each
holding the model (one GPU each where the cluster has them, one CPU each otherwise), and the rows
come back to this process in a stream, to the same JSON Lines or CSV file as a plain run, or to
Parquet parts for ``--out *.parquet``. Ray is an optional dependency (``requirements-scale.txt``);
nothing else in the package imports this module.

On a local instance (no ADDRESS) one CPU is left to Ray Data's own tasks: an actor pool that takes
every CPU of a 2-core machine starves them and the job never ends.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
import uuid
from pathlib import Path

from ..errors import GenreError
from . import replace
from .journal import sync_folder
from .ledger import Done, LedgerError, NotResults, Results, done_of
from .rows import Row, json_text, utf8
from .lock import open_locked
from .pool import DEFAULT_TIMEOUT
from .job import Options
from ..logs import QUIET_LEVEL

SONGS_PER_BLOCK = 4  # rows come back block by block: small blocks keep the stream (and the bar) moving
LOCAL_OBJECT_STORE_BYTES = 256 * 2**20  # paths and rows are small; do not reserve 30 % of the RAM
PARQUET_ROWS_PER_PART = 64  # rows buffered before a Parquet part is written
PARQUET_PART_SECONDS = 30.0  # or once a row comes this long after the last part (or the first row)
PART_NAME = "part-{}-{}.parquet"  # nanoseconds, then 8 hex digits: sorted names are the written order
PART_GLOB = "part-*.parquet"  # a part; written as ".<name>.tmp" first, then renamed
REACH_TIMEOUT = 10  # seconds to wait for a cluster's port to answer before Ray is asked (it retries for ever)
PARQUET_COLUMNS = ("path", "size", "mtime", "sha256", "genre", "confidence", "unsure", "error", "record")
ROOT = Path(__file__).resolve().parent.parent


class RayError(GenreError):
    """Ray is missing, or the cluster cannot be reached."""


def require(address: str) -> None:
    """Raise :class:`RayError` now if Ray is missing or the cluster at ``address`` does not answer,
    before the run creates its results file."""
    _prepare(address)
    _ray()
    if not address or address == "auto":
        return
    hostport = address.split("://", 1)[-1]
    if hostport.startswith("["):  # [IPv6]:port
        host, _, port = hostport[1:].partition("]:")
    elif hostport.count(":") == 1:
        host, port = hostport.split(":")
    else:  # a bare IPv6 address, or no port: Ray's to judge
        return
    if port.isdigit():
        try:
            socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT).close()
        except OSError as exc:
            raise RayError(f"Cannot reach Ray at {address}: {exc.strerror or exc}") from exc


def _prepare(address: str) -> None:
    """The environment Ray reads when it is imported: no usage reports, a local instance's auth mode."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not address:  # Ray 2.60's default for a local instance, set before Ray reads its config
        os.environ.setdefault("RAY_AUTH_MODE", "token")


def _ray():
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise RayError("--ray needs Ray: pip install -r requirements-scale.txt") from exc
    return ray


class Analyser:
    """A Ray actor's work: the model loaded once, then batches of paths turned into rows."""

    def __init__(self, model_path, options: Options, threads: int):
        from . import job, journal, walk

        if options.writes:  # this machine's half-done writes in place, if any
            journal.recover(lambda message: print(f"warning: {walk.escaped(message)}", file=sys.stderr))
        self.options = options
        self.model = job.load(model_path, threads)

    def __call__(self, batch: dict) -> dict:
        from . import job

        rows = [job.analyse(os.fsdecode(bytes(path)), self.model, self.options) for path in batch["path"]]
        return {"record": [json_text(r.to_json()) for r in rows]}


def start(address: str):
    """Connect to the cluster at ``address``, or start a local instance (no dashboard) for ''."""
    _prepare(address)
    ray = _ray()
    env = {"env_vars": {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", QUIET_LEVEL)}}
    try:
        if address:
            ray.init(address=address, runtime_env=env, log_to_driver=False, logging_level=logging.WARNING)
        else:
            ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, runtime_env=env,
                     object_store_memory=LOCAL_OBJECT_STORE_BYTES, log_to_driver=False,
                     logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayError(f"Cannot start Ray{f' at {address}' if address else ''}: {exc}") from exc
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    return ray


def actor_plan(resources: dict, local: bool, workers: int | None) -> tuple[int, dict]:
    """How many actors, and what each asks Ray for: a GPU each where there are GPUs, else a CPU.

    Locally one CPU stays free for Ray Data's own tasks.
    """
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
    if gpus:
        return workers or gpus, {"num_gpus": 1, "num_cpus": 1}
    spare = 1 if local or cpus > 1 else 0
    return workers or max(1, cpus - spare), {"num_cpus": 1}


def ray_rows(todo, model_path, workers: int | None, options: Options, address: str,
             timeout: float = DEFAULT_TIMEOUT, warn=print):
    """Rows for the songs in ``todo``, analysed by Ray actors, in the order they finish.

    Ray Data has no per-row deadline, so a ``timeout`` other than the default is not applied:
    ``warn`` says so (each decode is still bounded by ffmpeg's own ``audio.FFMPEG_TIMEOUT``).
    """
    if timeout != DEFAULT_TIMEOUT:
        from ..audio import FFMPEG_TIMEOUT

        warn(f"--timeout is not applied with --ray: there each decode is bounded by ffmpeg's own "
             f"{FFMPEG_TIMEOUT} s limit, and no song is abandoned")
    ray = start(address)
    replace.on_stop_signals()  # Ray's driver took SIGTERM for a stack dump and exit 15: the run's again
    try:
        actors, ask = actor_plan(ray.cluster_resources(), not address, workers)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the run has its own bar
        context.print_on_execution_start = False
        items = [{"path": os.fsencode(entry.path)} for entry in todo]  # bytes: Arrow takes no name that is not UTF-8
        blocks = max(1, min(len(items), max(actors * 2, len(items) // SONGS_PER_BLOCK)))
        model = str(Path(model_path).resolve()) if model_path else None
        dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
            Analyser, batch_size=1, compute=ray.data.ActorPoolStrategy(size=actors),
            fn_constructor_kwargs={"model_path": model, "options": options, "threads": ask["num_cpus"]},
            **ask)
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for record in batch["record"]:
                yield Row.from_json(json.loads(record))
    finally:
        ray.shutdown()


def readable(value):
    """A Parquet string cell: a name that is not UTF-8 with its odd bytes shown as \\xNN (the exact
    name stays in ``record``)."""
    return utf8(value).decode("utf-8", "backslashreplace") if isinstance(value, str) else value


class ParquetResults(Results):
    """``--out *.parquet`` with ``--ray``: a folder of Parquet parts, one written per few rows.

    Each part is written under a temporary name and renamed, so a folder only ever holds whole
    parts; resuming reads the fingerprint columns of every part, in the order they were written
    (a song analysed again after it changed: its latest row wins). The rows buffered for the next
    part (at most ``PARQUET_ROWS_PER_PART``, finished within ``PARQUET_PART_SECONDS``) are what a
    ``kill -9`` loses (Ctrl-C writes them). Parts are never compacted: readers keep the last row of
    each path (``record`` is the whole row, ``refused`` and ``tag`` included). ``row`` reads a song's
    latest record back, so ``tag --undo`` takes back what a Ray run wrote, as for a results file.
    """

    def __init__(self, path, *, write: bool = True):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path, self.write = Path(path), write
        self.index: dict[str, Done] = {}
        self._where: dict[str, tuple[Path, int]] = {}  # path -> the part and row of its latest record
        self._records: tuple[Path | None, list[str]] = (None, [])  # the last part ``row`` read, decoded
        self._rows: list[Row] = []
        self._flushed = None  # when the last part was written, or the first row came
        self._fd = None
        if self.path.exists() and not self.path.is_dir():
            raise NotResults(f"{self.path} is a file, not the folder of Parquet parts a --ray run writes; "
                              "give --out a new name ending in .parquet, or an earlier --ray run's folder.")
        try:
            if write:  # one run per folder, as for a results file (lock.py)
                self.path.mkdir(parents=True, exist_ok=True)
                self._fd = open_locked(self.path, os.O_RDONLY)
                for left in self.path.glob(f".{PART_GLOB}.tmp"):  # parts a killed run was writing
                    left.unlink(missing_ok=True)
            for part in sorted(self.path.glob(PART_GLOB)) if self.path.exists() else ():
                try:
                    records = pq.read_table(part, columns=["record"]).column("record").to_pylist()
                    for i, record in enumerate(records):  # the whole row: settled or not
                        row = Row.from_json(json.loads(record))
                        self.index[row.path] = done_of(row, i)
                        self._where[row.path] = (part, i)
                except (pa.ArrowException, ValueError, KeyError, TypeError, AttributeError) as exc:
                    why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]  # pyarrow's run to many lines
                    raise LedgerError(f"{part} is not a part a --ray run of `tag` wrote ({why}); move it out "
                                      f"of {self.path}, or give --out another folder.") from exc
        except BaseException as exc:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if isinstance(exc, OSError):
                raise LedgerError(f"Cannot use {self.path} for results: {exc.strerror or exc}.") from exc
            raise

    def row(self, path: str) -> Row:
        """``path``'s latest record, as the run wrote it (read in index order, each part is read once)."""
        import pyarrow.parquet as pq

        part, i = self._where[path]
        if self._records[0] != part:
            self._records = (part, pq.read_table(part, columns=["record"]).column("record").to_pylist())
        return Row.from_json(json.loads(self._records[1][i]))

    def refresh(self, path: str, mtime: float) -> bool:
        """Parts are never rewritten: a touched song is analysed again."""
        return False

    def append(self, row: Row) -> None:
        if self.write:
            self._rows.append(row)
            self._flushed = self._flushed or time.monotonic()
            if len(self._rows) >= PARQUET_ROWS_PER_PART or time.monotonic() - self._flushed >= PARQUET_PART_SECONDS:
                self._flush()  # checked as each row comes: a part holds at most 30 s of finished songs

    def close(self) -> None:
        try:
            if self.write and self._rows:
                self._flush()
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([("path", pa.string()), ("size", pa.int64()), ("mtime", pa.float64()),
                            ("sha256", pa.string()), ("genre", pa.string()), ("confidence", pa.float64()),
                            ("unsure", pa.bool_()), ("error", pa.string()), ("record", pa.string())])
        records = [r.to_json() for r in self._rows]
        columns = {c: [readable(r.get(c)) for r in records] for c in PARQUET_COLUMNS[:-1]}
        columns["record"] = [json_text(r) for r in records]  # exact: what the index and undo read
        name = PART_NAME.format(time.time_ns(), uuid.uuid4().hex[:8])  # sorted = written order
        tmp = self.path / f".{name}.tmp"
        pq.write_table(pa.table(columns, schema=schema), tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.path / name)
        sync_folder(self.path)  # the part's name survives a power cut, as a results line does
        self._rows, self._flushed = [], None  # the next part's clock starts with its first row
