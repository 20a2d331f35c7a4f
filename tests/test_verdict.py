"""The verdict's vocabulary and wording, without a page or a model."""
import numpy as np
import pytest

from genre import verdict as V

PROBS = dict(zip(V.GENRES, [0.05, 0.02, 0.03, 0.04, 0.46, 0.20, 0.05, 0.07, 0.03, 0.05]))


def test_genres_and_reasons_are_the_contract():
    assert len(V.GENRES) == len(set(V.GENRES)) == 10
    assert V.REASONS == ("not_music", "outside_ten", "low_confidence", "mostly_silence", "no_beat")


def test_display_names_and_numbers():
    assert V.display_name("hiphop") == "hip-hop" and V.display_name("jazz") == "jazz"
    assert V.pct(0.456) == "46%" and V.mmss(125.9) == "2:05"
    assert V.span(31.0, 33.995) == "0:31–0:34" and V.span(97.6, 100.6) == "1:37–1:40"  # 3 s read as 3 s
    assert V.mmss_tenths(399.44) == "6:39.4" and V.mmss_tenths(59.96) == "1:00.0" and V.mmss_tenths(3) == "0:03.0"
    assert [V.sureness(p) for p in (0.95, 0.8, 0.7, 0.6, 0.3)] == \
        ["very sure", "very sure", "fairly sure", "fairly sure", "somewhat sure"]
    assert [g for g, _ in V.ranked(PROBS)][:2] == ["hiphop", "jazz"]


@pytest.mark.parametrize("tags, style, phrase", [
    ([("rock", .7), ("hard rock", .4), ("80s", .3), ("indie", .2)], ["rock", "indie"], "rock and indie music"),
    ([("electronic", .8), ("dance", .6), ("80s", .3)], ["electronic", "dance"], "electronic and dance music"),
    ([("female vocalists", .5), ("mellow", .4)], [], "music with female vocalists and mellow"),
    ([("electronic", .8), ("electronica", .5)], ["electronic"], "electronic music"),
])
def test_tags_become_a_style_and_a_phrase(tags, style, phrase):
    assert V.style_tags(tags) == style
    assert V.hears(tags) == phrase


def test_a_judgement_records_one_reason_with_its_sentence():
    j = V.Judgement(np.full((2, 10), 0.1), np.full(10, 0.1))
    assert not j.unsure and j.reason is None and j.why_unsure == ""
    j.doubt(V.MOSTLY_SILENCE, V.silence_sentence(1, 5))
    assert j.unsure and j.reason == "mostly_silence" and "1 of its 5" in j.why_unsure
    with pytest.raises(ValueError, match="unknown reason 'bored'"):
        j.doubt("bored", "no such reason")


def test_sentences_name_what_they_are_about():
    assert "jazz" in V.no_beat_sentence("jazz") and "beat" in V.no_beat_sentence("jazz")
    assert V.outside_sentence(["ambient", "electronic"]).endswith("It hears ambient, electronic.")
    assert "It hears" not in V.outside_sentence([])
    said = V.low_confidence_sentence(["pop", "metal", "rock", "jazz"], np.array([0.16, 0.33, 0.41, 0.1]))
    assert said.index("rock (41%)") < said.index("metal (33%)") and "pop" not in said  # the two likeliest
    said = V.low_confidence_sentence(["reggae", "hiphop"], [0.33, 0.41]) + V.no_beat_sentence("hiphop")
    assert "hiphop" not in said and said.count("hip-hop") == 2  # as the page and the CLI write it


def test_a_sure_verdict_leads_with_the_genre():
    top = V.headline("hiphop", 0.46, PROBS, False, [("Hip-Hop", .6)], 4)
    assert top.title == "It sounds like hip-hop: 46%" and not top.warning and not top.nearest
    assert "somewhat sure" in top.text and "from 4 clips of 3 s" in top.text


def test_not_music_says_so_first_and_names_no_genre_in_the_title():
    top = V.headline("jazz", 0.8, PROBS, True, [("ambient", .4)], 4, reason=V.NOT_MUSIC)
    assert "not sound like music" in top.title and "jazz" not in top.title
    assert "ambient" in top.subtitle and top.warning and top.nearest and top.names_tags
    assert "It sounds like" not in top.title


def test_outside_the_ten_leads_with_what_it_hears():
    top = V.headline("disco", 0.5, PROBS, True, [("electronic", .7), ("dance", .5)], 3, reason=V.OUTSIDE_TEN)
    assert top.title.startswith("This sounds like electronic and dance music") and "not one of the ten" in top.title
    assert top.subtitle == "Maybe disco: 50%, the nearest of the ten" and top.nearest


@pytest.mark.parametrize("reason, says", [(V.MOSTLY_SILENCE, "silence"), (V.NO_BEAT, "no steady beat"),
                                          (V.LOW_CONFIDENCE, "Maybe metal: 59%")])
def test_the_headline_gives_the_package_reason_and_no_other(reason, says):
    top = V.headline("metal", 0.59, PROBS, True, [("electronic", .6), ("experimental", .4)], 1, reason=reason)
    assert says in top.title and top.warning
    assert "ten" not in top.title + top.subtitle and not top.nearest  # "none of the ten" is outside_ten's alone


def test_an_unsure_verdict_leads_with_its_guess_not_tags_that_name_other_genres():
    """The tags are the backbone's, the guess the heads': "blues and rock" over "maybe country" read
    as a contradiction, so the guess leads and the tags come after (``names_tags`` False)."""
    top = V.headline("country", 0.35, PROBS, True, [("blues", .5), ("rock", .4)], 10, reason=V.LOW_CONFIDENCE)
    assert top.title == "Maybe country: 35%" and "blues" not in top.title + top.subtitle and not top.names_tags


def test_an_unsure_verdict_gives_the_three_best_guesses():
    top = V.headline("hiphop", 0.46, PROBS, True, [], 2, reason=V.LOW_CONFIDENCE)
    assert top.title == "Maybe hip-hop: 46%" and top.warning and not top.nearest
    assert "**hip-hop** (46%), **jazz** (20%) and **pop** (7%)" in top.text


def test_the_tag_line_leaves_out_the_genre_it_is_said_beside():
    tags = [("Hip-Hop", 0.6), ("rnb", 0.3), ("jazz", 0.2)]
    assert V.tag_line(tags) == "hip-hop · rnb · jazz"
    assert V.tag_line(tags, besides="hiphop") == "rnb · jazz" and V.tag_line(tags, besides="jazz") == "hip-hop · rnb"
    assert V.tag_line([("jazz", 0.9)], besides="jazz") == ""  # nothing else: the page says nothing
