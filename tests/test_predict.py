"""The public API: predict() on paths and bytes, whole songs, single clips and short audio."""
import json

import numpy as np
import pytest

from genre import GENRES, Prediction, predict
from genre.errors import AudioError, TooShortError
from genre.prediction import MAX_CLIPS, Clip, window_starts


def test_window_starts_consecutive_then_spread():
    assert window_starts(10, 3) == [0, 3, 6]
    assert window_starts(2, 3) == [0]
    spread = window_starts(1000, 3, max_count=20)
    assert len(spread) == 20 and spread[0] == 0 and spread[-1] == 997
    assert all(b > a for a, b in zip(spread, spread[1:]))


def test_predict_whole_song(media, tiny_model):
    result = predict(media["mp3"], tiny_model)
    assert isinstance(result, Prediction)
    assert result.genre in GENRES and list(result.probabilities) == list(GENRES)
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
    assert result.confidence == max(result.probabilities.values())
    assert [c.start for c in result.clips] == [0.0, 3.0]  # 6 s: two clips
    assert result.device == tiny_model.device and not result.short
    mean = np.mean([[c.probabilities[g] for g in GENRES] for c in result.clips], axis=0)
    np.testing.assert_allclose(mean, [result.probabilities[g] for g in GENRES], atol=1e-9)


def test_path_and_bytes_give_the_same_answer(media, tiny_model):
    a = predict(media["m4a"], tiny_model).to_dict()
    b = predict(media["m4a"].read_bytes(), tiny_model).to_dict()
    assert a == b


def test_single_clip_at_a_start_time(media, tiny_model):
    result = predict(media["long"], tiny_model, start=30.0)
    assert len(result.clips) == 1
    clip = result.clips[0]
    assert clip.start == 30.0 and clip.end == pytest.approx(33.0, abs=0.01)
    assert clip.mel.shape == (128, 39) and len(clip.samples) == 66150


def test_a_start_near_the_end_speaks_of_the_audio_left_not_the_song(media, tiny_model):
    """A 6-s song asked from 4.5 s has 1.5 s left: that is what is repeated, and too little past 5.2 s."""
    near = predict(media["wav"], tiny_model, start=4.5)
    assert near.short and near.duration == pytest.approx(1.5, abs=0.02)
    assert near.notes() == ["The audio from 4.5 s lasts 1.5 s, so it was repeated to fill one clip."]
    with pytest.raises(TooShortError, match=r"The audio from 5.5 s lasts 0.50 s; at least 1 s"):
        predict(media["wav"], tiny_model, start=5.5)
    assert predict(media["short"], tiny_model).notes()[0].startswith("The song is shorter than 3 s")


@pytest.mark.parametrize("start", [-1.0, float("nan"), float("inf")])
def test_a_start_that_is_not_a_time_is_an_audio_error(media, tiny_model, start):
    with pytest.raises(AudioError, match="0 or more"):
        predict(media["long"], tiny_model, start=start)


def test_long_song_is_capped_at_max_clips_spread_over_it(media, tiny_model):
    result = predict(media["long"], tiny_model)
    assert len(result.clips) == MAX_CLIPS
    assert result.clips[0].start == 0.0 and result.clips[-1].end == pytest.approx(result.duration, abs=0.01)
    assert result.duration == pytest.approx(75.0, abs=0.1)


def test_short_audio_is_one_padded_clip_and_flagged(media, tiny_model):
    result = predict(media["short"], tiny_model)
    assert result.short and len(result.clips) == 1
    assert result.clips[0].mel.shape == (128, 39)


def test_too_short_audio_is_refused(media, tiny_model):
    with pytest.raises(TooShortError):
        predict(media["tiny"], tiny_model)


def test_to_dict_is_json(media, tiny_model):
    d = json.loads(json.dumps(predict(media["wav"], tiny_model).to_dict()))
    assert set(d) >= {"genre", "confidence", "probabilities", "clips", "device"}
    assert set(d["clips"][0]) == {"start", "end", "genre", "probabilities", "tags"}
    assert {"tags", "unsure"} <= set(d) and isinstance(d["unsure"], bool)


def test_silent_stretches_do_not_vote(tiny_model):
    from tests.support.sounds import tone

    song = np.concatenate([tone(6.0), np.zeros(6 * 22050, np.float32), tone(3.0) * 1e-3])
    from genre.prediction import judge_samples, window_starts

    result = judge_samples(song, tiny_model, window_starts(len(song), 66150))
    assert [c.start for c in result.clips] == [0.0, 3.0]  # the silence and the -60 dB fade are skipped
    assert result.duration == pytest.approx(15.0)


def test_json_and_csv_carry_the_verdict_and_why(media, tiny_model):
    import csv
    import io

    result = predict(media["mp3"], tiny_model)
    d = json.loads(json.dumps(result.to_dict()))
    assert {"unsure", "why_unsure", "reason"} <= set(d)
    assert (d["reason"] is None) == (not d["unsure"]) and bool(d["why_unsure"]) == d["unsure"]
    rows = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert [r["scope"] for r in rows] == ["song"] + ["clip"] * len(result.clips)
    assert (rows[0]["unsure"], rows[0]["reason"]) == (str(result.unsure), result.reason or "")
    assert rows[0]["genre"] == result.genre and float(rows[-1]["end"]) == pytest.approx(result.clips[-1].end, abs=1e-4)
    for row in rows:
        assert sum(float(row[g]) for g in GENRES) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("short, truncated, said", [(False, False, []), (True, False, ["shorter than 3 s"]),
                                                     (False, True, ["first 10 minutes"])])
def test_notes_say_how_a_song_was_heard(short, truncated, said):
    from genre.prediction import Prediction

    song = Prediction("jazz", 0.9, {"jazz": 0.9, "rock": 0.1}, [], "CPU", 600.0 if truncated else 1.0,
                      short=short, truncated=truncated)
    notes = song.notes()
    assert len(notes) == len(said) and all(s in n for s, n in zip(said, notes))


def test_the_timeline_draws_nothing_over_a_stretch_skipped_as_silence():
    """Clips at 0-9 s and 21-27 s (9-21 s silent): two stretches; a lone clip spans its 3 s."""
    def clip(start):
        return Clip(start, start + 3.0, {"rock": 0.7, "jazz": 0.3}, np.zeros((128, 39)), np.zeros(3))

    song = Prediction("rock", 0.7, {"rock": 0.7, "jazz": 0.3}, [clip(t) for t in (0, 3, 6, 21, 24)], "cpu", 27.0)
    points = song.timeline()
    assert {(n, t) for n, t, g, p in points} == {(0, 1.5), (0, 4.5), (0, 7.5), (1, 22.5), (1, 25.5)}
    assert sorted(p for n, t, g, p in points if t == 1.5) == [0.3, 0.7]
    lone = Prediction("rock", 0.7, {"rock": 0.7, "jazz": 0.3}, [clip(0), clip(3), clip(30)], "cpu", 33.0)
    assert sorted({(n, t) for n, t, g, p in lone.timeline()}) == [(0, 1.5), (0, 4.5), (1, 30.0), (1, 33.0)]
    ends = Prediction("rock", 0.7, {"rock": 0.7, "jazz": 0.3}, [clip(0), clip(27)], "cpu", 30.0)  # all equal gaps
    assert sorted({(n, t) for n, t, g, p in ends.timeline()}) == [(0, 0.0), (0, 3.0), (1, 27.0), (1, 30.0)]


def test_mostly_silence_is_the_why_of_a_weak_guess_on_a_mostly_silent_song(tmp_path, tiny_model):
    """4 s of sound in 30 s: whatever the model doubts there (or is sure of), the silence is the why."""
    from genre import audio
    from genre.verdict import LOW_CONFIDENCE, MOSTLY_SILENCE, NO_BEAT, NOT_MUSIC, OUTSIDE_TEN

    class Doubting:  # the tiny model, with its verdict doubted as the fused model doubts a weak one
        genres, device, tags = tiny_model.genres, tiny_model.device, tiny_model.tags

        def __init__(self, reason):
            self.reason = reason

        def judge(self, *args, **kwargs):
            verdict = tiny_model.judge(*args, **kwargs)
            verdict.doubt(self.reason, "said by the model")
            return verdict

    rng = np.random.default_rng(5)
    y = np.zeros(30 * audio.SAMPLE_RATE, np.float32)
    y[:4 * audio.SAMPLE_RATE] = 0.3 * rng.standard_normal(4 * audio.SAMPLE_RATE)
    song = audio.to_wav_bytes(y)
    weak = predict(song, Doubting(LOW_CONFIDENCE))
    assert weak.reason == MOSTLY_SILENCE and "silence" in weak.why_unsure
    for reason in (NO_BEAT, NOT_MUSIC, OUTSIDE_TEN):  # 4 s of anything are too little to call it so
        assert predict(song, Doubting(reason)).reason == MOSTLY_SILENCE, reason
    assert predict(song, tiny_model).reason == MOSTLY_SILENCE  # and a sure guess is doubted too
