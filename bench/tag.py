"""Library benchmark: ``python -m genre tag`` on 3-4 minute MP3s of real music (the demo tracks in turn).

Measures songs a second with one worker and with every core (the process pool) and on a local Ray
instance; the peak memory (VmHWM) of each worker; where one song's time goes (hashing, decoding,
spectrograms, the network); then projects what 100,000 songs cost. Prints a Markdown table and
writes JSON with ``--json FILE``. Asserts nothing.

Run: ``nice python -m bench.tag [--songs 16] [--no-ray]``. The Ray run needs root for a network
namespace with only loopback (``unshare -n``): Ray binds the machine's interface address
otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # `python bench/tag.py` as the issue runs it, besides `python -m`
    sys.path.insert(0, str(ROOT))

from genre import audio, load_model
from genre.tag import walk
from genre.prediction import clip_windows, judge_samples, predict
from tests.support import machine, sounds

BITRATE = "192k"
PROJECT_SONGS = 100_000
POLL_SECONDS = 0.1
# this user's, kept between runs: in the user's cache, not a guessable name in the shared /tmp
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "genre" / "bench-library"
CPUACCT = Path("/sys/fs/cgroup/cpuacct")  # cgroup v1: CPU time of a run and all it starts, Ray included


def make_song(path: Path, seed: int) -> Path:
    """A 3-4 minute 44.1 kHz stereo MP3 of real music: the demo tracks in turn from the ``seed``-th.

    (Generated chords and drums, as before 2026-12-05, are not music to the model, which hears
    such a song twice: that timed the not-music path, not a library's songs.)
    """
    seconds = int(np.random.default_rng(seed).integers(180, 241))
    return sounds.medley(path, seconds, first=seed, bitrate=BITRATE)


def songs(count: int) -> Path:
    """The folder of ``count`` songs, made once and kept in this user's cache (``CACHE``)."""
    folder = CACHE / f"medley-{count}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for i in range(count):
        song = folder / f"song{i:03d}.mp3"
        if not song.exists():  # made under a name of its own, then renamed: a killed run leaves no half song
            fd, part = tempfile.mkstemp(prefix=".song-", suffix=".mp3", dir=folder)
            os.close(fd)
            try:
                os.replace(make_song(Path(part), i), song)
            finally:
                Path(part).unlink(missing_ok=True)
    return folder


def _cpu() -> float:
    """CPU seconds of this process and its finished children (ffmpeg), all threads."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def breakdown(folder: Path, count: int = 3) -> dict:
    """Per song, in one process with the shipped model warm: wall and CPU seconds of each stage.

    ``network`` is the whole analysis of the decoded samples less its spectrograms: the model's
    forward pass (the CNN, and the backbone where the model has one) and the averaging.
    """
    model = load_model()
    paths = sorted(folder.glob("*.mp3"))[:count]
    predict(paths[0], model)  # warm: numba, the traced network
    wall = {"sha256": [], "decode": [], "spectrograms": [], "network": []}
    cpu = {stage: [] for stage in wall}
    for path in paths:
        marks = [(time.perf_counter(), _cpu())]
        walk.sha256(path)
        marks.append((time.perf_counter(), _cpu()))
        samples = audio.decode(path)
        marks.append((time.perf_counter(), _cpu()))
        clip_windows(samples)
        marks.append((time.perf_counter(), _cpu()))
        judge_samples(samples, model)
        marks.append((time.perf_counter(), _cpu()))
        for i, stage in enumerate(wall):
            wall[stage].append(marks[i + 1][0] - marks[i][0])
            cpu[stage].append(marks[i + 1][1] - marks[i][1])
        wall["network"][-1] -= wall["spectrograms"][-1]  # judge_samples renders the spectrograms again
        cpu["network"][-1] -= cpu["spectrograms"][-1]
    return {"wall": {k: statistics.median(v) for k, v in wall.items()},
            "cpu": {k: max(0.0, statistics.median(v)) for k, v in cpu.items()}}


def _tree(root: int) -> list[int]:
    """``root`` and every process under it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _peak_mib(pid: int) -> tuple[float, str] | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024, command
    return None


def _cgroup() -> Path | None:
    """A fresh cpuacct cgroup (root only), or None: then CPU time is what the driver reaps."""
    group = CPUACCT / f"genre-bench-{os.getpid()}-{time.monotonic_ns()}"
    try:
        group.mkdir()
    except OSError:
        return None
    return group


def timed_run(args: list[str], out: Path, namespace: bool = False) -> dict:
    """Run ``tag``, following its processes' peak memory and CPU time."""
    command = [sys.executable, "-m", "genre", "tag", *args, "--out", str(out)]
    if namespace:
        inner = shlex.join(command)
        command = ["unshare", "-n", "sh", "-c", f"ip link set lo up && exec {inner}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    group = _cgroup()

    def join() -> None:
        if group is not None:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    start, cpu_before = time.monotonic(), _cpu()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, preexec_fn=join)
    peaks: dict[int, tuple[float, str]] = {}
    while process.poll() is None:
        for pid in _tree(process.pid):
            seen = _peak_mib(pid)
            if seen and seen[0] >= peaks.get(pid, (0, ""))[0]:
                peaks[pid] = seen
        time.sleep(POLL_SECONDS)
    stderr = process.stderr.read()
    total, cpu = time.monotonic() - start, _cpu() - cpu_before  # what the driver reaped
    if group is not None:
        for _ in range(100):  # Ray's processes end a moment after the driver
            if not (group / "cgroup.procs").read_text().split():
                break
            time.sleep(0.1)
        cpu = int((group / "cpuacct.usage").read_text()) / 1e9
        try:
            group.rmdir()
        except OSError:
            pass
    elif namespace:
        cpu = None  # Ray's processes are not the driver's to reap
    lines = out.read_bytes().count(b"\n") if out.exists() else 0
    workers = [mib for pid, (mib, cmd) in peaks.items()
               if "multiprocessing" in cmd and "resource_tracker" not in cmd or cmd.startswith("ray::")]
    main = peaks.get(process.pid, (0.0, ""))[0]
    return {"songs": lines, "seconds": round(total, 1), "songs_per_s": round(lines / total, 3),
            "exit": process.returncode,
            "cpu_s": round(cpu, 1) if cpu is not None else None,
            "driver_peak_mib": round(main), "worker_peak_mib": round(max(workers)) if workers else round(main),
            "summary": stderr.strip().splitlines()[-3 if process.returncode in (0, 1) else -20:]}


def marginal(big: dict, small: dict) -> float | None:
    """Songs a second once started: the extra songs of the bigger run over its extra time."""
    extra, seconds = big["songs"] - small["songs"], big["seconds"] - small["seconds"]
    return round(extra / seconds, 3) if extra > 0 and seconds > 0 else None


def subset(folder: Path, count: int) -> Path:
    """A folder with hard links to the first ``count`` songs of ``folder``."""
    small = folder.parent / f"{folder.name}-first{count}"
    small.mkdir(exist_ok=True)
    for path in sorted(folder.glob("*.mp3"))[:count]:
        if not (small / path.name).exists():
            os.link(path, small / path.name)
    return small


def projection(results: dict, stages: dict, cores: int, mib: float) -> list[tuple[str, str]]:
    """Hours for ``PROJECT_SONGS`` songs: measured rates here, and from the CPU seconds a song costs."""
    rows = []
    for name, label in (("plain_1", "1 worker"), ("plain_all", f"{cores} workers"), ("ray", "local Ray")):
        run = results.get(name, {})
        rate = run.get("marginal_songs_per_s")
        if run.get("songs") and rate:
            rows.append((f"this machine as measured (shared, loaded), {label}: {rate:.2f} songs/s",
                         f"{PROJECT_SONGS / rate / 3600:.1f} h"))
    cpu = stages["cpu"]
    per_song = results["plain_all"].get("cpu_s_per_song") or sum(cpu.values())
    idle = cores / per_song
    rows.append((f"1 idle machine of {cores} cores ({per_song:.2f} CPU-s a song): {idle:.2f} songs/s",
                 f"{PROJECT_SONGS / idle / 3600:.1f} h"))
    ray_song = results.get("ray", {}).get("cpu_s_per_song")
    if ray_song:
        rows.append((f"1 idle machine on local Ray, {cores - 1} actor(s) ({ray_song:.2f} CPU-s a song): "
                     f"{max(1, cores - 1) / ray_song:.2f} songs/s",
                     f"{PROJECT_SONGS / (max(1, cores - 1) / ray_song) / 3600:.1f} h"))
    for machines in (10, 100):
        rows.append((f"{machines} such machines on Ray: {machines * idle:.1f} songs/s",
                     f"{PROJECT_SONGS / (machines * idle) / 3600:.2f} h"))
    gpu = cores / (per_song * (1 - cpu["network"] / sum(cpu.values())))
    rows.append((f"1 such machine with a GPU for the network: {gpu:.2f} songs/s (decoding stays on the CPU)",
                 f"{PROJECT_SONGS / gpu / 3600:.1f} h"))
    gbit = PROJECT_SONGS * mib * 2**20 / 125e6
    rows.append((f"reading {PROJECT_SONGS:,} songs of {mib:.1f} MiB from one 1 Gbit/s file server",
                 f"{gbit / 3600:.1f} h at least"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=16)
    parser.add_argument("--small", type=int, default=4, help="songs of the short run that measures start-up")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    folder = songs(args.songs)
    size = sum(p.stat().st_size for p in folder.glob("*.mp3")) / args.songs
    stages = breakdown(folder)
    small = subset(folder, args.small)
    runs = {"plain_1": (["--workers", "1"], False), "plain_all": (["--workers", str(cores)], False)}
    if not args.no_ray and os.geteuid() == 0 and shutil.which("unshare"):
        runs["ray"] = (["--ray"], True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (extra, namespace) in runs.items():
            results[name] = timed_run([str(folder), *extra], Path(tmp) / f"{name}.jsonl", namespace)
            short = timed_run([str(small), *extra], Path(tmp) / f"{name}-small.jsonl", namespace)
            rate = results[name]["marginal_songs_per_s"] = marginal(results[name], short)
            results[name]["start_s"] = round(short["seconds"] - short["songs"] / rate, 1) if rate else None
            if results[name]["cpu_s"] is not None and short["cpu_s"] is not None:
                extra = results[name]["songs"] - short["songs"]
                per_song = (results[name]["cpu_s"] - short["cpu_s"]) / extra
                results[name]["cpu_s_per_song"] = round(per_song, 3)
                results[name]["start_cpu_s"] = round(short["cpu_s"] - short["songs"] * per_song, 1)
            results[name]["short_run"] = {k: short[k] for k in ("songs", "seconds", "exit", "cpu_s")}
    report = {"cpu": machine.cpu(), "cores": cores, "load_average": [round(x, 1) for x in os.getloadavg()], "songs": args.songs,
              "mean_mp3_mib": round(size / 2**20, 2),
              "stages_s": {kind: {k: round(v, 4) for k, v in d.items()} for kind, d in stages.items()},
              "runs": results, "projection": projection(results, stages, cores, size / 2**20)}
    print(json.dumps(report, indent=2))
    print(f"\nmeasured on {report['cpu']}")
    print("\n| where one song's time goes (1 process, warm) | wall s | CPU s |\n| --- | --- | --- |")
    for stage in stages["wall"]:
        print(f"| {stage} | {stages['wall'][stage]:.3f} | {stages['cpu'][stage]:.3f} |")
    print(f"\n| run | {args.songs} songs | {args.small} songs | songs/s once started | CPU s a song "
          "| start-up CPU s | peak memory per worker | of the driver |\n| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, run in results.items():
        print(f"| {name} | {run['seconds']} s | {run['short_run']['seconds']} s | {run['marginal_songs_per_s']} "
              f"| {run.get('cpu_s_per_song')} | {run.get('start_cpu_s')} | {run['worker_peak_mib']} MiB "
              f"| {run['driver_peak_mib']} MiB |")
    print(f"\n| {PROJECT_SONGS:,} songs | time |\n| --- | --- |")
    for what, hours in report["projection"]:
        print(f"| {what} | {hours} |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
