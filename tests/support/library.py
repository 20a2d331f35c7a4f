"""Songs for the ``tag`` tests: one short file per container the tagger writes, and ways to check them.

``make_song`` encodes a tone, a noise or a little melody with ffmpeg; ``audio_md5`` and
``packets_md5`` say whether the sound and the audio frames are unchanged after a tag write;
``tag`` runs ``python -m genre tag`` as a user would, in a process of its own.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from genre import audio
from genre.tag.rows import Row
from tests.support import ROOT
from tests.support.sounds import SR, encode, tone

FORMATS = {  # name -> ffmpeg arguments; every container the tagger writes
    "tone.mp3": ["-b:a", "128k"], "noise.flac": [], "melody.ogg": ["-c:a", "libvorbis", "-q:a", "3"],
    "tone.opus": ["-c:a", "libopus", "-b:a", "64k"], "melody.m4a": ["-c:a", "aac", "-b:a", "96k"],
    "tone.wav": [],
}


def melody(seconds: float, seed: int = 0) -> np.ndarray:
    """Half-second notes of a random pentatonic tune."""
    rng = np.random.default_rng(seed)
    notes = [tone(0.5, 220 * 2 ** (rng.choice([0, 2, 4, 7, 9]) / 12), noise=0.02, seed=i)
             for i in range(int(seconds * 2))]
    return np.concatenate(notes)


def make_song(name: str, folder: Path, seconds: float = 4.0, seed: int = 0) -> Path:
    """``folder/name``: a tone, noise or melody (by the name's start) in the name's container."""
    kind = name.split(".")[0].rstrip("0123456789")
    rng = np.random.default_rng(seed)
    y = {"tone": lambda: tone(seconds, 330 + 40 * seed, seed=seed),
         "noise": lambda: (0.3 * rng.standard_normal(int(seconds * SR))).astype(np.float32),
         "melody": lambda: melody(seconds, seed)}[kind]()
    return encode(y, folder / name, args=FORMATS.get(name, FORMATS.get("tone." + name.split(".")[-1], [])))


def _md5(path: Path, *args: str) -> str:
    done = subprocess.run([audio.ffmpeg_path(), "-v", "error", "-i", str(path), "-map", "0:a", *args,
                           "-f", "md5", "-"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def audio_md5(path: Path) -> str:
    """The checksum of the decoded audio: tags may change, the sound must not."""
    return _md5(path)


def packets_md5(path: Path) -> str:
    """The checksum of the audio frames as stored (copied, not decoded): bit for bit."""
    return _md5(path, "-c:a", "copy")


def sound(path: Path) -> tuple[str, str]:
    """Both checksums: what must be identical after tagging and after an undo."""
    return audio_md5(path), packets_md5(path)


def tag(*args, timeout: float = 600, env: dict | None = None, **popen) -> subprocess.CompletedProcess:
    """``python -m genre tag ARGS`` in a process of its own, from the project's root."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "genre", "tag", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=timeout, **popen)


def add(results, data: dict) -> None:
    """Append a row given as the results file's JSON (``Row.to_json``) to ``results``."""
    results.append(Row.from_json(data))


def rows(path: Path) -> list[dict]:
    """The rows of a JSON Lines results file."""
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def on_terminal(argv: list, columns: int = 100, stdout: bool = False) -> tuple[int, str]:
    """Run ``python -m genre *argv`` with stderr (and with ``stdout``, stdout too) on a pseudo-terminal
    ``columns`` wide (0: one that does not say its size); its exit status and what it wrote there."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", columns // 4, columns, 0, 0))
    try:
        done = subprocess.Popen([sys.executable, "-m", "genre", *map(str, argv)],
                                stdout=follower if stdout else subprocess.DEVNULL, stderr=follower, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        os.close(follower)
        said = b""
        while True:  # read as it writes: a full terminal buffer would block it
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the run ended and closed the terminal
                break
            if not chunk:
                break
            said += chunk
        done.wait(timeout=600)
    finally:
        os.close(leader)
    return done.returncode, said.decode(errors="replace")
