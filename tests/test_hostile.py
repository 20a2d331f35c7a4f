"""Hostile and odd inputs (issue 7): each gives a genre or a clear one-line error, fast, in bounded
memory, leaving no temporary file behind; a playlist or a concat list is never followed.

Every input is made here, in temporary folders. Outcomes are checked in this process with the
tiny model, as an upload (bytes) and as a path. Time, peak memory and temporary files are
measured in child processes whose TMPDIR is a fresh, empty folder: one child runs every case in
turn (resetting its memory high-water mark between cases), and the two nastiest inputs, the
one-hour MP3 and the MP3 behind a 5 MB ID3 tag, also get a child each for a true peak figure.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.support import ROOT
from tests.support.sounds import SR, encode, tone
from genre import AudioError, GenreError, Prediction, TooShortError, audio, predict
from genre.prediction import MAX_CLIPS

LIMIT_S = 20  # a hang guard: every case answers within this (its speed is bench.latency's business)
LIMIT_KIB = 2 * 2**20  # and peaks under 2 GiB: Python process and ffmpeg together
SPECIAL_NAME = "a song \"quoted\" 'too' $HOME $(touch pwned) `touch pwned`; touch pwned & | Ünïcødé 日本.wav"
EITHER = (Prediction, GenreError)  # a genre or a clear error, both fine
LEAKS = ("Traceback", "ffmpeg version", "configuration:", "@ 0x", "File \"", "/upload", "genre-")


@dataclass(frozen=True)
class Case:
    name: str  # the input's file name (see ``make``)
    expect: type | tuple  # Prediction, the GenreError subclass it must raise, or EITHER
    match: str = ""  # a phrase the error message must contain
    modes: tuple = ("bytes", "path")
    slow: bool = False


CASES = [
    Case("empty.mp3", AudioError, "empty"),
    Case("random.mp3", AudioError, "does not look like an audio file"),
    Case("sync-then-random.mp3", EITHER),  # an MP3 frame sync, then noise
    Case("id3-then-random.mp3", EITHER),
    Case("text.mp3", AudioError, "does not look like an audio file"),
    Case("png.mp3", AudioError, "does not look like an audio file"),
    Case("zip-of-wav.mp3", AudioError, "does not look like an audio file"),
    Case("truncated-2k.mp3", TooShortError, "at least 1 s"),
    Case("id3-5mb.mp3", Prediction, slow=True),
    Case("one-hour-8kbps.mp3", Prediction, slow=True),
    Case("silence.wav", AudioError, "silent"),
    Case("silence.mp3", AudioError, "silent"),
    Case("half-second.wav", TooShortError, "at least 1 s"),
    Case("two-seconds.wav", Prediction),
    Case("two-seconds.mp3", Prediction),
    Case("8khz-mono.wav", Prediction),
    Case("96khz-6ch.flac", Prediction),
    Case("aac.m4a", Prediction),
    Case("opus.ogg", Prediction),
    Case("wav-sizes-too-large.wav", Prediction),
    Case("wav-sizes-too-small.wav", TooShortError, "at least 1 s"),
    Case("wav-sizes-zero.wav", EITHER),  # ffmpeg reads a zero-sized data chunk to the end
    Case("wav-rate-1hz.wav", Prediction),  # 5 s of samples that claim to last 30 hours
    Case("wav-rate-4ghz.wav", AudioError, "could not be decoded"),
    Case("wav-zero-channels.wav", AudioError, "could not be decoded"),
    Case("fifo.mp3", AudioError, "is not a file of audio", modes=("path",)),  # opening it would block
    Case("link-to-dev-zero.mp3", AudioError, "is not a file of audio", modes=("path",)),
    Case("folder.mp3", AudioError, "is not a file of audio", modes=("path",)),
    Case(SPECIAL_NAME, Prediction, modes=("path",)),
    Case("-looks-like-an-option.wav", Prediction, modes=("path",)),
    Case("hls-absolute.mp3", AudioError, "does not look like an audio file"),
    Case("hls-relative.mp3", AudioError, "does not look like an audio file"),
    Case("ffconcat-absolute.mp3", AudioError, "does not look like an audio file"),
    Case("ffconcat-relative.mp3", AudioError, "does not look like an audio file"),
    Case("id3-then-hls.mp3", AudioError, "could not be decoded"),
    Case("id3-then-ffconcat.mp3", AudioError, "could not be decoded"),
]
PLAYLISTS = [c.name for c in CASES if "hls" in c.name or "ffconcat" in c.name]
NASTIEST = ["one-hour-8kbps.mp3", "id3-5mb.mp3"]


# --- Making the inputs ----------------------------------------------------------------------

def syncsafe(n: int) -> bytes:
    """An ID3v2 size: 28 bits in four 7-bit bytes."""
    return bytes((n >> shift) & 0x7F for shift in (21, 14, 7, 0))


def id3_tag(payload: int = 0, padding: int = 0) -> bytes:
    """An ID3v2.4 tag holding one PRIV frame of ``payload`` random bytes, then ``padding`` zeros."""
    frames = b""
    if payload:
        body = b"genre-test\x00" + np.random.default_rng(5).bytes(payload)
        frames = b"PRIV" + syncsafe(len(body)) + b"\x00\x00" + body
    return b"ID3\x04\x00\x00" + syncsafe(len(frames) + padding) + frames + bytes(padding)


def wav_with_sizes(wav: bytes, riff: int, data: int) -> bytes:
    """A WAV whose RIFF and data chunk sizes are replaced (lies about its length)."""
    out = bytearray(wav)
    out[4:8] = riff.to_bytes(4, "little")
    at = out.index(b"data", 12)
    out[at + 4:at + 8] = data.to_bytes(4, "little")
    return bytes(out)


def ffmpeg(*args: str) -> None:
    subprocess.run([audio.ffmpeg_path(), "-v", "error", "-y", "-nostdin", *args], check=True, timeout=60)


def make(name: str, folder: Path) -> Path:
    """Write the input called ``name`` into ``folder`` (with what it needs) and return its path."""
    path = folder / name
    real = folder / "real.wav"  # what the concat lists point at: 6 s of real audio
    segment = folder / "real-segment.mp3"  # and the HLS playlists (ffmpeg's HLS refuses .wav segments)
    if not real.exists():
        encode(tone(6.0, freq=330.0), real)
        encode(tone(6.0, freq=330.0), segment, args=["-b:a", "128k"])
    rng = np.random.default_rng(7)
    if name == "empty.mp3":
        path.write_bytes(b"")
    elif name == "random.mp3":
        path.write_bytes(b"\x00" + rng.bytes(65535))  # a first byte no format starts with
    elif name == "sync-then-random.mp3":
        path.write_bytes(b"\xff\xfb\x90\x64" + rng.bytes(65532))
    elif name == "id3-then-random.mp3":
        path.write_bytes(id3_tag(padding=1024) + rng.bytes(65536))
    elif name == "text.mp3":
        path.write_text("Definitely a song.\n" * 500)
    elif name == "png.mp3":
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, "PNG")
        path.write_bytes(buffer.getvalue())
    elif name == "zip-of-wav.mp3":
        with zipfile.ZipFile(path, "w") as z:
            z.write(real, "song.wav")
    elif name == "truncated-2k.mp3":
        full = encode(tone(6.0), folder / "full-128k.mp3", args=["-b:a", "128k"])
        path.write_bytes(full.read_bytes()[:2048])
    elif name == "id3-5mb.mp3":
        frames = encode(tone(6.0, freq=220.0), folder / "frames.mp3", args=["-b:a", "128k", "-id3v2_version", "0"])
        path.write_bytes(id3_tag(payload=5 * 2**20, padding=64 * 1024) + frames.read_bytes())
    elif name == "one-hour-8kbps.mp3":  # 3.6 MB; encoding at 8 kHz takes about 2 s
        ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:sample_rate=8000:duration=3600",
               "-ac", "1", "-b:a", "8k", str(path))
    elif name == "silence.wav":
        encode(np.zeros(6 * SR, dtype=np.float32), path)
    elif name == "silence.mp3":
        ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", "6", "-b:a", "64k", str(path))
    elif name == "half-second.wav":
        encode(tone(0.5), path)
    elif name == "two-seconds.wav":
        encode(tone(2.0), path)
    elif name == "two-seconds.mp3":
        encode(tone(2.0, sr=44100), path, sr=44100, args=["-b:a", "128k"])
    elif name == "8khz-mono.wav":
        encode(tone(5.0, sr=8000), path, sr=8000)
    elif name == "96khz-6ch.flac":
        channels = np.stack([tone(4.0, freq=110.0 * (k + 1), sr=96000, seed=k) for k in range(6)], axis=1)
        encode(channels * 0.5, path, sr=96000)
    elif name == "aac.m4a":
        encode(tone(5.0, sr=44100), path, sr=44100, args=["-c:a", "aac", "-b:a", "96k"])
    elif name == "opus.ogg":
        encode(tone(5.0, sr=48000), path, sr=48000, args=["-c:a", "libopus", "-b:a", "48k"])
    elif name.startswith("wav-sizes-"):
        wav = encode(tone(5.0), folder / "honest.wav").read_bytes()
        riff, data = {"too-large": (0xFFFFFF00, 0xFFFFFF00), "too-small": (1036, 1000),
                      "zero": (36, 0)}[name[len("wav-sizes-"):-len(".wav")]]
        path.write_bytes(wav_with_sizes(wav, riff, data))
    elif name.startswith("wav-rate-") or name == "wav-zero-channels.wav":
        wav = bytearray(encode(tone(5.0), folder / "honest.wav").read_bytes())
        if name == "wav-zero-channels.wav":
            wav[22:24] = (0).to_bytes(2, "little")
        else:
            wav[24:28] = (1 if "1hz" in name else 0xFFFFFFFF).to_bytes(4, "little")
        path.write_bytes(bytes(wav))
    elif name == "fifo.mp3":
        os.mkfifo(path)
    elif name == "link-to-dev-zero.mp3":
        path.symlink_to("/dev/zero")
    elif name == "folder.mp3":
        path.mkdir()
    elif name in (SPECIAL_NAME, "-looks-like-an-option.wav"):
        encode(tone(4.0, freq=550.0), path)
    elif name.startswith(("hls-", "ffconcat-")):
        kind, where = name[:-len(".mp3")].split("-")
        target = (segment if kind == "hls" else real).name
        if where == "absolute":
            target = str(folder / target)
        if kind == "hls":
            text = (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:0\n"
                    f"#EXTINF:6.0,\n{'file://' + target if where == 'absolute' else target}\n#EXT-X-ENDLIST\n")
        else:
            text = f"ffconcat version 1.0\nfile '{target}'\n"
        path.write_text(text)
    elif name in ("id3-then-hls.mp3", "id3-then-ffconcat.mp3"):
        inner = make(name.replace("id3-then-", "").replace(".mp3", "-absolute.mp3"), folder)
        path.write_bytes(id3_tag(padding=256) + inner.read_bytes())
    else:
        raise KeyError(name)
    return path


class Inputs:
    """The hostile inputs, made on first use in one session-wide folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.paths: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self.paths:
            self.paths[name] = make(name, self.folder)
        return self.paths[name]


@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> Inputs:
    return Inputs(tmp_path_factory.mktemp("hostile"))


# --- Checking outcomes ----------------------------------------------------------------------

def assert_clear(message: str) -> None:
    """A message a person can read: one short line, no traceback, no ffmpeg output, no temp path."""
    assert message and "\n" not in message and len(message) < 300, message
    leaked = [bad for bad in LEAKS if bad in message]
    assert not leaked, f"{message!r} leaks {leaked}"


def source_of(path: Path, mode: str):
    return path.read_bytes() if mode == "bytes" else path


def outcome(source, model, tmp: Path):
    """Predict with temporary files pointed at ``tmp``: the Prediction, or the GenreError raised."""
    saved = tempfile.tempdir
    tempfile.tempdir = str(tmp)
    try:
        return predict(source, model)
    except GenreError as exc:
        return exc
    finally:
        tempfile.tempdir = saved


class Hung(Exception):
    """A case ran past ``LIMIT_S``: a hang, not a slow answer."""


@contextlib.contextmanager
def hang_guard(seconds: int = LIMIT_S):
    """Fail a case that hangs (SIGALRM), instead of the whole run; its speed is bench.latency's."""
    def late(*_):
        raise Hung(f"no answer in {seconds} s")

    previous = signal.signal(signal.SIGALRM, late)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def case_params():
    for case in CASES:
        marks = [pytest.mark.slow] if case.slow else []
        for mode in case.modes:
            yield pytest.param(case, mode, id=f"{case.name[:24]}-{mode}", marks=marks)


@pytest.mark.parametrize(("case", "mode"), case_params())
def test_hostile_input_gives_a_genre_or_a_clear_error(case, mode, inputs, tiny_model, tmp_path):
    source = source_of(inputs[case.name], mode)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    with hang_guard():
        result = outcome(source, tiny_model, tmp)
    assert list(tmp.iterdir()) == [], "temporary files were left behind"
    if case.expect is Prediction:
        assert isinstance(result, Prediction), f"{case.name}: {result!r}"
        assert result.genre in tiny_model.genres
    else:
        assert isinstance(result, case.expect), f"{case.name}: expected {case.expect}, got {result!r}"
        if isinstance(result, GenreError):
            assert_clear(str(result))
            assert case.match in str(result)


@pytest.mark.parametrize("name", PLAYLISTS)
def test_playlists_and_concat_lists_are_never_followed(name, inputs, tiny_model, tmp_path):
    # They point at real audio (see the next test), so following one would give a genre.
    for mode in ("bytes", "path"):
        result = outcome(source_of(inputs[name], mode), tiny_model, tmp_path)
        assert isinstance(result, AudioError), f"{name} ({mode}) was followed: {result!r}"


@pytest.mark.parametrize("name", [n for n in PLAYLISTS if not n.startswith("id3-")])
def test_the_playlists_are_live(name, inputs):
    """Control: ffmpeg told to read one as a playlist does reach the audio it points at."""
    path = inputs[name]
    demuxer = ["-f", "hls"] if name.startswith("hls") else ["-f", "concat", "-safe", "0"]
    done = subprocess.run([audio.ffmpeg_path(), "-v", "error", "-nostdin", *demuxer, "-i", str(path),
                           "-ac", "1", "-ar", str(SR), "-f", "s16le", "pipe:1"],
                          capture_output=True, cwd=path.parent, timeout=60)
    assert len(done.stdout) > 2 * SR * 5, done.stderr.decode(errors="replace")


def test_silence_is_refused_with_a_clear_error(inputs, tiny_model):
    with pytest.raises(AudioError, match="silent") as info:
        predict(inputs["silence.wav"], tiny_model)
    assert_clear(str(info.value))
    with pytest.raises(AudioError, match="from 1 s is silent"):  # a single clip says where
        predict(inputs["silence.wav"], tiny_model, start=1.0)
    quiet = tone(4.0) * 0.002  # quiet, but not silent: judged like any other audio
    assert isinstance(predict(audio.to_wav_bytes(quiet), tiny_model), Prediction)


def test_check_audible_threshold():
    swing = np.where(np.arange(SR) % 2, 1.0, -1.0).astype(np.float32)  # a square wave at Nyquist
    audio.check_audible(2 * audio.SILENCE_PEAK * swing)
    for silent in (np.zeros(SR, np.float32), audio.SILENCE_PEAK / 2 * swing,
                   np.full(SR, 2 * audio.SILENCE_PEAK, np.float32), np.zeros(0, np.float32)):
        with pytest.raises(AudioError, match="silent"):
            audio.check_audible(silent)


def test_short_audio_outcomes(inputs, tiny_model):
    with pytest.raises(TooShortError, match=r"lasts 0\.50 s"):
        predict(inputs["half-second.wav"].read_bytes(), tiny_model)
    for name in ("two-seconds.wav", "two-seconds.mp3"):
        result = predict(inputs[name], tiny_model)
        assert result.short and not result.truncated and len(result.clips) == 1
        assert result.duration == pytest.approx(2.0, abs=0.03)


@pytest.mark.slow
def test_one_hour_mp3_is_cut_at_ten_minutes_quickly(inputs, tiny_model):
    path = inputs["one-hour-8kbps.mp3"]
    assert path.stat().st_size < 4 * 2**20  # small file, huge duration
    with hang_guard():  # decoding stops at audio.MAX_SECONDS of the hour
        result = predict(path.read_bytes(), tiny_model)
    assert result.truncated and not result.short
    assert result.duration == audio.MAX_SECONDS
    assert len(result.clips) == MAX_CLIPS and result.clips[-1].end <= audio.MAX_SECONDS


@pytest.mark.slow
def test_mp3_behind_a_5mb_id3_tag_is_read(inputs, tiny_model):
    path = inputs["id3-5mb.mp3"]
    assert path.stat().st_size > 5 * 2**20 and path.read_bytes()[:3] == b"ID3"
    result = predict(path.read_bytes(), tiny_model)
    assert result.duration == pytest.approx(6.0, abs=0.1) and len(result.clips) == 2


def test_odd_formats_keep_their_length(inputs, tiny_model):
    for name, seconds in [("8khz-mono.wav", 5.0), ("96khz-6ch.flac", 4.0), ("aac.m4a", 5.0),
                          ("opus.ogg", 5.0), ("wav-sizes-too-large.wav", 5.0)]:
        assert predict(inputs[name], tiny_model).duration == pytest.approx(seconds, abs=0.05), name
    stretched = predict(inputs["wav-rate-1hz.wav"], tiny_model)  # 5 s of samples played at 1 Hz
    assert stretched.truncated and stretched.duration == audio.MAX_SECONDS


# --- Time, peak memory and temporary files, measured in child processes ---------------------

CHILD = r"""
import json, os, signal, sys, tempfile, time, traceback

spec = json.loads(open(sys.argv[1]).read())
import genre
from genre import audio

model = genre.load_model(spec["model"])
audio.ffmpeg_path = lambda: spec["ffmpeg"]  # the measuring wrapper around the real ffmpeg


def hwm_kib():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def reset_hwm():  # Linux >= 4.0: the high-water mark restarts from the current size
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def ffmpeg_peaks():
    try:
        with open(spec["ffmpeg_log"]) as f:
            return [int(line) for line in f]
    except FileNotFoundError:
        return []


class Late(Exception):
    pass


def late(*_):
    raise Late()


signal.signal(signal.SIGALRM, late)
tmp = tempfile.gettempdir()
print(json.dumps({"start": True, "tmpdir": tmp, "tmp_left": os.listdir(tmp), "self_peak_kib": hwm_kib()}), flush=True)
for case in spec["cases"]:
    source = open(case["path"], "rb").read() if case["mode"] == "bytes" else case["path"]
    row = {"name": case["name"], "mode": case["mode"], "hwm_reset": spec["reset"] and reset_hwm()}
    seen = len(ffmpeg_peaks())
    began = time.perf_counter()
    signal.alarm(spec["limit"])
    try:
        p = genre.predict(source, model)
        row.update(outcome="genre", genre=p.genre, duration=p.duration, short=p.short, truncated=p.truncated)
    except genre.GenreError as exc:
        row.update(outcome="error", type=type(exc).__name__, error=str(exc))
    except Late:
        row.update(outcome="timeout")
    except BaseException as exc:
        row.update(outcome="crash", type=type(exc).__name__, error=traceback.format_exc())
    finally:
        signal.alarm(0)
    row["seconds"] = round(time.perf_counter() - began, 3)
    row["self_peak_kib"] = hwm_kib()
    row["ffmpeg_peak_kib"] = max(ffmpeg_peaks()[seen:], default=0)
    row["tmp_left"] = os.listdir(tmp)
    del source
    print(json.dumps(row), flush=True)
"""

# ffmpeg's own peak. RUSAGE_CHILDREN cannot tell it: Linux carries the parent's high-water mark
# into a child through fork and exec, so every ffmpeg the 1-GB Python process starts would
# "peak" at 1 GB. A small Python in between starts ffmpeg and logs what wait4 says it used.
FFMPEG_WRAPPER = """#!{python}
import os, sys
pid = os.posix_spawn({ffmpeg!r}, [{ffmpeg!r}, *sys.argv[1:]], os.environ)
usage = os.wait4(pid, 0)
with open({log!r}, "a") as f:
    f.write(f"{{usage[2].ru_maxrss}}\\n")
sys.exit(os.waitstatus_to_exitcode(usage[1]) % 256)
"""


def run_child(cases: list[tuple[Case, str, Path]], model_path: Path, folder: Path,
              reset: bool = True) -> list[dict]:
    """Run ``cases`` in one fresh Python process with an empty TMPDIR; a row for each, after a first."""
    tmp = folder / "tmpdir"
    tmp.mkdir()
    log = folder / "ffmpeg-peaks.log"
    wrapper = folder / "ffmpeg-measured"
    wrapper.write_text(FFMPEG_WRAPPER.format(python=sys.executable, ffmpeg=audio.ffmpeg_path(), log=str(log)))
    wrapper.chmod(0o755)
    spec = folder / "spec.json"
    spec.write_text(json.dumps({"model": str(model_path), "limit": LIMIT_S, "reset": reset,
                                "ffmpeg": str(wrapper), "ffmpeg_log": str(log), "cases": [
                                    {"name": c.name, "mode": mode, "path": str(path)} for c, mode, path in cases]}))
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(spec)], capture_output=True, text=True,
                          env=env, cwd=folder, timeout=60 + LIMIT_S * len(cases))
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert rows and rows[0].get("start"), done.stderr[-3000:]
    assert len(rows) == len(cases) + 1, done.stderr[-3000:]
    assert list(tmp.iterdir()) == [], f"left in TMPDIR: {list(tmp.iterdir())}"
    return rows


def assert_within_limits(rows: list[dict], expected: dict[tuple[str, str], type]) -> None:
    for row in rows[1:]:
        label = f"{row['name']} ({row['mode']})"
        assert row["outcome"] in ("genre", "error"), f"{label}: {row}"
        # ffmpeg runs while Python waits for it: their sum bounds the peak of the pair.
        assert row["self_peak_kib"] + row["ffmpeg_peak_kib"] < LIMIT_KIB, label
        assert row["tmp_left"] == [], f"{label} left {row['tmp_left']}"
        want = expected[row["name"], row["mode"]]
        if want is Prediction:
            assert row["outcome"] == "genre", f"{label}: {row}"
        elif want is not EITHER:
            assert row["outcome"] == "error", f"{label}: {row}"
        if row["outcome"] == "error":
            assert_clear(row["error"])


def report(rows: list[dict], title: str) -> None:
    print(f"\n{title}\n{'case':<40} {'mode':<5} {'s':>5} {'py MiB':>6} {'ff MiB':>6}  outcome")
    for row in rows[1:]:
        said = row.get("genre") or f"{row.get('type')}: {row.get('error')}"
        if row["outcome"] == "genre":
            said += f" ({row['duration']:g} s{', short' if row['short'] else ''}"
            said += f"{', truncated' if row['truncated'] else ''})"
        print(f"{row['name'][:40]:<40} {row['mode']:<5} {row['seconds']:5.2f} "
              f"{row['self_peak_kib'] / 1024:6.0f} {row['ffmpeg_peak_kib'] / 1024:6.0f}  {said[:70]}")


@pytest.mark.slow
def test_every_case_in_one_child_within_time_memory_and_tmp_limits(inputs, tiny_model_path, tmp_path):
    cases = [(c, mode, inputs[c.name]) for c in CASES for mode in c.modes]
    rows = run_child(cases, tiny_model_path, tmp_path)
    report(rows, f"one child, all cases; py = its peak during the case (from {rows[0]['self_peak_kib'] / 1024:.0f} "
                 "MiB after loading), ff = ffmpeg's peak")
    assert all(row["hwm_reset"] for row in rows[1:]) or max(r["self_peak_kib"] for r in rows) < LIMIT_KIB // 2
    assert_within_limits(rows, {(c.name, mode): c.expect for c, mode, _ in cases})


@pytest.mark.slow
@pytest.mark.parametrize("name", NASTIEST)
def test_nastiest_inputs_alone_in_a_child(name, inputs, tiny_model_path, tmp_path):
    case = next(c for c in CASES if c.name == name)
    rows = run_child([(case, "bytes", inputs[name])], tiny_model_path, tmp_path, reset=False)
    report(rows, f"{name} alone: py = the whole process's peak from its start")
    assert_within_limits(rows, {(name, "bytes"): case.expect})
    if name.startswith("one-hour"):
        assert rows[1]["truncated"] and rows[1]["duration"] == 600


# --- The command line -----------------------------------------------------------------------

def run_cli(*args, cwd: Path, tmp: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)}
    return subprocess.run([sys.executable, "-m", "genre", "predict", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_cli_survives_bad_files_and_odd_names(as_json, inputs, tiny_model_path, tmp_path):
    special = inputs[SPECIAL_NAME]
    files = [inputs["aac.m4a"], inputs["random.mp3"], special.name if not as_json else special,
             inputs["hls-absolute.mp3"], inputs["opus.ogg"]]
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    done = run_cli(*files, "--model", tiny_model_path, *(["--json"] if as_json else []),
                   cwd=special.parent, tmp=tmp)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert list(tmp.iterdir()) == []
    assert not (special.parent / "pwned").exists()  # no shell ever saw the name
    lines = done.stdout.strip().splitlines()
    assert len(lines) == len(files), done.stdout
    good = [True, False, True, False, True]
    for line, file, ok in zip(lines, files, good):
        if as_json:
            row = json.loads(line)
            assert row["file"] == str(file)
            assert ("genre" in row) == ok and ("error" in row) == (not ok), row
            if not ok:
                assert_clear(row["error"])
        else:
            assert line.startswith(f"{file}: ")
            assert (": error: " in line) != ok, line
