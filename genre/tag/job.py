"""One song in, one row out: the work of a ``tag`` worker, a pool process or a Ray actor alike.

A worker loads the model once (``load``; ``pool.serve`` in a pool process), then turns each path
into the row (``rows.Row``) the results file keeps: the fingerprint (size, mtime, sha256), the model, the fields
of ``predict --json``, and with ``--write-tags`` what was done to the file's genre tag. A song that fails gives a row with
``error`` instead, and one too short or silent to judge also ``refused: true`` (not a failure: the
file is fine); nothing a single file does stops the others.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from . import walk
from .rows import Row, TagWrite
from ..errors import GenreError, RefusedError

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


@dataclass(frozen=True)
class Options:
    """What to do besides analysing: write the genre tag, replace one already there, or only say."""

    write_tags: bool = False
    overwrite: bool = False
    dry_run: bool = False
    out: str | None = None  # the results file's real path: named (by its digest) beside the tag for a resumed run

    @property
    def writes(self) -> bool:
        """Whether tags are written (``--write-tags`` without ``--dry-run``)."""
        return self.write_tags and not self.dry_run

    @property
    def tags(self) -> bool:
        """Whether tags are decided at all (``--write-tags`` or ``--dry-run``)."""
        return self.write_tags or self.dry_run


def thread_environment(threads: int) -> dict[str, str]:
    """Environment variables that hold a worker's numeric libraries to ``threads`` threads."""
    return {name: str(max(1, int(threads))) for name in THREAD_VARIABLES}


def limit_threads(threads: int) -> None:
    """Hold this process's networks to ``threads`` threads (before the model is loaded).

    The environment variables reach TensorFlow when it starts and ONNX Runtime (``runtime.threads``),
    so a worker that serves on ONNX Runtime never imports TensorFlow just to limit it.
    """
    os.environ.update(thread_environment(threads))
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(max(1, int(threads)))
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, int(threads))))
    except RuntimeError:  # TensorFlow already started in this process: keep its threads
        pass


def load(model_path=None, threads: int | None = None, verbose: bool = False):
    """The model for a worker, with its threads limited first when ``threads`` is given.

    TensorFlow's start-up log lines are held back unless ``verbose`` (``genre.logs``).
    """
    from ..logs import native_logs

    with native_logs(verbose):
        from .. import load_model  # the package's: the fused model when it ships, else the CNN

        if threads:
            limit_threads(threads)
        return load_model(model_path)


def describe(model) -> str:
    """The model as ``GENRE_SOURCE`` and the results name it: ``fused v1`` or ``cnn v1``."""
    return f"{model.kind} v{model.version}"


def analyse(path: str, model, options: Options = Options()) -> Row:
    """The row for one song.

    Parameters
    ----------
    path : str
        The song's absolute path.
    model
        From ``genre.load_model``.
    options : Options
        Whether and how to write the genre tag.

    Returns
    -------
    Row
        Its fingerprint, the model, and either the verdict (``Prediction.to_dict()``, with ``tag``
        when tags are decided) or ``error`` (and ``refused`` when the audio is too short or silent to
        judge).
    """
    from ..prediction import predict

    row = Row(path, model=describe(model))
    try:
        row.set_fingerprint(walk.fingerprint(path))
    except FileNotFoundError:
        row.error = "The file vanished before it could be analysed."
        return row
    except OSError as exc:
        row.error = f"Cannot read the file: {exc.strerror or exc}."
        return row
    try:
        result = predict(path, model)
    except RefusedError as exc:
        row.error, row.refused = str(exc), True
        return row
    except GenreError as exc:
        row.error = str(exc)
        return row
    except Exception as exc:  # one strange file must not end a run over a whole library
        row.error = f"Unexpected error: {type(exc).__name__}: {exc}"
        return row
    row.verdict = result.to_dict()
    return tag(row, options) if options.tags else row


def tag(row: Row, options: Options) -> Row:
    """Decide (and unless ``dry_run`` write) the genre tag of an analysed song's row.

    Also used on rows of an earlier run without ``--write-tags``: no second analysis is needed.
    Sure or not is the package's own ``Prediction.unsure``; the file is written only if its
    size and mtime are still those the row was analysed with.
    """
    from . import write

    if row.unsure:
        row.tag = TagWrite("unsure", None, None)
    else:
        expect = (row.size, row.mtime) if row.size is not None else None
        row.tag = write.write_genre(row.path, row.genre, overwrite=options.overwrite, dry_run=options.dry_run,
                                    expect=expect, run=options.out, source=write.source_text(row.model, row.confidence))
    if row.tag.action == "written":
        try:
            row.set_fingerprint(walk.fingerprint(row.path))  # resume compares the file as it is now
        except OSError:
            pass
    return row
