"""One run per results file: an ``fcntl`` lock held for the whole run, and a sentence naming its holder.

A cron job and a manual run on the same ``--out`` would interleave their rows, and the first to
compact the file would replace it under the other. So a run takes an exclusive ``flock`` on the
results file (on the Parquet folder with ``--ray``) before it reads it, and holds it until it has
closed it; a second run is refused at once. The lock belongs to the open file and dies with the
process (SIGKILL, a power cut): a run that is gone never blocks the next. The holder is named from
``/proc/locks`` where Linux has it: its process id, command line and start time.
"""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from ..errors import GenreError

PROC_LOCKS = Path("/proc/locks")
MAX_COMMAND_CHARS = 200  # a command line longer than this is cut in the sentence


class LedgerBusy(GenreError):
    """Another run holds the results file (its message names it)."""


def hold(fd: int, path) -> None:
    """Take the exclusive lock on ``fd`` (the results file ``path``) or refuse at once.

    Raises
    ------
    LedgerBusy
        Another process holds it.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise LedgerBusy(f"Another run is using {path}: {holder(fd)}. Wait for it to finish, or stop "
                         "it, or give this run another --out; nothing was changed.") from None


def holder(fd: int) -> str:
    """Who holds the flock on ``fd``'s file, in words (best effort: 'another process')."""
    inode = os.fstat(fd).st_ino
    try:
        lines = PROC_LOCKS.read_text().splitlines()
    except OSError:
        return "another process"
    for line in lines:  # "1: FLOCK  ADVISORY  WRITE 2233 00:2e:1234 0 EOF"; waiters show "->"
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and "->" not in fields \
                and fields[5].rsplit(":", 1)[-1] == str(inode):
            return describe(int(fields[4]))
    return "another process"


def describe(pid: int) -> str:
    """'process 123 (python -m genre tag ..., started 09:31:02)', as much as /proc tells."""
    proc = Path(f"/proc/{pid}")
    try:
        command = " ".join(proc.joinpath("cmdline").read_bytes().decode(errors="replace").split("\0")).strip()
    except OSError:
        return f"process {pid}"
    if len(command) > MAX_COMMAND_CHARS:
        command = command[:MAX_COMMAND_CHARS - 3] + "..."
    started = _start_time(proc)
    return f"process {pid} ({command}" + (f", started {started})" if started else ")")


def _start_time(proc: Path) -> str | None:
    """The process's start as local time, from its ticks since boot."""
    try:
        ticks = int(proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    when = boot + ticks / os.sysconf("SC_CLK_TCK")
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))


def open_locked(path, flags: int, mode: int = 0o644) -> int:
    """Open ``path`` and lock it, making sure the lock is on the file the path names now.

    A run that compacted the file replaced it by rename: a lock taken on the old file would
    guard nothing, so the path is opened again until the locked file is the named one.

    Raises
    ------
    LedgerBusy
        Another run holds it.
    OSError
        It cannot be opened.
    """
    while True:
        fd = os.open(path, flags, mode)
        try:
            hold(fd, path)
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
