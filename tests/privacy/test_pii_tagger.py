"""PII mode ``accurate``: the shipped tagger, its merge with the recognizers, the mode switch,
and the training command. Every sentence here is written by this test."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from datamoat.errors import DatamoatError, StepError
from datamoat.privacy.pii import PiiEngine
from datamoat.privacy.pii.finding import Finding
from datamoat.privacy.pii.merge import listed_places, merge_findings
from datamoat.privacy.pii.tagger import MODEL_PATH, PiiTagger
from datamoat.privacy.pii.train_tagger import train


@pytest.fixture(scope="module")
def accurate() -> PiiEngine:
    return PiiEngine(mode="accurate", cache_size=0)


def _spans(engine: PiiEngine, text: str, kind: str) -> list[str]:
    return [f.value(text) for f in engine.analyze(text) if f.entity_type == kind]


def test_the_shipped_model_loads_from_the_package_without_network() -> None:
    assert MODEL_PATH.is_file() and MODEL_PATH.stat().st_size < 5_000_000
    spans = PiiTagger().tag("Please forward this to Margaret Olsen before Friday.")
    assert ("PERSON", "Margaret Olsen") in [(k, "Please forward this to Margaret Olsen before Friday."[s:e])
                                           for k, s, e, _ in spans]


def test_lower_case_names_are_found_only_in_accurate_mode(accurate: PiiEngine) -> None:
    text = "yesterday kevin barnes asked again about the broken dishwasher"
    assert any("kevin barnes" in v for v in _spans(accurate, text, "PERSON"))
    assert _spans(PiiEngine(mode="fast"), text, "PERSON") == []  # the mode switch changes behaviour


def test_a_multi_line_address_with_a_uk_postcode_is_one_span(accurate: PiiEngine) -> None:
    text = "Hello,\nplease send the spare part to\n14 Orchard Lane\nNorwich NR2 4PX\nThank you"
    addresses = _spans(accurate, text, "STREET_ADDRESS")
    assert len(addresses) == 1
    assert addresses[0].startswith("14 Orchard Lane") and addresses[0].endswith("NR2 4PX")


def test_uk_postcode_in_a_sentence_is_part_of_the_address(accurate: PiiEngine) -> None:
    text = "We moved to 3 Kingsley Road, Leeds LS6 2AB last spring and the bills still go to the old flat."
    addresses = _spans(accurate, text, "STREET_ADDRESS")
    assert any("LS6 2AB" in a and "Kingsley Road" in a for a in addresses)


def test_pattern_types_win_on_overlap_and_address_fragments_merge() -> None:
    text = "write to laura.kim@example.org or 9 Pine Street,\nSpringfield IL 62704"
    at, street, town = text.index("laura"), text.index("9 Pine"), text.index("Springfield")
    email = Finding("EMAIL", at, at + len("laura.kim@example.org"), 0.9, "email_regex")
    tagged = [("PERSON", at, at + len("laura.kim"), 0.8), ("STREET_ADDRESS", street, street + len("9 Pine Street"), 0.7),
              ("STREET_ADDRESS", town, len(text), 0.6)]
    out = merge_findings(text, [email], tagged)
    assert [(f.entity_type, f.value(text)) for f in sorted(out, key=lambda f: f.start)] == [
        ("EMAIL", "laura.kim@example.org"), ("STREET_ADDRESS", "9 Pine Street,\nSpringfield IL 62704")]


def test_a_recognizer_name_the_tagger_reads_as_an_organisation_is_dropped() -> None:
    text = "Funds arrive from Morgan Stanley today"
    name = Finding("PERSON", 18, 32, 0.7, "name_gazetteer")
    assert merge_findings(text, [name], [("ORGANIZATION", 18, 32, 0.9)]) == []
    assert merge_findings(text, [name], []) == [name]  # untouched by the tagger: kept


def test_an_unknown_mode_is_one_clear_error() -> None:
    from datamoat.pipeline.registry import create_step

    with pytest.raises(DatamoatError, match="unknown PII mode 'exact'"):
        PiiEngine(mode="exact")
    with pytest.raises(StepError, match="pii_mode"):
        create_step("pii_redact", {"pii_mode": "slow"})


def test_redaction_counts_rows_with_pii_in_both_modes() -> None:
    from datamoat.data.roles import ColumnRoles
    from datamoat.pipeline.registry import create_step

    texts = ["ship it to 22 Mill Road, Cambridge CB1 2AD please", "the lid does not close", None,
             "ask for rosa delgado at the front desk"]
    batch = pa.RecordBatch.from_pydict({"text": texts})
    counts = {}
    for mode in ("fast", "accurate"):
        step = create_step("pii_redact", {"pii_mode": mode})
        step.bind(ColumnRoles.from_dict({"text": "text"}), batch.schema)
        out = step.apply(batch)
        counts[mode] = out.column("_dm_pii_count").to_pylist()
    assert counts["accurate"][1:3] == [0, 0] and counts["accurate"][0] >= 1 and counts["accurate"][3] >= 1
    assert counts["fast"][3] == 0  # the lower-case name needs the tagger


def test_pii_scan_and_redact_take_the_mode_from_the_option_and_the_config(cli, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("id,text\n1,ask for rosa delgado at the desk\n2,nothing here\n3,all fine\n",
                                    encoding="utf-8")
    assert cli("init")[0] == 0
    assert cli("ingest", str(tmp_path / "t.csv"), "--name", "t", "--text", "text", "--id", "id")[0] == 0
    code, out, err = cli("pii", "scan", "t", "--pii-mode", "fast", "--json")
    assert code == 0, err
    assert json.loads(out)["issues"] == 0 and json.loads(out)["pii_mode"] == "fast"
    code, out, err = cli("pii", "redact", "t", "--json")
    assert code == 0, err
    assert json.loads(out)["rows_with_pii"] == 1 and json.loads(out)["rows"] == 3
    config = tmp_path / "ws" / "datamoat.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "\npii:\n  mode: fast\n", encoding="utf-8")
    code, out, err = cli("pii", "redact", "t", "--json")
    assert code == 0, err
    assert json.loads(out)["rows_with_pii"] == 0


def test_the_training_command_builds_a_model_that_loads(tmp_path: Path) -> None:
    out = tmp_path / "tiny.crfsuite"
    result = train(out, texts=60, iterations=5)
    assert out.is_file() and result["texts"] == 60 and result["tokens"] > 300
    assert isinstance(PiiTagger(out).tag("Send it to Anna Berg at 4 Elm Street."), list)
    with pytest.raises(DatamoatError, match="missing"):
        PiiTagger(tmp_path / "none.crfsuite")


def test_demo_data_pii_truth_recall_in_both_modes(tmp_path: Path) -> None:
    import csv

    from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
    from datamoat.demo.generate import generate_demo_data
    from datamoat.demo.truth_score import score_pii_against_truth
    from datamoat.quality.check import create_check

    paths = generate_demo_data(tmp_path / "demo", n_tickets=400, seed=21)
    with open(paths["tickets"], encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    table = pa.table({ROW_ID_COLUMN: [r["ticket_id"] for r in rows], "text": [r["text"] for r in rows]})
    truth = json.loads(Path(paths["truth"]).read_text(encoding="utf-8"))
    for mode in ("fast", "accurate"):
        result = create_check("pii", {"pii_mode": mode}).run(table, ColumnRoles.from_dict({"text": "text"}))
        scores = score_pii_against_truth(result, truth, lambda ticket: ticket)
        assert min(scores["per_type_recall"].values()) >= 0.95, (mode, scores)


def test_the_development_templates_are_held_out_from_training() -> None:
    from datamoat.privacy.pii.tagger_synth import TEMPLATES, generate, templates_of

    dev, train_part = set(templates_of("dev")), set(templates_of("train"))
    assert dev and train_part and not dev & train_part and dev | train_part == set(TEMPLATES)
    assert generate(4, 3, "dev") == generate(4, 3, "dev") != generate(4, 3, "train")
    with pytest.raises(ValueError, match="unknown part"):
        templates_of("test")


def test_features_are_bytes_and_those_the_model_does_not_know_are_left_out() -> None:
    from datamoat.privacy.pii.tagger_features import FeatureCache, sequence_features, tokenize, word_features

    assert "g0" in word_features("Zorblattine") and "g0" not in word_features("Anna")
    assert FeatureCache(known=frozenset({b"w=anna", b"-1:T"})).get("Anna") == ([b"w=anna"], [], [b"-1:T"], [], [])
    text = "Hi Anna,\nthanks"
    feats = sequence_features(text, tokenize(text), FeatureCache())
    assert b"BOS" in feats[0] and b"glued" in feats[2] and b"nl" in feats[3] and b"EOS" in feats[3]
    assert all(isinstance(f, bytes) for token in feats for f in token)


def test_a_lower_case_name_in_no_list_needs_a_sure_tagger() -> None:
    text = "the parcel went to maciej zorvankelbrit and then back to the shop"
    at = text.index("maciej")
    name = ("PERSON", at, at + len("maciej zorvankelbrit"))
    assert [f.value(text) for f in merge_findings(text, [], [(*name, 0.95)])] == ["maciej zorvankelbrit"]
    assert merge_findings(text, [], [(*name, 0.5)]) == []
    made_up = text.index("zorvankelbrit")  # no word of it in the name lists: not a lower-case name
    assert merge_findings(text, [], [("PERSON", made_up, made_up + 13, 0.99)]) == []
    shop = text.index("the shop")
    assert merge_findings(text, [], [("PERSON", shop, len(text), 0.99)]) == []  # common words: never a name


def test_the_development_score_counts_spans_by_coverage() -> None:
    from datamoat.privacy.pii.tagger_dev import score

    text = "mail ann@example.org or call"
    result = score(PiiEngine(mode="fast", cache_size=0), [(text, [("EMAIL", 5, 20), ("PERSON", 24, 28)])])
    assert result["pattern"] == {"precision": 1.0, "recall": 1.0, "f2": 1.0, "gold": 1, "pred": 1}
    assert result["PERSON"]["recall"] == 0.0 and result["PERSON"]["gold"] == 1


PII_FREE = (
    "how do i link my new card to the app",
    "will the bill be paid before the top-up arrives",
    "please mark the transfer i made yesterday as disputed",
    "grace period for the loan rose again this month",
    "I made a SWIFT transfer in AUD and it has not arrived",
    "My top-up failed and an ATM kept the cash",
    "Cash withdrawal fees for UK pounds are too high",
    "can I turn on auto top-up for my account",
    "the machine gave me 10 pounds, what do I do",
    "w143 w76 w191 w32 w87 w342 bill33 w267",
    "ab12 cd34 ef56 gh78 ij90 kl12",
)


@pytest.mark.parametrize("text", PII_FREE)
def test_ordinary_text_without_personal_data_gives_no_finding(accurate: PiiEngine, text: str) -> None:
    assert accurate.analyze(text) == []


def test_a_lower_case_common_word_is_a_name_only_after_a_cue() -> None:
    text = "dear will, the bill is paid"
    at = text.index("will")
    assert [f.value(text) for f in merge_findings(text, [], [("PERSON", at, at + 4, 0.9)])] == ["will"]
    plain = "you will get the bill"
    at = plain.index("will")
    assert merge_findings(plain, [], [("PERSON", at, at + 4, 0.99)]) == []


def test_a_tagger_address_needs_a_house_number_with_a_street_word_or_postcode() -> None:
    kept = "send it to 12b Mill Road please"
    at = kept.index("12b")
    assert [f.value(kept) for f in merge_findings(kept, [], [("STREET_ADDRESS", at, at + 13, 0.9)])] == ["12b Mill Road"]
    codes = "w143 w76 w191 bill33"
    assert merge_findings(codes, [], [("STREET_ADDRESS", 0, len(codes), 0.99)]) == []
    count = "it gave me 10 pounds"
    assert merge_findings(count, [], [("STREET_ADDRESS", 11, len(count), 0.99)]) == []


def test_a_place_or_month_that_is_a_first_name_stays_in_a_tagger_name_next_to_a_surname() -> None:
    text = "Requested by Georgia Harvey and June Carter; shipped to Georgia"
    spans = [("PERSON", text.index(n), text.index(n) + len(n), 0.99) for n in ("Georgia Harvey", "June Carter")]
    assert [f.value(text) for f in merge_findings(text, [], spans)] == ["Georgia Harvey", "June Carter"]
    alone = text.rindex("Georgia")  # on its own a place: still split off
    assert merge_findings(text, [], [("PERSON", alone, len(text), 0.99)]) == []
    states = "We flew to North Carolina"  # a direction word stays a blocker (and heads a place)
    at = states.index("North")
    assert merge_findings(states, [], [("PERSON", at, len(states), 0.9)]) == []


def test_a_lower_case_first_name_with_a_surname_in_no_list_needs_a_fairly_sure_tagger() -> None:
    text = "please thank ingrid zorvankel for the help"
    at = text.index("ingrid")
    name = ("PERSON", at, at + len("ingrid zorvankel"))
    assert [f.value(text) for f in merge_findings(text, [], [(*name, 0.75)])] == ["ingrid zorvankel"]
    assert merge_findings(text, [], [(*name, 0.6)]) == []
    one = text.index("zorvankel")  # the surname alone: no listed first name, the higher bar holds
    assert merge_findings(text, [], [("PERSON", one, one + 9, 0.75)]) == []


def test_a_name_right_after_a_place_name_head_is_part_of_the_place() -> None:
    text = "flights to New York and back, said Anna York"
    at = text.index("New")
    tagged = [("PERSON", at, at + len("New York"), 0.8), ("PERSON", text.index("Anna"), len(text), 0.9)]
    recognized = Finding("PERSON", at + 4, at + 8, 0.6, "name_gazetteer")
    assert [f.value(text) for f in merge_findings(text, [recognized], tagged)] == ["Anna York"]


def test_a_recognizer_address_that_starts_inside_a_tagger_name_starts_at_the_tagger_address() -> None:
    text = "Ship to Andrew Morgan at Moritz-Gstrein-Gasse 9, 5373 Eisenerz."
    name, street = text.index("Andrew"), text.index("Moritz")
    recognized = Finding("STREET_ADDRESS", text.index("Morgan"), len(text) - 1, 0.8, "address_pattern")
    tagged = [("PERSON", name, name + len("Andrew Morgan"), 0.99), ("STREET_ADDRESS", street, len(text) - 1, 0.95)]
    out = sorted(merge_findings(text, [recognized], tagged), key=lambda f: f.start)
    assert [(f.entity_type, f.value(text)) for f in out] == [
        ("PERSON", "Andrew Morgan"), ("STREET_ADDRESS", "Moritz-Gstrein-Gasse 9, 5373 Eisenerz")]


def test_a_listed_name_that_is_also_a_place_is_a_name_right_after_a_title() -> None:
    text = "Appointment with Mrs. Jordan at 9:15, then a flight to Jordan"
    at = text.index("Jordan")
    assert [f.value(text) for f in merge_findings(text, [], [("PERSON", at, at + 6, 0.99)])] == ["Jordan"]
    place = text.rindex("Jordan")
    assert merge_findings(text, [], [("PERSON", place, place + 6, 0.99)]) == []
    long_title = "Sent by Mevrouw  Jordan today"  # the longest titles (7 letters) count too, also before two spaces
    at = long_title.index("Jordan")
    assert [f.value(long_title) for f in merge_findings(long_title, [], [("PERSON", at, at + 6, 0.99)])] == ["Jordan"]


def test_a_lower_case_name_in_no_list_is_kept_after_a_verb_people_are_the_object_of() -> None:
    text = "we thank tiupil vacen for the help"
    at = text.index("tiupil")
    name = ("PERSON", at, at + len("tiupil vacen"))
    assert [f.value(text) for f in merge_findings(text, [], [(*name, 0.95)])] == ["tiupil vacen"]
    assert merge_findings(text, [], [(*name, 0.8)]) == []  # the tagger not sure enough
    plain = "blocked from making transfers"  # a weak cue is not enough
    at = plain.index("making")
    assert merge_findings(plain, [], [("PERSON", at, len(plain), 0.95)]) == []


def _kept(text: str, piece: str, score: float) -> list[str]:
    """The names merge_findings keeps when the tagger reads ``piece`` (its first occurrence in
    ``text``) as a PERSON with ``score`` and the recognizers found nothing."""
    at = text.index(piece)
    return [f.value(text) for f in merge_findings(text, [], [("PERSON", at, at + len(piece), score)])]


def test_a_capital_initial_with_a_dot_is_part_of_a_name_not_the_article() -> None:
    assert _kept("Kind regards,\nOkle A. Zorvankel", "Okle A. Zorvankel", 0.9) == ["Okle A. Zorvankel"]
    assert _kept("We got A refund", "A refund", 0.9) == []  # the article without a dot still splits a span


def test_a_lower_case_name_in_no_list_is_kept_after_a_person_word_or_a_to_header() -> None:
    for text, name in (("i write for my mother, mespe tiisuti, who cannot", "mespe tiisuti"),
                       ("to: umdritam shoti\nsubject: renewal", "umdritam shoti")):
        assert _kept(text, name, 0.95) == [name]
        assert _kept(text, name, 0.8) == []  # not sure enough
    assert _kept("sent from making transfers", "making transfers", 0.95) == []  # a bare preposition is no person word


def test_an_unknown_word_joined_by_and_to_a_name_is_a_name() -> None:
    assert _kept("Tamle and Margaret from the office joined the call.", "Tamle", 0.9) == ["Tamle"]
    # at the start of a sentence, no cue: capitals say nothing
    assert _kept("Tamle from the office joined the call.", "Tamle", 0.9) == []
    assert _kept("Looking and Saving are both tabs in the app", "Looking", 0.9) == []  # the other word is in no list


def test_a_recognizer_name_after_a_title_or_greeting_stands_against_another_tagger_type() -> None:
    for text in ("Good morning Bertrand, thanks for the reply", "Mr and Mrs Hill arrive on Monday"):
        name = "Bertrand" if "Bertrand" in text else "Hill"
        at = text.index(name)
        recognized = Finding("PERSON", at, at + len(name), 0.6, "name_gazetteer")
        tagged = [("ORGANIZATION", at, at + len(name), 0.95)]
        assert [f.value(text) for f in merge_findings(text, [recognized], tagged)] == [name]
    plain = "Bertrand, thanks for the reply"  # no title or greeting: the sure organisation wins
    assert merge_findings(plain, [Finding("PERSON", 0, 8, 0.6, "name_gazetteer")], [("ORGANIZATION", 0, 8, 0.95)]) == []


def test_a_name_before_a_company_suffix_is_part_of_a_company() -> None:
    text = "Kind regards,\nOmotoun Ilori\nJones PLC\nsent for Hoffmann GmbH by Anna Berg"
    tagged = [("PERSON", text.index(n), text.index(n) + len(n), 0.9) for n in ("Omotoun Ilori", "Jones", "Anna Berg")]
    recognized = [Finding("PERSON", text.index("Hoffmann"), text.index("Hoffmann") + 8, 0.7, "name_gazetteer")]
    out = sorted(merge_findings(text, recognized, tagged), key=lambda f: f.start)
    assert [f.value(text) for f in out] == ["Omotoun Ilori", "Anna Berg"]


def test_a_company_suffix_or_place_word_inside_a_tagger_name_makes_it_a_company_or_a_place() -> None:
    assert _kept("Bank: Cossy SA\nIBAN follows", "Cossy SA", 0.9) == []
    assert _kept("Bank: Dijoux S.A.\nIBAN follows", "Dijoux S", 0.9) == []  # the tagger stopped inside the suffix
    assert _kept("The flight from Emilie Ville to Lyon", "Emilie Ville", 0.9) == []
    assert _kept("The flight from Lake Jessica to Lyon", "Lake Jessica", 0.9) == []
    # the words after a suffix are judged on their own; a surname that is a place word stays a name
    assert _kept("Cossy SA Anna Berg signed it", "Cossy SA Anna Berg", 0.9) == ["Anna Berg"]
    assert _kept("Thanks, Anna Hill", "Anna Hill", 0.9) == ["Anna Hill"]
    assert _kept("Thanks, Anna Lake", "Anna Lake", 0.9) == ["Anna Lake"]  # a place head inside a name is no head


def test_a_recognizer_name_or_a_name_s_other_mention_inside_a_place_or_company_is_dropped() -> None:
    text = "The flight from Kurt Ville was late. Kurt Ville, not Kurt Weber!"
    at = text.index("Kurt Ville")
    recognized = [Finding("PERSON", at, at + 10, 0.7, "name_gazetteer")]
    assert merge_findings(text, recognized, []) == []
    engine = PiiEngine(mode="accurate")
    text = "Regards, Jonas Weber. Weber GmbH pays; Weber will call."
    names = sorted((f.start, f.value(text)) for f in engine.analyze(text) if f.entity_type == "PERSON")
    # the company's Weber is not carried over from the name; the later mention is
    assert names == [(text.index("Jonas"), "Jonas Weber"), (text.index("Weber will"), "Weber")]


def test_a_tagger_name_that_is_a_listed_place_and_no_listed_name_is_dropped() -> None:
    assert "utsjoki" in listed_places() and "jordan" not in listed_places()  # Jordan is also a first name
    assert _kept("Wedding of Anna and Piet in February, Utsjoki", "Utsjoki", 0.95) == []
    assert _kept("Greetings from Jordan Smith", "Jordan Smith", 0.95) == ["Jordan Smith"]


def test_a_lower_case_initial_is_a_name_word_not_a_common_word() -> None:
    for name in ("j. ahola", "keith c. freeman"):
        assert _kept(f"signed, {name}, on monday", name, 0.6) == [name]
    # a letter with a dot before a common word is no name
    assert _kept("plan b. then lunch", "plan b. then lunch", 0.99) == []


def test_a_form_label_or_good_morning_is_a_cue_for_a_lower_case_name() -> None:
    assert _kept("Surname: ahola\nCountry: Finland", "ahola", 0.6) == ["ahola"]
    assert _kept("good morning lara, thanks for the reply", "lara", 0.6) == ["lara"]
    assert _kept("the username ahola is taken", "ahola", 0.99) == []  # no label: a lone lower-case word needs a cue


def test_a_lower_case_first_name_joined_by_or_to_a_listed_name_is_a_name() -> None:
    assert _kept("was it lara or constance who called?", "lara", 0.6) == ["lara"]
    assert _kept("was it lara who called?", "lara", 0.6) == []  # alone, without a cue: not enough


def test_lower_case_names_with_particles_elisions_and_initials_are_names() -> None:
    for name in ("constance van der boateng", "robert o'donnell", "a. lynch"):
        assert _kept(f"the new guest is {name}, room 12", name, 0.6) == [name]
    # the article with a dot next to common words stays a blocker
    assert _kept("i paid a. then left", "a. then left", 0.99) == []
