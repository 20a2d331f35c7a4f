"""Decoding: formats, bytes vs path, seeking, bounds and every error path."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from genre import audio
from genre.errors import AudioError, FFmpegError, TooShortError
from tests.support import sounds


@pytest.mark.parametrize("fmt", ["mp3", "wav", "flac", "m4a", "ogg"])
def test_decodes_every_format_to_mono_22050_float32(media, fmt):
    y = audio.decode(media[fmt])
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) / audio.SAMPLE_RATE - 6.0) < 0.1  # encoders add at most a few ms
    assert 0.3 < np.abs(y).max() <= 1.0
    assert 0.2 < np.sqrt(np.mean(y ** 2)) < 0.5


def test_wav_decodes_exactly(media):
    from tests.support.sounds import tone

    expected = tone(6.0)
    y = audio.decode(media["wav"])
    assert np.abs(y - expected).max() < 2 / 32768  # 16-bit rounding only


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="elsewhere an upload is kept in a private folder")
@pytest.mark.parametrize("fmt", ["mp3", "m4a", "ogg", "long"])
def test_an_upload_is_never_a_named_file(media, fmt, tmp_path, monkeypatch):
    """A process killed while ffmpeg reads an upload must leave none of it on disk."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    run, seen = audio.run_ffmpeg, []

    def looking(command):
        seen.append(sorted(os.listdir(tmp_path)))
        return run(command)

    monkeypatch.setattr(audio, "run_ffmpeg", looking)
    data = Path(media[fmt]).read_bytes()
    np.testing.assert_array_equal(audio.decode(data, start=1.0), audio.decode(media[fmt], start=1.0))
    assert seen and seen == [[]] * len(seen)  # nothing there while ffmpeg ran, nor after
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("fmt", ["mp3", "m4a", "flac"])
def test_bytes_and_path_give_the_same_samples(media, fmt):
    path = media[fmt]
    np.testing.assert_array_equal(audio.decode(path), audio.decode(path.read_bytes()))


def test_start_and_duration_seek_into_the_file(media):
    whole = audio.decode(media["wav"])
    part = audio.decode(media["wav"], start=2.0, duration=1.5)
    assert len(part) == int(1.5 * audio.SAMPLE_RATE)
    start = 2 * audio.SAMPLE_RATE
    np.testing.assert_allclose(part, whole[start:start + len(part)], atol=2 / 32768)


def test_load_clip_is_three_seconds_or_what_is_left(media):
    assert len(audio.load_clip(media["wav"], 1.0)) == audio.CLIP_SAMPLES
    assert abs(len(audio.load_clip(media["wav"], 4.5)) - 1.5 * audio.SAMPLE_RATE) < 10


def test_decoding_stops_at_the_cap(media, monkeypatch):
    monkeypatch.setattr(audio, "MAX_SECONDS", 10)
    y = audio.decode(media["long"])
    assert abs(len(y) - 10 * audio.SAMPLE_RATE) < audio.SAMPLE_RATE * 0.05


def test_empty_input_is_a_clear_error():
    with pytest.raises(AudioError, match="empty"):
        audio.decode(b"")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(AudioError, match="Cannot read"):
        audio.decode(tmp_path / "nope.mp3")


def test_corrupt_audio_is_a_clear_error_with_the_cause_chained():
    with pytest.raises(AudioError, match="could not be decoded") as info:
        audio.decode(b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 8)
    assert info.value.__cause__ is not None


def test_too_large_input_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(audio, "MAX_BYTES", 1000)
    with pytest.raises(AudioError, match="larger than"):
        audio.decode(b"ID3" + bytes(2000))


def test_start_past_the_end_says_so(media):
    with pytest.raises(AudioError, match="ends before"):
        audio.decode(media["wav"], start=60.0)


def test_check_length(media):
    audio.check_length(audio.decode(media["short"]))
    with pytest.raises(TooShortError, match="at least 1 s"):
        audio.check_length(audio.decode(media["tiny"]))


def test_ffmpeg_timeout_is_an_ffmpeg_error(media, monkeypatch):
    monkeypatch.setattr(audio, "FFMPEG_TIMEOUT", 1e-4)
    with pytest.raises(FFmpegError, match="longer than"):
        audio.decode(media["long"])


def test_bundled_ffmpeg_by_default_system_on_request(monkeypatch):
    """The wheel's static ffmpeg starts ~6x faster than Debian's; the system one is an option."""
    monkeypatch.delenv("GENRE_FFMPEG", raising=False)
    monkeypatch.setattr(audio.shutil, "which", lambda name: "/usr/bin/ffmpeg")
    assert "imageio_ffmpeg" in audio.ffmpeg_path()
    monkeypatch.setenv("GENRE_FFMPEG", "system")
    assert audio.ffmpeg_path() == "/usr/bin/ffmpeg"
    monkeypatch.setenv("GENRE_FFMPEG", "/opt/ffmpeg/bin/ffmpeg")
    assert audio.ffmpeg_path() == "/opt/ffmpeg/bin/ffmpeg"


def test_falls_back_to_the_system_ffmpeg_without_the_wheel(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_wheel(name, *args, **kwargs):
        if name == "imageio_ffmpeg":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.delenv("GENRE_FFMPEG", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_wheel)
    monkeypatch.setattr(audio.shutil, "which", lambda name: "/usr/bin/ffmpeg")
    assert audio.ffmpeg_path() == "/usr/bin/ffmpeg"
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    with pytest.raises(FFmpegError, match="not found"):
        audio.ffmpeg_path()


def test_bundled_ffmpeg_decodes_like_the_system_one(media, monkeypatch):
    if audio.shutil.which("ffmpeg") is None:
        pytest.skip("no system ffmpeg to compare with")
    monkeypatch.setenv("GENRE_FFMPEG", "system")
    system = audio.decode(media["flac"])
    monkeypatch.setenv("GENRE_FFMPEG", "bundled")
    np.testing.assert_allclose(audio.decode(media["flac"]), system, atol=2 / 32768)


def test_wav_bytes_round_trip(media):
    y = audio.decode(media["wav"])[:audio.CLIP_SAMPLES]
    wav = audio.to_wav_bytes(y)
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    np.testing.assert_allclose(audio.decode(wav), y, atol=2 / 32768)


def test_normalise_brings_a_song_to_the_normal_level_with_one_gain_never_past_full_scale():
    t = np.arange(3 * audio.SAMPLE_RATE) / audio.SAMPLE_RATE
    quiet = 10 ** (-30 / 20) * np.sqrt(2) * np.sin(2 * np.pi * 440 * t)  # RMS -30 dBFS, peak -27 dBFS
    gain, normal = audio.normalise([quiet, 0.5 * quiet])
    assert gain == pytest.approx(audio.NORMAL_DB + 30, abs=0.01)  # the louder clip sets it
    assert max(audio.level_db(c) for c in normal) == pytest.approx(audio.NORMAL_DB, abs=0.01)
    assert audio.level_db(normal[0]) - audio.level_db(normal[1]) == pytest.approx(6.02, abs=0.01)  # one gain
    assert all(c.dtype == np.float32 and c.shape == quiet.shape for c in normal)
    clicks = np.zeros(len(t))
    clicks[::audio.SAMPLE_RATE // 2] = 0.5  # RMS far under the level, peak at -6 dBFS: the peak limits the gain
    gain, normal = audio.normalise([clicks])
    assert gain == pytest.approx(-20 * np.log10(0.5), abs=0.01) and np.abs(normal[0]).max() == pytest.approx(1.0)
    loud = 0.9 * np.sin(2 * np.pi * 440 * t)  # RMS -3.9 dBFS: turned down
    gain, normal = audio.normalise([loud])
    assert gain == pytest.approx(audio.NORMAL_DB - audio.level_db(loud), abs=0.01) and gain < -9
    assert audio.level_db(normal[0]) == pytest.approx(audio.NORMAL_DB, abs=0.01)
    near = loud * 10 ** ((audio.NORMAL_DB - audio.level_db(loud) - 0.5) / 20)  # 0.5 dB under: heard as it is
    gain, same = audio.normalise([near])
    assert gain == 0.0 and same[0] is near


def test_a_file_on_disk_larger_than_the_bytes_limit_is_heard(monkeypatch, media):
    """MAX_BYTES bounds what an upload holds in memory; a file on disk is read only as far as
    MAX_SECONDS of audio need, so a long WAV is heard like a long MP3."""
    monkeypatch.setattr(audio, "MAX_BYTES", 1000)
    assert Path(media["wav"]).stat().st_size > 1000
    assert audio.decode(media["wav"]).size > 0
    with pytest.raises(AudioError, match="larger than"):
        audio.decode(Path(media["wav"]).read_bytes())


def test_a_start_past_any_length_says_the_audio_ends_before_it(media):
    """ffmpeg refuses a seek of 1e15 s outright; the file is fine, so the sentence is about the start."""
    with pytest.raises(AudioError, match="ends before 1e"):
        audio.decode(media["mp3"], start=1e15)


def test_a_video_without_sound_is_said_to_have_no_audio_track(tmp_path):
    video = tmp_path / "silent film.mp4"
    subprocess.run([audio.ffmpeg_path(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=10",
                    "-t", "2", "-c:v", "mpeg4", str(video)], check=True)
    with pytest.raises(AudioError, match="no audio track"):
        audio.decode(video)
    with pytest.raises(AudioError, match="no audio track"):
        audio.decode(video.read_bytes())  # as an upload
    with pytest.raises(AudioError, match="no audio track"):
        audio.decode(video, start=1e15)  # a seek ffmpeg refuses: the file's start says what is wrong


@pytest.mark.parametrize("offset", [0.5, -0.02])
def test_a_constant_offset_is_silence(offset):
    """DC alone (a faulty interface, a test signal) is inaudible: refused as silent, not judged."""
    samples = np.full(5 * audio.SAMPLE_RATE, offset, np.float32)
    samples[::7] += 2e-5  # and a whisper of noise under the offset
    with pytest.raises(AudioError, match="silent"):
        audio.check_audible(samples)
    audio.check_audible(samples + 0.01 * np.sin(np.arange(samples.size) / 5.0).astype(np.float32))  # a tone on it


@pytest.mark.parametrize("codec", ["libopus", "libvorbis"])
def test_an_ogg_start_past_the_end_says_so_and_one_inside_is_that_moment(codec, tmp_path):
    """Ogg's demuxer lands on its last page when asked past the end; that must not pass for the song."""
    song = sounds.encode(sounds.music(20.0), tmp_path / "song.ogg", args=["-c:a", codec])
    for start in (21.0, 60.0, 1e6):
        with pytest.raises(AudioError, match="ends before"):
            audio.decode(song, start=start, duration=3.0)
    whole, part = audio.decode(song), audio.decode(song, start=12.0, duration=3.0)
    assert abs(len(part) - 3 * audio.SAMPLE_RATE) < 0.01 * audio.SAMPLE_RATE
    at = 12 * audio.SAMPLE_RATE
    assert np.corrcoef(part[:audio.SAMPLE_RATE], whole[at:at + audio.SAMPLE_RATE])[0, 1] > 0.98


def test_a_length_just_short_of_the_minimum_never_reads_as_the_minimum():
    with pytest.raises(TooShortError, match=r"lasts 0\.99 s; at least 1 s"):
        audio.check_length(np.ones(int(0.996 * audio.SAMPLE_RATE), np.float32))
