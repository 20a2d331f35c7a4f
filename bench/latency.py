"""Latency benchmark: this pipeline against the naive one it replaces, on a 4-minute MP3.

Prints figures; asserts nothing. Run: ``python -m bench.latency [--repeats N] [--isa avx2]``;
``--isa avx2`` runs everything (ours, the naive pipeline, the cold starts) as on a CPU without
AVX-512 (``bench/isa``).
Targets (2-core machine, issue 20): a single clip at least 13x faster than the naive pipeline;
the whole 4-minute song at most 0.67x the naive single clip; cold start under 6 s; peak memory
under 1.5 GB.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # `python bench/latency.py` as the issue runs it, besides `python -m`
    sys.path.insert(0, str(ROOT))

from bench import isa
from genre import audio, load_model, predict
from genre.prediction import MAX_CLIPS
from tests.support import machine, sounds

SONG_SECONDS = 240


def make_song(path: Path) -> Path:
    """A 4-minute 44.1 kHz stereo MP3 at 192 kbit/s of real music: the demo tracks one after another.

    (Until 2026-12-05 this was generated chords, bass and noise drums, which the model rightly calls
    not music, and since the detector's two hearings hears twice: that timed the not-music path.)
    """
    return sounds.medley(path, SONG_SECONDS)


def naive_model():
    """The CNN this product replaces: six valid-padded Conv2D blocks over a 288x432 RGBA image."""
    import keras
    from keras import layers

    x = inputs = keras.Input((288, 432, 4))
    for filters in (8, 16, 32, 64, 128, 256):
        x = layers.Conv2D(filters, 3, padding="valid")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    return keras.Model(inputs, layers.Dense(9, activation="softmax")(x))


def naive_single_clip(mp3: Path, model, tmp: Path) -> None:
    """pydub -> WAV file -> cut 40-50 s -> WAV -> librosa.load 3 s -> pyplot PNG -> reload -> CNN."""
    import librosa
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image
    from pydub import AudioSegment

    AudioSegment.converter = audio.ffmpeg_path()
    song = AudioSegment.from_mp3(mp3)
    song.export(tmp / "song.wav", format="wav")
    AudioSegment.from_wav(tmp / "song.wav")[40_000:50_000].export(tmp / "cut.wav", format="wav")
    y, sr = librosa.load(tmp / "cut.wav", duration=3)
    db = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr), ref=np.max)
    fig = plt.figure(figsize=(4.32, 2.88))
    plt.imshow(db, aspect="auto", origin="lower", cmap="magma")
    plt.axis("off")
    fig.savefig(tmp / "mel.png", dpi=100)
    plt.close(fig)
    image = np.asarray(Image.open(tmp / "mel.png").convert("RGBA").resize((432, 288)), np.float32) / 255
    model.predict(image[None], verbose=0)


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def cold_start(mp3: Path) -> float:
    """Process start to first prediction (numba and OS caches already warm from this run)."""
    code = ("import sys; sys.path.insert(0, %r); from genre import predict; predict(%r, start=40.0)"
            % (str(ROOT), str(mp3)))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return time.perf_counter() - t


def stage_times(mp3: Path, model, repeats: int) -> dict:
    """A whole song's analysis split into decoding, spectrograms, and each network."""
    from genre import backbone, rhythm, spread
    from genre.prediction import clip_windows, spread_layout, spread_plan

    out = {"decode (30 s + 8 clips)": [], "mel windows": [], "CNN": [], "backbone patches": [],
           "backbone network": [], "beat": []}
    for _ in range(repeats):
        t = time.perf_counter()
        samples, _, seconds = spread.decode_spread(mp3, spread_plan)
        out["decode (30 s + 8 clips)"].append(time.perf_counter() - t)
        t = time.perf_counter()
        starts, windows = clip_windows(samples, list(spread_layout(seconds)[1]))
        out["mel windows"].append(time.perf_counter() - t)
        t = time.perf_counter()
        model.cnn.network_probs(windows)
        out["CNN"].append(time.perf_counter() - t)
        if not hasattr(model, "tagger"):
            continue
        t = time.perf_counter()
        patches = np.stack([backbone.patch(samples[s:s + audio.CLIP_SAMPLES]) for s in starts])
        if "image" in model.fusion.used("audio"):  # the image path, where it has weight
            patches = np.concatenate([patches, model.band_map.patches(windows)])
        out["backbone patches"].append(time.perf_counter() - t)
        t = time.perf_counter()
        model.tagger(patches)
        out["backbone network"].append(time.perf_counter() - t)
        t = time.perf_counter()
        rhythm.pulse_clarity(samples)
        out["beat"].append(time.perf_counter() - t)
    return {k: v for k, v in out.items() if v}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--make-song", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--isa", choices=isa.ISAS, help="run as on a CPU limited to this instruction set")
    args = parser.parse_args()
    isa.emulate(args.isa, "bench.latency")
    if args.make_song:  # in a child process, so its arrays do not count in our peak memory
        make_song(args.make_song)
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mp3 = tmp / "song.mp3"
        subprocess.run([sys.executable, "-m", "bench.latency", "--make-song", str(mp3)], check=True, cwd=ROOT)
        model = load_model()
        single = timed(lambda: predict(mp3, model, start=40.0), args.repeats)
        whole = timed(lambda: predict(mp3, model), args.repeats)
        default_ffmpeg = audio.ffmpeg_path()
        os.environ["GENRE_FFMPEG"] = "system"
        single_b = timed(lambda: predict(mp3, model, start=40.0), args.repeats)
        whole_b = timed(lambda: predict(mp3, model), args.repeats)
        del os.environ["GENRE_FFMPEG"]
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        stages = stage_times(mp3, model, args.repeats)
        cold = [cold_start(mp3) for _ in range(3)]
        naive_net = naive_model()
        naive = timed(lambda: naive_single_clip(mp3, naive_net, tmp), max(2, args.repeats // 2))
    med = statistics.median
    print(f"measured on {machine.cpu()}; instruction sets limited to {isa.emulated() or 'none: all of them'}")
    runtime = model.runtime.runtime if getattr(model, "runtime", None) else "tensorflow"
    print(f"4-minute 44.1 kHz stereo MP3, {os.cpu_count()} CPU(s), device {model.device}, backbone on {runtime}; "
          f"default ffmpeg {default_ffmpeg}")
    print(f"{'measure':<44}{'median':>10}{'best':>10}")
    rows = [("single clip (ours)", single), (f"whole song, {MAX_CLIPS} clips (ours)", whole),
            ("single clip (ours, GENRE_FFMPEG=system)", single_b),
            ("whole song (ours, GENRE_FFMPEG=system)", whole_b),
            ("single clip (naive pipeline)", naive), ("cold start to first prediction", cold)]
    for name, values in rows:
        print(f"{name:<44}{med(values) * 1000:>8.0f}ms{min(values) * 1000:>8.0f}ms")
    print(f"peak memory (ours, warm process): {peak_mb:.0f} MB (target < 1.5 GB)")
    print(f"single clip speed-up: {med(naive) / med(single):.1f}x with the default (bundled) ffmpeg, "
          f"{med(naive) / med(single_b):.1f}x with the system one (target >= 13x)")
    print(f"whole song vs naive single clip: {med(whole) / med(naive):.2f}x the time, "
          f"{med(whole_b) / med(naive):.2f}x with the system ffmpeg (target <= 0.67x)")
    print("where a whole song's time goes (median): " + ", ".join(f"{k} {med(v) * 1000:.0f} ms"
                                                              for k, v in stages.items()))
    print(f"cold start: {med(cold):.1f} s (target < 6 s)")


if __name__ == "__main__":
    main()
