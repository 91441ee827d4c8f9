"""PII names: a found name at its other mentions (propagate.py), possessives in the tagger's
tokens, and lower-case first names after a verb (merge.py). Every sentence here is written by
this test."""

from __future__ import annotations

import pytest

from datamoat.privacy.pii import PiiEngine
from datamoat.privacy.pii.finding import Finding
from datamoat.privacy.pii.merge import common_english, merge_findings
from datamoat.privacy.pii.propagate import PROPAGATED, propagate_names
from datamoat.privacy.pii.tagger_features import tokenize


def _values(text: str, findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.value(text), f.recognizer) for f in sorted(findings, key=lambda f: f.start)]


def test_a_found_name_is_a_name_at_its_other_mentions() -> None:
    text = "Anna Kowalczyk called. Later anna said Kowalczyk and Anna Kowalczyk would come; Kowalczyk's dog too."
    found = [Finding("PERSON", 0, 14, 0.8, "pii_tagger")]
    out = propagate_names(text, found, common_english())
    assert out[0] is found[0]
    assert _values(text, out[1:]) == [("Kowalczyk", PROPAGATED), ("Anna Kowalczyk", PROPAGATED), ("Kowalczyk", PROPAGATED)]
    assert all(f.score == 0.8 and f.entity_type == "PERSON" for f in out)  # lower-case "anna" is another spelling


def test_common_words_titles_and_other_findings_are_never_propagated() -> None:
    text = "Dr Will Okafor wrote. Will you call Dr Okafor at Okafor Street 4? Okaforian is not Okafor."
    street = text.index("Okafor Street")
    found = [Finding("PERSON", 3, 14, 0.9, "pii_tagger"), Finding("STREET_ADDRESS", street, street + 15, 0.9, "x")]
    added = propagate_names(text, found, common_english())[2:]
    assert [f.value(text) for f in added] == ["Okafor", "Okafor"]  # not Will / Dr / the street / Okaforian
    assert added[0].start == text.index("Okafor at") and added[1].start == text.rindex("Okafor")
    assert propagate_names(text, found[1:], common_english()) == found[1:]  # no name, nothing added


def test_a_name_mentioned_once_adds_nothing_even_inside_longer_words() -> None:
    # the cheap precheck (a word the text holds once) and the whole-word match agree
    found = [Finding("PERSON", 0, 9, 0.8, "pii_tagger")]
    assert propagate_names("Anna Berg called.", found, common_english()) == found
    assert propagate_names("Anna Berg called Annabel from Bergen.", found, common_english()) == found


@pytest.mark.parametrize("mode", ["fast", "accurate"])
def test_the_engine_reports_every_mention_of_a_name(mode: str) -> None:
    text = "My name is Tomasz Wrobel. The parcel for Wrobel never came."
    names = [f.value(text) for f in PiiEngine(mode=mode, cache_size=0).analyze(text) if f.entity_type == "PERSON"]
    assert names == ["Tomasz Wrobel", "Wrobel"]
    assert PiiEngine(["EMAIL"], mode=mode, cache_size=0).analyze(text) == []  # PERSON not wanted: no names


def test_a_possessive_is_a_token_of_its_own() -> None:
    assert [t for t, _, _ in tokenize("Juan's car, O'Brien’s dog, it's Jean-Luc")] == [
        "Juan", "'s", "car", ",", "O'Brien", "’s", "dog", ",", "it", "'s", "Jean-Luc"]


def test_a_lower_case_first_name_after_a_verb_needs_a_sure_tagger() -> None:
    text = "i met daniel yesterday at the gym"
    at = text.index("daniel")
    name = ("PERSON", at, at + 6)
    assert [f.value(text) for f in merge_findings(text, [], [(*name, 0.95)])] == ["daniel"]
    assert merge_findings(text, [], [(*name, 0.6)]) == []
    plain = "we had daniel yesterday"  # no verb of meeting: a lone lower-case word needs a cue
    at = plain.index("daniel")
    assert merge_findings(plain, [], [("PERSON", at, at + 6, 0.99)]) == []
    common = "i met will yesterday"  # a common English word never is
    assert merge_findings(common, [], [("PERSON", 6, 10, 0.99)]) == []


def test_contractions_currencies_and_weak_cues_make_no_name() -> None:
    text = "I haven't gotten my card"
    at = text.index("haven't")
    assert merge_findings(text, [], [("PERSON", at, at + 14, 0.99)]) == []
    money = "Can I convert Euro to AUD for the Americans?"
    tagged = [("PERSON", money.index(w), money.index(w) + len(w), 0.99) for w in ("Euro", "AUD", "Americans")]
    assert merge_findings(money, [], tagged) == []
    weak = "you will hear back from us soon"  # "from" is a weak cue: a stop word after it stays a word
    at = weak.index("us")
    assert merge_findings(weak, [], [("PERSON", at, at + 2, 0.99)]) == []
    talked = "i talked to sophie about it"
    at = talked.index("sophie")
    assert [f.value(talked) for f in merge_findings(talked, [], [("PERSON", at, at + 6, 0.8)])] == ["sophie"]


@pytest.mark.parametrize("mode", ["fast", "accurate"])
def test_an_unknown_capitalised_word_after_good_morning_is_a_name(mode: str) -> None:
    engine = PiiEngine(mode=mode, cache_size=0)
    text = "Good morning Zorvan, thanks for the quick reply"
    assert [f.value(text) for f in engine.analyze(text) if f.entity_type == "PERSON"] == ["Zorvan"]
    plain = "Zorvan thanks you for the quick reply"  # no cue, at the start of a sentence
    assert [f for f in PiiEngine(mode="fast", cache_size=0).analyze(plain) if f.entity_type == "PERSON"] == []


def test_first_names_in_another_language_s_lorem_list_stay_first_names() -> None:
    from datamoat.privacy.pii.recognizers.names import gazetteer

    kinds = gazetteer().kinds
    # Faker's Spanish and French lorem lists name people; their own first-name lists say so
    assert [kinds.get(w) for w in ("juan", "jorge", "maría", "claire")] == ["first"] * 4
    assert kinds.get("will") == "weak" and kinds.get("julio") == "blocker"  # English words and months stay what they were
    engine = PiiEngine(mode="fast")
    text = "Juan and Jorge wrote to Will."
    assert [f.value(text) for f in sorted(engine.analyze(text), key=lambda f: f.start)] == ["Juan", "Jorge"]


def test_a_placeholder_in_faker_s_name_lists_is_no_name() -> None:
    from datamoat.privacy.pii.recognizers.names import gazetteer

    assert gazetteer().kinds.get("unknown") is None  # Faker's en first names hold "Unknown"
    for mode in ("fast", "accurate"):
        assert PiiEngine(mode=mode).analyze("Unknown direct deposit") == []


def test_a_possessive_s_is_not_part_of_a_recognized_name() -> None:
    text = "Mohammed Ali's account is locked."
    for mode in ("fast", "accurate"):
        assert [f.value(text) for f in PiiEngine(mode=mode).analyze(text)] == ["Mohammed Ali"]
