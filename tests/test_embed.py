"""The training embeddings' cache: a rerun reads back every field a fresh embedding has, and a
file made by another backbone, band map or version is embedded again."""
import dataclasses

import numpy as np
import pytest

from genre import backbone, bands, fusion
from genre.verdict import GENRES
from genre.training import embed
from genre.training.data import Item
from tests.support import ROOT

DEMO = ROOT / "assets" / "demo" / "rock.mp3"


@pytest.fixture(scope="module")
def tagger():
    return backbone.load_backbone(ROOT / "model" / backbone.MODEL_FILE)


@pytest.fixture
def counted(monkeypatch):
    """How many files ``cached_embed`` really embeds (the real ``embed``, counted)."""
    calls = []
    real = embed.embed

    def counting(item, *args, **kwargs):
        calls.append(item.id)
        return real(item, *args, **kwargs)
    monkeypatch.setattr(embed, "embed", counting)
    return calls


@pytest.mark.slow
def test_a_rerun_reads_back_what_was_embedded_and_another_map_embeds_again(tmp_path, tagger, counted):
    band_map = bands.BandMap.load(ROOT / "model" / fusion.BAND_MAP_FILE)
    items = [Item("rock.demo", "rock", "audio", DEMO)]
    cache = tmp_path / "cache"
    first, = embed.cached_embed(items, tagger, band_map, list(GENRES), cache, log=lambda m: None)
    again, = embed.cached_embed(items, tagger, band_map, list(GENRES), cache, log=lambda m: None)
    assert counted == ["rock.demo"]  # the second run embedded nothing
    assert first.pulse is not None and again.pulse == pytest.approx(first.pulse)  # the no-beat rule's input
    assert again.gain_db == pytest.approx(first.gain_db) and again.label == GENRES.index("rock")
    for name in ("image_emb", "audio_emb", "tags", "image_pool", "audio_pool"):
        assert np.array_equal(getattr(again, name), getattr(first, name)), name
    assert first.audio_emb.shape[1] == 200 and first.audio_pool.shape[1] == 1506

    other = dataclasses.replace(band_map, weights=band_map.weights * np.float32(1.01))
    assert embed.cache_key(tagger, other) != embed.cache_key(tagger, band_map)
    embed.cached_embed(items, tagger, other, list(GENRES), cache, log=lambda m: None)
    assert counted == ["rock.demo"] * 2  # made by another map: embedded again


@pytest.mark.slow
def test_a_file_cached_by_an_older_version_is_embedded_again(tmp_path, tagger, counted):
    band_map = bands.BandMap.load(ROOT / "model" / fusion.BAND_MAP_FILE)
    items = [Item("rock.demo", "rock", "audio", DEMO)]
    cache = tmp_path / "cache"
    cache.mkdir()
    fake = np.zeros((1, 200), np.float32)  # an older file: no key, no pulse
    embed.save_npz(cache / "audio-rock.demo.npz", image_emb=fake, audio_emb=fake, tags=np.zeros((1, 50)),
                   image_pool=np.zeros((1, 1506)), audio_pool=np.zeros((1, 1506)), gain_db=np.array(0.0))
    song, = embed.cached_embed(items, tagger, band_map, list(GENRES), cache, log=lambda m: None)
    assert counted == ["rock.demo"] and song.pulse is not None and np.abs(song.audio_emb).sum() > 0
    with np.load(cache / "audio-rock.demo.npz") as z:
        assert str(z["key"]) == embed.cache_key(tagger, band_map) and "pulse" in z.files


@pytest.mark.slow
def test_a_file_a_crash_cut_short_is_embedded_again(tmp_path, tagger, counted):
    band_map = bands.BandMap.load(ROOT / "model" / fusion.BAND_MAP_FILE)
    items = [Item("rock.demo", "rock", "audio", DEMO)]
    cache = tmp_path / "cache"
    embed.cached_embed(items, tagger, band_map, list(GENRES), cache, log=lambda m: None)
    saved = cache / "audio-rock.demo.npz"
    whole = saved.read_bytes()
    for damaged in (whole[:len(whole) // 2], b""):  # cut short; empty
        saved.write_bytes(damaged)
        song, = embed.cached_embed(items, tagger, band_map, list(GENRES), cache, log=lambda m: None)
        assert song.pulse is not None and saved.stat().st_size == len(whole)  # embedded and written again
    assert counted == ["rock.demo"] * 3
