"""The plain fallback synthesiser: additive voices, noise drums and a small reverb, in numpy.

It renders the same arrangements as FluidSynth when FluidSynth or a soundfont is
missing; it sounds plainer, but it is the same music. Its random phases and noise
come from the song's seed, so a re-render gives the same audio.
"""

from __future__ import annotations

import math

import numpy as np

from .render import SR
from .score import CLAP, SIDESTICK, SUSTAIN, Song, Track

REVERB_S = 1.6  # length of the reverb's impulse response (it decays by 60 dB over it)
REVERB_PREDELAY_S = 0.012  # silence at the head of the impulse response


def _pedal_spans(tr: Track) -> list[tuple[float, float]]:
    """The (down, up) beats of the track's sustain pedal."""
    spans, down = [], None
    for beat, control, value in sorted(tr.controls):
        if control != SUSTAIN:
            continue
        if value >= 64 and down is None:  # MIDI switches: 64 and over is on
            down = beat
        elif value < 64 and down is not None:
            spans.append((down, beat))
            down = None
    return spans


def _voice(program: int, pitch: int, dur_s: float, vel: int, rng: np.random.Generator) -> np.ndarray:
    """One note of the numpy synthesiser (mono), its sound chosen by the GM program's family.

    Parameters
    ----------
    program : int
        General MIDI program: distorted guitars (29, 30), basses (32-39), plucked and struck
        families (pianos, chromatic percussion, guitars), or else a bowed/blown sound.
    pitch, vel : int
        MIDI pitch and velocity.
    dur_s : float
        Seconds the key is held; the release follows.
    rng : numpy.random.Generator
        For the partials' phases.
    """
    f = 440.0 * 2 ** ((pitch - 69) / 12.0)
    amp = (vel / 127.0) ** 1.6
    fam = program // 8
    if program in (29, 30):
        kind, nh, roll, rel = "dist", 24, 1.0, 0.08
    elif fam == 4:
        kind, nh, roll, rel = "bass", 8, 1.6, 0.08
    elif fam in (0, 1, 3):
        kind, nh, roll, rel = "pluck", 14, 1.3, 0.25 if fam == 0 else 0.12
    else:
        kind, nh, roll, rel = "bow", 14, 1.1, 0.25
    n = int((dur_s + rel) * SR)
    t = np.arange(n) / SR
    nh = max(1, min(nh, int(SR / 2.5 / f)))  # partials well under Nyquist: no aliasing
    vib = 0.0
    if kind == "bow":
        vib = 0.004 * f / 5.0 * np.minimum(1.0, t / 0.4) * np.sin(2 * np.pi * 5.0 * t)
    sig = np.zeros(n)
    for k in range(1, nh + 1):
        part = np.sin(2 * np.pi * k * f * t + k * 2 * np.pi * vib + rng.uniform(0, 2 * np.pi)) / k ** roll
        if kind == "pluck":  # higher partials, and higher notes, die away faster
            part *= np.exp(-t * (1.2 + 0.9 * k) * (f / 262.0) ** 0.4)
        elif kind == "bass":
            part *= np.exp(-t * (1.5 + 1.2 * k))
        sig += part
    if kind == "dist":
        sig = np.tanh(2.5 * sig / np.max(np.abs(sig) + 1e-9)) * np.exp(-t * 0.6)
    attack = {"pluck": 0.004, "bass": 0.006, "dist": 0.006, "bow": 0.06}[kind]
    env = np.minimum(1.0, t / attack)
    gate = int(dur_s * SR)
    tail = np.arange(n) - gate
    env[tail > 0] *= np.maximum(0.0, 1.0 - tail[tail > 0] / (rel * SR))
    return amp * sig * env / max(1.0, math.sqrt(nh) * 0.8)


def _drum(key: int, vel: int, rng: np.random.Generator) -> np.ndarray:
    """One General MIDI drum hit (mono): pitch-swept sines for kick and toms, filtered noise
    for snare, hats and clap, noise with inharmonic partials for cymbals."""
    amp = (vel / 127.0) ** 1.6

    def noise(sec):
        return rng.standard_normal(int(sec * SR))

    def hp(x):  # a first difference: a gentle high-pass, enough to make noise hiss
        return np.diff(x, prepend=0.0)

    if key in (35, 36):
        t = np.arange(int(0.45 * SR)) / SR
        freq = 48 + 110 * np.exp(-t * 30)
        x = np.sin(2 * np.pi * np.cumsum(freq) / SR) * np.exp(-t * 7) + 0.3 * noise(0.45) * np.exp(-t * 300)
    elif key in (38, 40):
        t = np.arange(int(0.3 * SR)) / SR
        x = 0.6 * hp(noise(0.3)) * np.exp(-t * 16) + 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t * 25)
    elif key == SIDESTICK:
        t = np.arange(int(0.08 * SR)) / SR
        x = np.sin(2 * np.pi * 820 * t) * np.exp(-t * 70) + 0.3 * hp(noise(0.08)) * np.exp(-t * 90)
    elif key == CLAP:  # three hands a few milliseconds apart, then the room
        t = np.arange(int(0.25 * SR)) / SR
        bursts = sum(np.exp(-np.clip(t - d, 0, None) * 120) * (t >= d) for d in (0, 0.011, 0.022))
        x = hp(noise(0.25)) * (bursts + 0.5 * np.exp(-t * 14)) * 0.6
    elif key in (42, 44, 46, 54):
        dur, rate = {42: (0.09, 55), 44: (0.08, 60), 46: (0.45, 7), 54: (0.15, 28)}[key]
        t = np.arange(int(dur * SR)) / SR
        x = 0.5 * hp(hp(noise(dur))) * np.exp(-t * rate)
    elif key in (49, 57, 51, 53, 59):
        dur, rate = (2.2, 1.8) if key in (49, 57) else (1.2, 3.5)
        t = np.arange(int(dur * SR)) / SR
        metal = sum(np.sin(2 * np.pi * fr * t) for fr in (3200, 4570, 5310, 6720)) * 0.1
        x = (0.45 * hp(hp(noise(dur))) + metal) * np.exp(-t * rate)
    elif 41 <= key <= 50:
        f0 = 70 + (key - 41) * 18
        t = np.arange(int(0.5 * SR)) / SR
        x = np.sin(2 * np.pi * np.cumsum(f0 * (1 + 0.4 * np.exp(-t * 20))) / SR) * np.exp(-t * 7)
    else:
        t = np.arange(int(0.1 * SR)) / SR
        x = hp(noise(0.1)) * np.exp(-t * 40) * 0.3
    return amp * x


def render_numpy(song: Song) -> np.ndarray:
    """Render ``song`` with the numpy synthesiser.

    Each track is mixed with its volume (CC7, squared, as GM's curve) and an equal-power
    pan; its reverb send (CC91) feeds a convolution reverb shared by all tracks.

    Parameters
    ----------
    song : Song
        The arrangement; its seed seeds the synthesiser.

    Returns
    -------
    numpy.ndarray
        The audio, (frames, 2) at ``SR``, a second longer than ``song.duration_s``.
    """
    rng = np.random.default_rng(song.seed)
    n_total = int((song.duration_s + 1.0) * SR)
    dry = np.zeros((n_total, 2))
    send = np.zeros(n_total)
    for tr in song.tracks:
        buf = np.zeros(n_total)
        pedals = _pedal_spans(tr)
        for note in tr.notes:
            start = song.seconds(note.start)
            if tr.is_drums:
                x = _drum(note.pitch, note.vel, rng)
            else:
                end_beat = note.start + note.dur
                for a, b in pedals:  # a note released under the pedal sounds until the pedal lifts
                    if a <= end_beat < b:
                        end_beat = b
                x = _voice(tr.program, note.pitch, song.seconds(end_beat) - start, note.vel, rng)
            i = int(start * SR)
            x = x[: max(0, n_total - i)]
            buf[i: i + len(x)] += x
        gain = (tr.volume / 127.0) ** 2
        theta = tr.pan / 127.0 * math.pi / 2
        dry[:, 0] += buf * gain * math.cos(theta)
        dry[:, 1] += buf * gain * math.sin(theta)
        send += buf * gain * tr.reverb / 127.0
    # reverb: convolution with decaying noise (different per channel for width)
    ir_t = np.arange(int(REVERB_S * SR)) / SR
    size = 1 << int(math.ceil(math.log2(n_total + len(ir_t))))
    spec = np.fft.rfft(send, size)
    for c in range(2):
        ir = rng.standard_normal(len(ir_t)) * np.exp(-6.9 * ir_t / REVERB_S)
        ir[: int(REVERB_PREDELAY_S * SR)] = 0.0
        ir /= np.sqrt(np.sum(ir ** 2)) * 2.5
        dry[:, c] += np.fft.irfft(spec * np.fft.rfft(ir, size), size)[:n_total]
    return dry
