"""Held-out figures: halves by recording, numbers chosen on one half and reported on the other."""
import json

import numpy as np
import pytest

from genre import GENRES, backbone
from genre.fusion import Fusion
from genre.training.calibration import choose_fusion, reference
from genre.training.embed import Song
from genre.training.heads import fit_heads
from genre.training.heldout import L2_CHOICES, choose, halves, held_out

UNITS = backbone.EMBEDDING_UNITS


def made_up_songs(n: int, seed: int, spread: float = 1.0) -> list[Song]:
    """Songs whose embeddings lie near their genre's number: audio ones (with a CNN's output) and images."""
    rng = np.random.default_rng(seed)
    songs = []
    for i in range(n):
        label = i % len(GENRES)
        kind = "full" if i % 3 else "mel-image"
        image = rng.normal(label, spread, (3, UNITS))
        clean = rng.normal(label, spread, (3, UNITS)) if kind == "full" else None
        cnn = np.full((3, len(GENRES)), 0.05)
        cnn[:, (label + (i % 4 == 0)) % len(GENRES)] = 0.55  # right three times in four
        songs.append(Song(f"{GENRES[label]}.{seed:02d}{i:03d}", label, kind, image, clean,
                          rng.uniform(0, 0.3, (3, 50)), cnn={"cnn": cnn}, image_pool=image,
                          audio_pool=clean))
    return songs


def test_halves_keep_a_recording_together_and_balance_genres():
    songs = made_up_songs(80, seed=1)
    songs += [Song(s.id, s.label, "excerpt", s.image_emb, s.image_emb, s.tags, cnn=s.cnn, image_pool=s.image_emb,
                   audio_pool=s.image_emb) for s in songs[:20]]
    a, b = halves(songs)
    assert len(a) + len(b) == len(songs)
    assert not {s.id for s in a} & {s.id for s in b}  # an id's files all fall on one side
    for label in range(len(GENRES)):
        ids_a = {s.id for s in a if s.label == label}
        ids_b = {s.id for s in b if s.label == label}
        assert abs(len(ids_a) - len(ids_b)) <= 1
    again = halves(songs)
    assert [s.id for s in again[0]] == [s.id for s in a]  # the seed fixes the halves
    assert [s.id for s in halves(songs, seed=5)[0]] != [s.id for s in a]


@pytest.fixture(scope="module")
def fitted():
    train = made_up_songs(120, seed=2)
    heads = {l2: fit_heads(train, len(GENRES), l2=l2) for l2 in (L2_CHOICES[0], L2_CHOICES[-1])}
    return heads, reference(train)


BASE = {"margin_above": 1e9, "k": 3, "pulse_below": {}}


def test_choose_picks_among_the_fitted_l2_and_sets_every_threshold(fitted):
    heads, ref = fitted
    choice = choose(made_up_songs(60, seed=3), heads, ref, BASE)
    assert set(choice.l2) == {"audio", "image"} and set(choice.l2.values()) <= set(heads)  # one L2 a head
    numbers = choice.fusion
    for domain in ("audio", "image"):
        assert sum(numbers.weights[domain].values()) == pytest.approx(1.0)
        assert 0.0 <= numbers.unsure.confidence_below[domain] <= 0.95
        assert numbers.song_temperature[domain] > 0
    assert set(numbers.unsure.distance_above) == {"image"} and numbers.unsure.distance_above["image"] > 0
    assert numbers.unsure.k == 3 and numbers.unsure.margin_above == 1e9
    again = Fusion.from_meta(json.loads(json.dumps(choice.meta())))  # as fusion.json holds it, and serving reads it
    assert again == numbers and choice.meta()["l2"] == choice.l2


def test_each_head_l2_is_the_best_for_its_own_input_kind(fitted):
    heads, ref = fitted
    select = made_up_songs(60, seed=5)
    chosen = choose(select, heads, ref, BASE).l2
    l2s = sorted(heads)

    def nll(audio_l2, image_l2, domain):
        pair = {**heads[audio_l2], "image": heads[image_l2]["image"]}
        return choose_fusion(select, pair).nll[domain]

    # the images' fusion has no audio head: their log-loss alone picks the image head
    assert chosen["image"] == min(l2s, key=lambda l2: nll(l2s[-1], l2, "image"))
    assert chosen["audio"] == min(l2s, key=lambda l2: nll(l2, chosen["image"], "audio"))


def test_held_out_reports_every_valid_song_once(fitted):
    heads, ref = fitted
    valid = made_up_songs(60, seed=4)
    report = held_out(valid, heads, ref, BASE, log=lambda m: None)
    audio = [s for s in valid if s.audio_emb is not None]
    assert report["audio"]["n"] == len(audio) and report["image"]["n"] == len(valid) - len(audio)
    for domain in ("audio", "image"):
        r = report[domain]
        assert 0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["coverage"] <= 1.0
        assert r["accuracy"] > 0.5  # separable made-up genres: far above chance (0.1)
        assert set(r["branches"]) >= {"image", "cnn"}
    assert "valid list" in report["protocol"]
    assert sum(h["audio"]["n"] for h in report["halves"]) == report["audio"]["n"]


@pytest.mark.parametrize("target", [0.75, 0.86, 0.95])
def test_sure_above_is_the_lowest_threshold_that_reaches_the_target(target):
    from genre.training.calibration import sure_above

    rng = np.random.default_rng(3)
    conf = rng.uniform(0.5, 1.0, 400)
    right = rng.random(400) < conf  # more confident verdicts are right more often
    probs = np.zeros((400, len(GENRES)))
    probs[:, 0], probs[:, 1] = conf, 1 - conf  # the verdict is always genre 0, at ``conf``
    labels = np.where(right, 0, 1)
    t = sure_above(probs, labels, target)
    assert 0.0 <= t <= 0.95
    sure = probs.max(1) >= t
    if t < 0.95:
        assert right[sure].mean() >= target and sure.sum() >= 10
    lower = probs.max(1) >= round(t - 0.01, 2)
    assert t == 0.0 or right[lower].mean() < target or lower.sum() < 10  # no lower step reaches it


def test_sure_above_reads_the_module_target_at_call_time(monkeypatch):
    from genre.training import calibration

    rng = np.random.default_rng(4)
    conf = rng.uniform(0.5, 1.0, 400)
    probs = np.stack([conf, 1 - conf], 1)
    labels = (rng.random(400) >= conf).astype(int)  # genre 0 right with probability ``conf``
    monkeypatch.setattr(calibration, "TARGET_ACCURACY", 0.7)
    loose = calibration.sure_above(probs, labels)
    monkeypatch.setattr(calibration, "TARGET_ACCURACY", 0.9)
    strict = calibration.sure_above(probs, labels)
    assert loose < strict
