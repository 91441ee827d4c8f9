"""Tests of PII detection, the operators, the vault, the pii_redact step and the pii check."""

from __future__ import annotations

import csv
import json
import pickle
import secrets
from collections import Counter
from pathlib import Path

import pytest
from conftest import batch, run_local
from conftest import table as text_table

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError, StepError
from datamoat.pipeline import Recipe, create_step
from datamoat.privacy.pii import Anonymizer, Finding, PiiEngine, anonymize, resolve_overlaps
from datamoat.privacy.pii.check import PiiCheck
from datamoat.privacy.pii.vault import PiiVault

ENGINE = PiiEngine()
FAST = PiiEngine(mode="fast")
ROLES = ColumnRoles.from_dict({"text": "text"})


def found(text: str, engine: PiiEngine = ENGINE) -> list[tuple[str, str]]:
    return [(f.entity_type, f.value(text)) for f in engine.analyze(text)]


def types(text: str) -> set[str]:
    return {t for t, _ in found(text)}


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    raw = secrets.token_bytes(32)
    monkeypatch.setenv("DATAMOAT_KEY", raw.hex())
    monkeypatch.delenv("DATAMOAT_KEY_FILE", raising=False)
    return raw


@pytest.fixture
def catalog(tmp_path: Path):
    from datamoat.catalog import Catalog

    cat = Catalog(f"sqlite:///{tmp_path}/c.db", tmp_path / "lock")
    yield cat
    cat.close()


# --- recognizers: positives --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "etype", "value"),
    [
        ("Write to jane.doe+shop@example.co.uk today.", "EMAIL", "jane.doe+shop@example.co.uk"),
        ("Call me on +44 20 7946 0018 please.", "PHONE", "+44 20 7946 0018"),
        ("My number is (415) 555-2671.", "PHONE", "(415) 555-2671"),
        ("Tel: 06 12 34 56 78", "PHONE", "06 12 34 56 78"),
        ("Mobil +49 151 23456789 bitte", "PHONE", "+49 151 23456789"),
        ("The card number is 4111 1111 1111 1111.", "CREDIT_CARD", "4111 1111 1111 1111"),
        ("charged to 378282246310005 yesterday", "CREDIT_CARD", "378282246310005"),
        ("IBAN: DE89 3704 0044 0532 0130 00, thanks", "IBAN", "DE89 3704 0044 0532 0130 00"),
        ("pay GB82WEST12345698765432 now", "IBAN", "GB82WEST12345698765432"),
        ("login from 203.0.113.42 at night", "IP_ADDRESS", "203.0.113.42"),
        ("v6 address 2001:db8::8a2e:370:7334 seen", "IP_ADDRESS", "2001:db8::8a2e:370:7334"),
        ("see https://example.com/a?b=1 for details", "URL", "https://example.com/a?b=1"),
        ("My SSN is 536-22-1234.", "US_SSN", "536-22-1234"),
        ("the sample SSN 078-05-1120 is a real number", "US_SSN", "078-05-1120"),  # published, still issued
        ("ssn 219-09-9999 from the ad", "US_SSN", "219-09-9999"),
        ("I was born on 14/07/1985 in Lyon.", "DATE_OF_BIRTH", "14/07/1985"),
        ("DOB: March 3, 1990", "DATE_OF_BIRTH", "March 3, 1990"),
        ("Please ship it to 221B Baker Street, London.", "STREET_ADDRESS", "221B Baker Street"),
        ("Neue Adresse: Hauptstraße 12, 10115 Berlin", "STREET_ADDRESS", "Hauptstraße 12, 10115 Berlin"),
        ("Envoyez à 12, rue de la Paix, 75002 Paris", "STREET_ADDRESS", "12, rue de la Paix, 75002 Paris"),
        ("Vivo en Calle Mayor 5, 28013 Madrid", "STREET_ADDRESS", "Calle Mayor 5, 28013 Madrid"),
        ("My name is Jonathan Whitaker and I need help", "PERSON", "Jonathan Whitaker"),
        ("Thanks,\nMaría José García", "PERSON", "María José García"),
        ("Please contact Dr. Okonkwo about it", "PERSON", "Okonkwo"),
        ("Kovács Éva sent the form", "PERSON", "Kovács Éva"),
        ("The parcel was addressed to Philip van de Ven.", "PERSON", "Philip van de Ven"),
    ],
)
def test_recognizes(text: str, etype: str, value: str) -> None:
    """The recognizers (mode fast) find exactly ``value``; mode accurate finds a span of the same
    type that holds it (the tagger may take in more of an address, e.g. its city)."""
    fast = [(f.entity_type, f.value(text)) for f in FAST.analyze(text)]
    assert (etype, value) in fast, fast
    accurate = [(f.entity_type, f.value(text)) for f in ENGINE.analyze(text)]
    assert any(t == etype and value in v for t, v in accurate), accurate


# --- hard negatives ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "My order number is #59855606, please check.",
        "Order 12345678 has not arrived.",
        "The card ending in 1234 was declined.",
        "Invoice 4111 1111 1111 1112 is wrong.",  # Luhn-invalid 16 digits
        "Transfer to DE89 3704 0044 0532 0130 01 failed",  # IBAN with a bad checksum
        "The delivery was due on 12/03/2024 but came late.",  # a date, not a date of birth
        "Version 1.2.3.4 fixed it.",
        "Can you help? Will the parcel come on Monday?",
        "Please Send The Package Soon.",
        "I tried on both Chrome and Safari.",
        "The SSN field shows 000-12-3456 which is invalid.",
        "We met at 10:30:15 yesterday.",
    ],
)
def test_hard_negatives(text: str) -> None:
    bad = {"CREDIT_CARD", "PHONE", "IBAN", "DATE_OF_BIRTH", "IP_ADDRESS", "PERSON", "US_SSN"}
    assert not (types(text) & bad), found(text)


def test_offsets_are_python_str_offsets_with_diacritics() -> None:
    text = "Ünïcödé first — then mail zoë.ångström@exämple.de ok"
    fs = ENGINE.analyze(text)
    email = [f for f in fs if f.entity_type == "EMAIL"][0]
    assert text[email.start : email.end] == "zoë.ångström@exämple.de"


def test_entities_filter_and_unknown_type() -> None:
    text = "Mail a@b.com or call +44 20 7946 0018"
    assert types(text) >= {"EMAIL", "PHONE"}
    assert {f.entity_type for f in PiiEngine(["EMAIL"]).analyze(text)} == {"EMAIL"}
    with pytest.raises(DatamoatError, match="unknown PII entity type"):
        PiiEngine(["SHOE_SIZE"])


def test_overlaps_prefer_longer_and_higher_score() -> None:
    a = Finding("PERSON", 3, 8, 0.7, "x")
    b = Finding("STREET_ADDRESS", 0, 20, 0.6, "y")
    c = Finding("PHONE", 18, 30, 0.9, "z")
    out = resolve_overlaps([a, b, c])
    assert out == [c] or out == [b] or c in out
    assert a not in out  # inside the longer address
    text = "Ship it to 12 John Street, please."
    assert ("STREET_ADDRESS", "12 John Street") in found(text)
    assert all(t != "PERSON" for t, _ in found(text))
    assert ENGINE.analyze_batch([None, "", text]) == [[], [], ENGINE.analyze(text)]


# --- operators ---------------------------------------------------------------------------------

TEXT = "Hi, I'm Jonathan Whitaker, card 4111 1111 1111 1111, phone +44 20 7946 0018, mail jw@example.com."


def test_redact_and_mask() -> None:
    fs = ENGINE.analyze(TEXT)
    red = anonymize(TEXT, fs, "redact")
    assert "[PERSON]" in red and "[CREDIT_CARD]" in red and "[PHONE]" in red and "[EMAIL]" in red
    assert "Whitaker" not in red and "4111" not in red
    masked = anonymize(TEXT, fs, "mask")
    assert "**** **** **** 1111" in masked
    assert "+** ** **** 0018" in masked
    assert "jw@example.com" not in masked and "**************" in masked


def test_hash_and_pseudonyms_are_keyed_and_consistent() -> None:
    k1, k2 = secrets.token_bytes(32), secrets.token_bytes(32)
    a = Anonymizer("pseudonymize", k1)
    t1 = a.token("PERSON", "Jonathan  Whitaker")
    assert t1 == a.token("PERSON", "jonathan whitaker")  # normalised value
    assert t1 != a.token("EMAIL", "jonathan whitaker")  # type is part of the token
    assert t1 != Anonymizer("pseudonymize", k2).token("PERSON", "Jonathan Whitaker")  # keyed
    assert a.token("PHONE", "+44 20 7946 0018") == a.token("PHONE", "+442079460018")
    texts = ["Thanks, Jonathan Whitaker", "My name is Jonathan Whitaker."]
    outs = [a.apply(t, ENGINE.analyze(t)) for t in texts]
    assert t1 in outs[0] and t1 in outs[1]
    h = anonymize("mail jw@example.com", ENGINE.analyze("mail jw@example.com"), "hash", k1)
    assert h.startswith("mail [EMAIL:") and "jw@" not in h
    with pytest.raises(DatamoatError, match="needs an encryption key"):
        Anonymizer("hash")
    with pytest.raises(DatamoatError, match="unknown PII operator"):
        Anonymizer("shred")


# --- vault -------------------------------------------------------------------------------------


def test_vault_round_trip_is_audited_and_wrong_key_fails(key: bytes, catalog) -> None:
    from datamoat.catalog.audit import list_events, verify_chain

    vault = PiiVault(catalog, key, namespace="tickets")
    anon = Anonymizer("reversible", key, vault)
    text = "My name is Jonathan Whitaker, mail jw@example.com"
    out = anon.apply(text, ENGINE.analyze(text))
    assert vault.flush() == 2
    assert len(vault) == 2
    token = anon.token("PERSON", "Jonathan Whitaker")
    assert token in out
    assert vault.reveal(token, reason="customer asked") == "Jonathan Whitaker"
    events = list_events(catalog)
    assert events[0]["action"] == "reidentify" and events[0]["details"]["token"] == token
    assert "Jonathan" not in json.dumps(events)
    assert verify_chain(catalog).ok
    # storing again is a no-op
    anon.apply(text, ENGINE.analyze(text))
    assert vault.flush() == 0
    wrong = PiiVault(catalog, secrets.token_bytes(32), namespace="tickets")
    with pytest.raises(DatamoatError, match="key is not the one"):
        wrong.reveal(token)
    with pytest.raises(DatamoatError, match="no token"):
        vault.reveal("<PERSON_000000000000>")


# --- pipeline step -----------------------------------------------------------------------------


def test_step_redacts_through_local_executor() -> None:
    texts = ["Mail me at jw@example.com", None, "nothing here", "Call +44 20 7946 0018 or +44 20 7946 0018"]
    recipe = Recipe([create_step("pii_redact", {"mode": "redact"})])
    out = run_local(recipe, [batch(texts, label_column=False)], ROLES)[0]
    assert out.column(ROW_ID_COLUMN).to_pylist() == ["r0", "r1", "r2", "r3"]
    assert out.column("text").to_pylist() == ["Mail me at [EMAIL]", None, "nothing here", "Call [PHONE] or [PHONE]"]


def test_step_pseudonymize_and_pickle_keeps_no_key(key: bytes) -> None:
    step = create_step("pii_redact", {"mode": "pseudonymize", "entities": ["EMAIL"]})
    step.bind(ROLES, batch(["x"], label_column=False).schema)
    out = step.apply(batch(["a jw@example.com", "b JW@example.com", "none"], label_column=False))
    texts = out.column("text").to_pylist()
    assert texts[0][2:] == texts[1][2:] and texts[0].startswith("a <EMAIL_")
    assert out.column("_dm_pii_count").to_pylist() == [1, 1, 0]
    blob = pickle.dumps(step)
    assert key not in blob and key.hex().encode() not in blob
    clone = pickle.loads(blob)
    assert clone.apply(batch(["a jw@example.com"], label_column=False)).column("text").to_pylist()[0] == texts[0]


def test_step_reversible_writes_vault(key: bytes, catalog) -> None:
    step = create_step("pii_redact", {"mode": "reversible", "catalog_url": catalog.url, "namespace": "ds"})
    out = run_local(Recipe([step]), [batch(["My name is Jonathan Whitaker"], label_column=False)], ROLES)[0]
    text = out.column("text").to_pylist()[0]
    token = text.split("is ", 1)[1]
    assert PiiVault(catalog, key, "ds").reveal(token) == "Jonathan Whitaker"


def test_step_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(StepError, match="mode"):
        create_step("pii_redact", {"mode": "shred"})
    with pytest.raises(StepError, match="catalog_url"):
        create_step("pii_redact", {"mode": "reversible"})
    monkeypatch.delenv("DATAMOAT_KEY", raising=False)
    monkeypatch.setenv("DATAMOAT_KEY_FILE", "/nonexistent/key")
    step = create_step("pii_redact", {"mode": "hash"})
    with pytest.raises(StepError, match="no encryption key"):
        step.bind(ROLES, batch(["x"], label_column=False).schema)


# --- quality check -----------------------------------------------------------------------------


def test_pii_check() -> None:
    table = text_table(["mail jw@example.com and call +44 20 7946 0018", "clean text", None], label_column=False)
    result = PiiCheck().run(table, ROLES)
    assert result.issues.column("is_issue").to_pylist() == [True, False, False]
    assert result.issues.column("pii_count").to_pylist() == [2, 0, 0]
    assert result.issues.column("pii_types").to_pylist()[0] == ["EMAIL", "PHONE"]
    assert result.summary["by_type"]["EMAIL"]["rows"] == 1
    example = result.summary["examples"][0]["example"]
    assert "jw@example.com" not in example and "0018" in example


# --- demo data recall --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["accurate", "fast"])
def test_demo_recall_per_type(tmp_path: Path, mode: str) -> None:
    from datamoat.demo.generate import generate_demo_data

    paths = generate_demo_data(tmp_path / "demo", n_tickets=600, seed=5)
    truth = json.loads(Path(paths["truth"]).read_text())
    with open(paths["tickets"], encoding="utf-8", newline="") as fh:
        texts = {r["ticket_id"]: r["text"] for r in csv.DictReader(fh)}
    engine = ENGINE if mode == "accurate" else PiiEngine(mode="fast")
    results = dict(zip(texts, engine.analyze_batch(list(texts.values())), strict=True))
    hit, total = Counter(), Counter()
    for span in truth["pii"]:
        total[span["type"]] += 1
        hit[span["type"]] += any(
            f.entity_type == span["type"] and 2 * (min(f.end, span["end"]) - max(f.start, span["start"])) >= span["end"] - span["start"]
            for f in results[span["ticket_id"]]
        )
    recall = {t: hit[t] / total[t] for t in total}
    assert len(recall) == 8
    assert all(r >= 0.95 for r in recall.values()), recall


# --- speed helpers: same answers as the plain forms ----------------------------------------------


def test_tail_pattern_matches_forward_search() -> None:
    import random
    import re

    from datamoat.privacy.pii.recognizers import dates, names
    from datamoat.privacy.pii.recognizers._regex import TailPattern

    rng = random.Random(3)
    alphabet = list("abcdemnoy isth,:.!-\n\t'’éİıſK") + ["my name is ", "Dear ", "thanks,\n", "born on ", "attn.: ", "- "]
    windows = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    windows += ["Hi ", "hello,\n", "thank you!\n - ", "my  name is ", "I'M", "İ am ", "ſigned ", "date of birth: 12 Jan ", ""]
    for pattern in (names._STRONG_CONTEXT, names._GREETING_CONTEXT, names.NAME_CONTEXT_BEFORE, dates._DOB_CTX_BEFORE):
        tail = TailPattern(pattern)
        assert tail.foldable
        for w in windows:
            expected = pattern.search(w) is not None
            assert tail.ends(w, 0, len(w)) is expected, (pattern.pattern[:30], w)
            low = w.lower()
            if "İ" not in w and "ı" not in w and "ſ" not in w:
                assert tail.match_reversed(low[::-1], folded=True) is expected, (pattern.pattern[:30], w)
    case_sensitive = TailPattern(re.compile("Abc$"))
    assert not case_sensitive.foldable and case_sensitive.ends("xAbc", 0, 4)
    with pytest.raises(ValueError):
        case_sensitive.match_reversed("cba", folded=True)


def test_literal_alternation_and_expansion() -> None:
    import re

    from datamoat.privacy.pii.recognizers._regex import expand_literals, literal_alternation

    assert sorted(expand_literals(r"bd\.?|c/|av(?:da)?\.")) == sorted(["bd", "bd.", "c/", "av.", "avda."])
    words = ["gata", "gatan", "gasse", "hof", "ring", "r"]
    trie = re.compile(literal_alternation(words))
    for text in ["gat", "gatan", "xhofx", "str", "", "gasgata"]:
        assert (trie.search(text) is not None) == any(w in text for w in words)


def test_digit_helpers_and_folding() -> None:
    from datamoat.privacy.pii.finding import count_digits, folded, has_digit

    for text in ["abc", "a1b22", "x²", "١٢٣ and 4", ""]:
        assert has_digit(text) == any(c.isdigit() for c in text)
        assert count_digits(text) == sum(c.isdigit() for c in text)
    assert folded("Dear JOHN") == "dear john"
    assert folded("İstanbul") is None and folded("ſigned") is None


def test_capitalised_token_scan_matches_tokenizer() -> None:
    from datamoat.privacy.pii.recognizers.names import _CAP_TOKEN, TOKEN_RE, _is_cap

    text = "x-Ray a'-Bc Ab.Cd don't O'Brien McDONALD USA ǅemal Ｊｏｈｎ ödön Ödön J.R. Smith 2Xy __Zed Ab’Cd"
    expected = [m.span() for m in TOKEN_RE.finditer(text) if _is_cap(m.group())]
    assert [m.span() for m in _CAP_TOKEN.finditer(text) if _is_cap(m.group())] == expected
