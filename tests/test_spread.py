"""Decoding only the parts of a long song it is judged on gives the answer the whole decode gives."""
import os

import numpy as np
import pytest

from genre import audio, predict, spread
from genre.errors import FFmpegError
from genre.prediction import MAX_CLIPS, spread_layout, spread_plan


def whole_decode(monkeypatch):
    monkeypatch.setattr(spread, "decode_spread", lambda source, plan: None)


def test_plan_and_positions_agree():
    plan, positions = spread_layout(240.0)
    assert plan[0] == (0.0, spread.LEAD_SECONDS) and len(positions) == MAX_CLIPS
    later = [t for t in positions.values() if t + 3 > spread.LEAD_SECONDS]
    assert [s + spread.CONTEXT_SECONDS for s, _ in plan[1:]] == pytest.approx(later, abs=1e-4)
    assert sorted(positions.values())[-1] == pytest.approx(237.0, abs=0.01)
    assert plan[-1][0] + plan[-1][1] == pytest.approx(240.0, abs=1e-4)  # the last span stops at the end


def test_short_songs_are_decoded_whole(media):
    assert spread.decode_spread(media["mp3"], spread_plan) is None  # 6 s


def test_a_wrong_length_in_the_header_falls_back(media, monkeypatch):
    monkeypatch.setattr(spread, "seconds_of", lambda fmt, path: 300.0)  # the file has 75 s
    assert spread.decode_spread(media["long"], spread_plan) is None


def test_a_decode_that_runs_out_of_time_is_not_run_again_whole(media, tiny_model, monkeypatch):
    """A hostile file that stalls ffmpeg costs one timeout, not two (spans, then the whole file)."""
    spans = spread.decode_spans

    def stalled(*args):
        monkeypatch.setattr(audio, "FFMPEG_TIMEOUT", 1e-4)  # the probe ran in time; the decode cannot
        return spans(*args)

    monkeypatch.setattr(spread, "decode_spans", stalled)
    whole = []
    monkeypatch.setattr(audio, "decode", lambda *a, **k: whole.append(a))
    with pytest.raises(FFmpegError, match="longer than"):
        predict(media["long"], tiny_model)
    assert not whole


@pytest.mark.parametrize("as_bytes", [False, True])
def test_spread_decoding_gives_the_whole_decodings_answer(media, tiny_model, monkeypatch, as_bytes):
    source = media["long"].read_bytes() if as_bytes else media["long"]
    decoded = spread.decode_spread(source, spread_plan)
    assert decoded is not None and decoded[2] == pytest.approx(75.0, abs=0.1)
    fast = predict(source, tiny_model)
    whole_decode(monkeypatch)
    slow = predict(source, tiny_model)
    assert [c.start for c in fast.clips] == pytest.approx([c.start for c in slow.clips])
    assert fast.duration == pytest.approx(slow.duration, abs=0.1)
    for a, b in zip(fast.clips, slow.clips):
        np.testing.assert_allclose(a.mel, b.mel, atol=1.0)  # dB: seek and resampler edges only
    np.testing.assert_allclose(list(fast.probabilities.values()), list(slow.probabilities.values()), atol=0.02)


def test_a_44k_stereo_song_gives_the_same_verdict(tmp_path, tiny_model, monkeypatch):
    """Seeks land on 44.1-kHz samples, so clips may shift by half an output sample: same picture."""
    from tests.support.sounds import encode, tone

    left, right = tone(70.0, freq=330.0, sr=44100, seed=1), tone(70.0, freq=495.0, sr=44100, seed=2)
    path = encode(np.stack([left, right], 1), tmp_path / "stereo.mp3", sr=44100,
                  args=["-b:a", "128k"])
    fast = predict(path, tiny_model)
    whole_decode(monkeypatch)
    slow = predict(path, tiny_model)
    assert [c.start for c in fast.clips] == pytest.approx([c.start for c in slow.clips])
    assert np.mean([np.abs(a.mel - b.mel).mean() for a, b in zip(fast.clips, slow.clips)]) < 0.5
    np.testing.assert_allclose(list(fast.probabilities.values()), list(slow.probabilities.values()), atol=0.02)


def test_a_path_is_decoded_without_a_temporary_file_and_bytes_leave_none(media, tmp_path, monkeypatch):
    import sys
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where a temporary file or folder would go
    run, seen = audio.run_ffmpeg, []

    def looking(command):
        seen.append(sorted(os.listdir(tmp_path)))
        return run(command)

    monkeypatch.setattr(audio, "run_ffmpeg", looking)
    assert spread.decode_spread(media["long"], spread_plan) is not None
    assert seen and seen == [[]] * len(seen)  # a worker killed mid-song has nothing to leave behind
    seen.clear()
    assert spread.decode_spread(media["long"].read_bytes(), spread_plan) is not None
    if sys.platform.startswith("linux"):  # an upload is a file without a name (audio.upload_file)
        assert seen and seen == [[]] * len(seen)
    assert list(tmp_path.iterdir()) == []  # nothing after, anywhere
