"""Rendering a song to audio with FluidSynth, and the rapped voice by espeak-ng.

Everything here runs an external program (FluidSynth, ffmpeg, espeak-ng) through
:func:`run`; the audio comes back as float64 arrays of shape (frames, 2) at ``SR``.
When FluidSynth or a soundfont is missing, :mod:`.synth` renders instead.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

from .midi import write_midi
from .score import Song

SR = 44100  # the sample rate of every render, mix and encode
SOUNDFONTS = (  # General MIDI soundfonts, in order of preference (Debian's fluid-soundfont-gm first)
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)
FLUIDSYNTH_GAIN = "0.5"  # FluidSynth's master gain (-g); mastering sets the final level anyway
SPEECH_WPM = 165  # espeak-ng's first try at a line; faster only when the line does not fit
SILENCE = 1e-3  # amplitude under which the voice is taken as silent


def run(cmd: list, **kw) -> subprocess.CompletedProcess:
    """``subprocess.run`` of an argument list, its output captured.

    On failure the tool's own error output is shown before the exception, since
    ``CalledProcessError`` alone says only the exit status.
    """
    try:
        return subprocess.run(cmd, check=True, capture_output=True, **kw)
    except subprocess.CalledProcessError as err:
        sys.stderr.write(err.stderr.decode(errors="replace")[-3000:])
        raise


def find_soundfont(explicit: str | None = None) -> Path | None:
    """``explicit`` if it is a file, else the first of ``SOUNDFONTS`` there is; None if none."""
    for cand in ([explicit] if explicit else []) + list(SOUNDFONTS):
        if cand and Path(cand).is_file():
            return Path(cand)
    return None


def decode_to_array(path: Path, ffmpeg: str) -> np.ndarray:
    """Any audio file as a float64 array (frames, 2) at ``SR``, decoded by ffmpeg."""
    out = run([ffmpeg, "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2", "-ar", str(SR), "-"]).stdout
    return np.frombuffer(out, dtype="<f4").reshape(-1, 2).astype(np.float64)


def render_fluidsynth(song: Song, workdir: Path, soundfont: Path, fluidsynth: str, ffmpeg: str) -> np.ndarray:
    """The song through its MIDI file, FluidSynth and a GM soundfont.

    Parameters
    ----------
    song : Song
        The arrangement.
    workdir : Path
        Where the ``.mid`` and ``.wav`` files are written.
    soundfont : Path
        A General MIDI soundfont (``.sf2``).
    fluidsynth, ffmpeg : str
        The programs.

    Returns
    -------
    numpy.ndarray
        The audio, (frames, 2) at ``SR``.
    """
    mid, wav = workdir / f"{song.slug}.mid", workdir / f"{song.slug}.wav"
    write_midi(song, mid)
    run([fluidsynth, "-n", "-i", "-q", "-g", FLUIDSYNTH_GAIN, "-r", str(SR),
         "-o", "synth.cpu-cores=1", "-o", "audio.file.format=float",
         "-F", str(wav), str(soundfont), str(mid)])
    return decode_to_array(wav, ffmpeg)


def speak(words: str, seconds: float, voice: tuple[str, int], workdir: Path) -> np.ndarray:
    """``words`` spoken by espeak-ng (mono, at ``SR``), sped up until they fit in ``seconds``.

    Parameters
    ----------
    words : str
        The line.
    seconds : float
        The time it must fit in.
    voice : tuple of (str, int)
        espeak-ng's voice name and pitch (0-99).
    workdir : Path
        Where espeak-ng writes its WAV file.
    """
    espeak = shutil.which("espeak-ng")
    wav, speed = workdir / "line.wav", SPEECH_WPM
    for _ in range(4):
        run([espeak, "-v", voice[0], "-p", str(voice[1]), "-s", str(speed), "-w", str(wav), words])
        with wave.open(str(wav)) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 32768
        loud = np.flatnonzero(np.abs(x) >= SILENCE)
        x = x[loud[0]:loud[-1] + 1] if len(loud) else x  # no silence before or after the words
        if len(x) / rate <= seconds:
            break
        # the speed the ratio asks for, and 4 % more, so that the next try fits
        speed = int(speed * len(x) / rate / seconds * 1.04)
    return np.interp(np.arange(int(len(x) * SR / rate)) * rate / SR, np.arange(len(x)), x)


def mix_voice(raw: np.ndarray, song: Song, workdir: Path) -> np.ndarray:
    """Add the song's spoken ``lines`` (a rapper, by espeak-ng) in the middle of the mix.

    The voice's RMS, taken where it speaks, is set ``song.voice[2]`` dB over the music's
    RMS. Without espeak-ng the music comes alone, with a note saying so.

    Parameters
    ----------
    raw : numpy.ndarray
        The rendered music, (frames, 2).
    song : Song
        Its ``lines`` (beat, beats, words) and ``voice``.
    workdir : Path
        Scratch space for espeak-ng.
    """
    if not song.lines:
        return raw
    if not shutil.which("espeak-ng"):
        print(f"note: {song.slug}: espeak-ng is missing, so the rapped lines are left out")
        return raw
    vox = np.zeros(len(raw))
    for beat, beats, words in song.lines:
        start = song.seconds(beat)
        x = speak(words, song.seconds(beat + beats) - start, song.voice, workdir)
        i = int(start * SR)
        x = x[: max(0, len(vox) - i)]
        vox[i:i + len(x)] += x
    music_rms = np.sqrt(np.mean(raw ** 2))
    voiced = np.abs(vox) > SILENCE
    vox *= music_rms * 10 ** (song.voice[2] / 20) / max(np.sqrt(np.mean(vox[voiced] ** 2)), 1e-9)
    return raw + vox[:, None] * np.sqrt(0.5)  # centre pan at equal power
