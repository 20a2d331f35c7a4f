"""Does augmenting the training audio raise the fused model's held-out accuracy?

Prints figures; asserts nothing. Run after the card's validation run (``runs/ens3``, and
``runs/fused`` with ``--cache runs/emb-cache``): ``python -m bench.augment``.

Each training audio file (full clips and excerpts) is also heard with a gain, an EQ tilt, a
shift, an MP3 round trip, noise or a semitone up or down; the heads learn from the originals
plus one kind (then all kinds), and the held-out protocol of ``genre/training/heldout.py``
measures the fusion on the valid list, as for the shipped model.
"""
from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from genre import audio, backbone
from genre.prediction import clip_windows, heard_clips
from genre.training.embed import Song
from genre.training.heads import fit_heads
from genre.training.heldout import L2_CHOICES, held_out

from . import validation

MP3_BITRATE = "64k"
SNR_DB = 30
GAIN_DB = -9


def mp3_round_trip(y: np.ndarray) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="genre-augment-") as tmp:
        wav, mp3 = Path(tmp) / "a.wav", Path(tmp) / "a.mp3"
        wav.write_bytes(audio.to_wav_bytes(y))
        subprocess.run([audio.ffmpeg_path(), "-v", "error", "-y", "-i", str(wav), "-b:a", MP3_BITRATE, str(mp3)],
                       check=True)
        return audio.decode(mp3)


def tilt(y: np.ndarray, up: bool) -> np.ndarray:
    """A first-order shelf: the highs about 6 dB up, or about 4 dB down."""
    return (y + (0.5 if up else -0.4) * np.diff(y, prepend=y[:1])).astype(np.float32)


def semitone(y: np.ndarray, k: int) -> np.ndarray:
    """``k`` semitones up or down by resampling (tempo moves with it, about 6 %)."""
    import librosa

    return librosa.resample(y, orig_sr=audio.SAMPLE_RATE, target_sr=int(audio.SAMPLE_RATE * 2 ** (-k / 12)))[:len(y)]


def augmentations(rng: np.random.Generator) -> dict:
    def noise(y):
        level = np.sqrt(np.mean(y ** 2)) * 10 ** (-SNR_DB / 20)
        return y + rng.standard_normal(len(y)).astype(np.float32) * level

    return {f"gain {GAIN_DB} dB": lambda y: y * 10 ** (GAIN_DB / 20), "EQ tilt up": lambda y: tilt(y, True),
            "EQ tilt down": lambda y: tilt(y, False),
            "shift 1.5 s": lambda y: np.roll(y, int(1.5 * audio.SAMPLE_RATE)),
            f"MP3 {MP3_BITRATE}bit/s": mp3_round_trip, f"noise at {SNR_DB} dB SNR": noise,
            "+1 semitone": lambda y: semitone(y, 1), "-1 semitone": lambda y: semitone(y, -1)}


def main() -> None:
    run, _ = validation.from_command_line(__doc__)
    genres, tagger, train, valid = run.genres, run.tagger, run.train, run.valid
    augs, started = augmentations(np.random.default_rng(0)), time.time()
    extra: dict[str, list[Song]] = {name: [] for name in augs}
    for item in run.train_items:
        if item.kind == "mel-image" or item.genre not in genres:
            continue
        y = audio.decode(item.path)
        for name, change in augs.items():
            z = np.clip(np.asarray(change(y), np.float32), -1, 1)
            starts, _ = clip_windows(z)
            _, heard = heard_clips(z, starts)
            h = tagger(np.stack([backbone.patch(c) for c in heard]))
            extra[name].append(Song(f"{item.id}~{name}", genres.index(item.genre), item.kind, h.embedding,
                                    h.embedding, h.tags, audio_pool=h.pool))
    print(f"{len(next(iter(extra.values())))} training audio files, {len(augs)} kinds, {time.time() - started:.0f} s")
    base = run.base_unsure()

    def measure(songs: list[Song], label: str) -> None:
        fitted = {l2: fit_heads(songs, len(genres), l2=l2) for l2 in L2_CHOICES}
        report = held_out(valid, fitted, run.reference(), base, log=lambda m: None)  # distances: real songs only
        a, halves = report["audio"], " / ".join(f"{h['audio']['accuracy']:.3f}" for h in report["halves"])
        print(f"{label:<26} audio {a['accuracy']:.3f} (halves {halves}), sure {a['coverage']:.2f} "
              f"at {a['accuracy_sure']:.3f}; images {report['image']['accuracy']:.3f}", flush=True)

    measure(train, "no augmentation")
    for name, songs in extra.items():
        measure(train + songs, f"+ {name}")
    measure(train + [s for songs in extra.values() for s in songs], "+ all of them")


if __name__ == "__main__":
    main()
