"""The demo-data generator writes realistic tickets whose injected problems match truth.json."""

from __future__ import annotations

import csv
import html
import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from datamoat.demo import generate_demo_data

N = 3000
NEAR_MIN, NEAR_MAX = 0.70, 0.95


def _read_rows(path: Path) -> dict[str, dict[str, str]]:
    """tickets.csv read with the csv module, keyed by ticket_id."""
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["ticket_id"]: r for r in csv.DictReader(fh)}


def _shingles(text: str) -> set[tuple[str, ...]]:
    """Word 3-shingles of lower-cased \\w+ words (independent of the library's version)."""
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


def _jaccard(a: str, b: str) -> float:
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _iban_ok(iban: str) -> bool:
    s = iban.replace(" ", "")
    s = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97 == 1


def _undo_mojibake(text: str) -> str:
    """Reverse UTF-8-read-as-cp1252 damage (undefined cp1252 bytes pass through as Latin-1)."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1252")
        except UnicodeEncodeError:
            out.append(ord(ch))
    return out.decode("utf-8")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("demo")
    paths = generate_demo_data(out, n_tickets=N, seed=0)
    truth = json.loads(paths["truth"].read_text(encoding="utf-8"))
    return {"paths": paths, "truth": truth, "rows": _read_rows(paths["tickets"]), "dir": out}


def test_returns_the_three_files(demo: dict) -> None:
    paths = demo["paths"]
    assert set(paths) == {"tickets", "customers", "truth"}
    assert all(p.is_file() for p in paths.values())
    assert not [p for p in demo["dir"].iterdir() if p.name.endswith(".tmp")]
    with open(paths["tickets"], newline="", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == ["ticket_id", "customer_id", "created_at", "channel", "text", "intent"]
    assert demo["truth"]["n_rows"] == len(demo["rows"]) == N
    assert demo["truth"]["files"]["tickets"] == "tickets.csv"


def test_same_seed_same_bytes_different_seed_differs(tmp_path: Path) -> None:
    a = generate_demo_data(tmp_path / "a", n_tickets=300, seed=7)
    b = generate_demo_data(tmp_path / "b", n_tickets=300, seed=7)
    c = generate_demo_data(tmp_path / "c", n_tickets=300, seed=8)
    for key in ("tickets", "customers", "truth"):
        assert a[key].read_bytes() == b[key].read_bytes(), key
        assert a[key].read_bytes() != c[key].read_bytes(), key


def test_regenerating_into_the_same_folder_replaces_files(tmp_path: Path) -> None:
    first = generate_demo_data(tmp_path, n_tickets=200, seed=1)["tickets"].read_bytes()
    second = generate_demo_data(tmp_path, n_tickets=200, seed=2)["tickets"].read_bytes()
    assert first != second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.csv", "tickets.csv", "truth.json"]


def test_too_few_tickets_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_demo_data(tmp_path, n_tickets=10)


def test_ticket_ids_unique_and_every_truth_id_exists(demo: dict) -> None:
    truth, rows = demo["truth"], demo["rows"]
    assert len(rows) == N  # dict keyed by id: ids are unique
    assert all(re.fullmatch(r"T\d{6}", tid) for tid in rows)
    keys = {"ticket_id", "duplicate_of", "near_duplicate_of"}
    for section in ("exact_duplicates", "near_duplicates", "label_errors", "pii", "missing", "encoding", "non_english"):
        assert truth[section], section
        for entry in truth[section]:
            for key in keys & entry.keys():
                assert entry[key] in rows, (section, entry)


def test_pii_spans_match_text_with_csv_and_pandas(demo: dict) -> None:
    truth, rows = demo["truth"], demo["rows"]
    df = pd.read_csv(demo["paths"]["tickets"], dtype=str, keep_default_na=False)
    texts = dict(zip(df["ticket_id"], df["text"], strict=True))
    for span in truth["pii"]:
        assert 0 <= span["start"] < span["end"]
        assert rows[span["ticket_id"]]["text"][span["start"] : span["end"]] == span["value"], span
        assert texts[span["ticket_id"]][span["start"] : span["end"]] == span["value"], span


def test_pii_values_are_valid_and_varied(demo: dict) -> None:
    spans = demo["truth"]["pii"]
    types = Counter(s["type"] for s in spans)
    expected = {"PERSON", "EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "STREET_ADDRESS", "DATE_OF_BIRTH", "IP_ADDRESS"}
    assert set(types) == expected
    for s in spans:
        v = s["value"]
        assert "\n" not in v and v == v.strip()
        if s["type"] == "CREDIT_CARD":
            assert _luhn_ok(re.sub(r"\D", "", v)), v
        elif s["type"] == "IBAN":
            assert _iban_ok(v), v
        elif s["type"] == "EMAIL":
            assert re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", v), v
        elif s["type"] == "IP_ADDRESS":
            assert all(0 <= int(p) <= 255 for p in v.split(".")), v
    phones = [s["value"] for s in spans if s["type"] == "PHONE"]
    assert any(p.startswith("+44") for p in phones) and any(p.startswith("(") for p in phones)
    names = {s["value"] for s in spans if s["type"] == "PERSON"}
    assert len(names) > 0.6 * types["PERSON"]  # mostly distinct people (copies repeat some)


def test_exact_duplicates_repeat_their_original(demo: dict) -> None:
    truth, rows = demo["truth"], demo["rows"]
    for e in truth["exact_duplicates"]:
        copy, orig = rows[e["ticket_id"]], rows[e["duplicate_of"]]
        assert e["ticket_id"] > e["duplicate_of"]
        assert copy["text"] == orig["text"] and copy["text"]
        assert copy["customer_id"] == orig["customer_id"] and copy["intent"] == orig["intent"]
        if e["identical_metadata"]:
            assert copy["created_at"] == orig["created_at"] and copy["channel"] == orig["channel"]
    assert any(e["identical_metadata"] for e in truth["exact_duplicates"])


def test_near_duplicates_differ_but_are_similar(demo: dict) -> None:
    truth, rows = demo["truth"], demo["rows"]
    assert truth["notes"]["near_duplicate_similarity"]["min"] == NEAR_MIN
    for e in truth["near_duplicates"]:
        copy, orig = rows[e["ticket_id"]], rows[e["near_duplicate_of"]]
        assert copy["text"] != orig["text"]
        assert re.findall(r"\w+", copy["text"].lower()) != re.findall(r"\w+", orig["text"].lower())
        sim = _jaccard(copy["text"], orig["text"])
        assert NEAR_MIN <= sim <= NEAR_MAX, e
        assert abs(sim - e["jaccard"]) < 1e-3
        assert e["edit"]
        assert copy["customer_id"] == orig["customer_id"] and copy["intent"] == orig["intent"]


def test_label_errors_are_real_and_unambiguous(demo: dict) -> None:
    truth, rows = demo["truth"], demo["rows"]
    intents = set(truth["intents"])
    assert 8 <= len(intents) <= 15
    in_dup_groups = {e[k] for e in truth["exact_duplicates"] for k in ("ticket_id", "duplicate_of")}
    in_dup_groups |= {e[k] for e in truth["near_duplicates"] for k in ("ticket_id", "near_duplicate_of")}
    foreign = {e["ticket_id"] for e in truth["non_english"]}
    for e in truth["label_errors"]:
        assert e["given_label"] != e["true_label"]
        assert e["given_label"] in intents and e["true_label"] in intents
        assert rows[e["ticket_id"]]["intent"] == e["given_label"]
        assert e["ticket_id"] not in in_dup_groups and e["ticket_id"] not in foreign
    assert 0.5 < sum(e["plausible"] for e in truth["label_errors"]) / len(truth["label_errors"]) < 0.95
    assert {r["intent"] for r in rows.values()} - {""} <= intents


def test_missing_values_are_exactly_the_empty_cells(demo: dict) -> None:
    truth, rows = demo["truth"], demo["rows"]
    empty = {(tid, col) for tid, r in rows.items() for col, v in r.items() if v == ""}
    recorded = {(e["ticket_id"], e["column"]) for e in truth["missing"]}
    assert empty == recorded
    assert {c for _, c in recorded} == {"text", "intent", "customer_id", "created_at"}
    pii_ids = {s["ticket_id"] for s in truth["pii"]}
    assert not {tid for tid, _ in recorded} & pii_ids


def test_encoding_damage_is_as_recorded(demo: dict) -> None:
    truth, rows = demo["truth"], demo["rows"]
    pii_ids = {s["ticket_id"] for s in truth["pii"]}
    kinds = Counter(e["kind"] for e in truth["encoding"])
    assert set(kinds) == {"html_entity", "mojibake"}
    for e in truth["encoding"]:
        text = rows[e["ticket_id"]]["text"]
        assert e["ticket_id"] not in pii_ids and text != e["original"]
        if e["kind"] == "html_entity":
            assert re.search(r"&(amp|#39|quot);", text)
            assert html.unescape(text) == e["original"]
        else:
            assert re.search("[ÃÂâ]", text)
            assert _undo_mojibake(text) == e["original"]
    flagged = {e["ticket_id"] for e in truth["encoding"]}
    unflagged = [r["text"] for tid, r in rows.items() if tid not in flagged]
    assert not [t for t in unflagged if "&#39;" in t or "â€" in t]


def test_non_english_tickets(demo: dict) -> None:
    truth, rows = demo["truth"], demo["rows"]
    assert {e["language"] for e in truth["non_english"]} == {"de", "fr", "es"}
    english_words = {"the", "my", "and", "please", "is", "it", "order", "i", "you"}
    for e in truth["non_english"]:
        words = set(re.findall(r"\w+", rows[e["ticket_id"]]["text"].lower()))
        assert not words & english_words, e
        assert rows[e["ticket_id"]]["intent"] in truth["intents"]


def test_problem_shares_within_tolerance(demo: dict) -> None:
    truth = demo["truth"]
    kinds = Counter(e["kind"] for e in truth["encoding"])
    shares = {
        "exact_duplicates": (len(truth["exact_duplicates"]), 0.03, 0.005),
        "near_duplicates": (len(truth["near_duplicates"]), 0.04, 0.005),
        "label_errors": (len(truth["label_errors"]), 0.08, 0.01),
        "pii_tickets": (len({s["ticket_id"] for s in truth["pii"]}), 0.25, 0.03),
        "missing": (len(truth["missing"]), 0.02, 0.005),
        "html_entity": (kinds["html_entity"], 0.02, 0.005),
        "mojibake": (kinds["mojibake"], 0.015, 0.005),
        "non_english": (len(truth["non_english"]), 0.02, 0.005),
    }
    for name, (count, target, tol) in shares.items():
        assert abs(count / N - target) <= tol, (name, count / N)


def test_class_imbalance(demo: dict) -> None:
    truth, rows = demo["truth"], demo["rows"]
    counts = Counter(r["intent"] for r in rows.values() if r["intent"])
    assert dict(counts) == truth["class_counts"]
    assert truth["imbalance_ratio"] == pytest.approx(max(counts.values()) / min(counts.values()), abs=1e-3)
    assert truth["imbalance_ratio"] >= 5
    true_counts = truth["true_class_counts"]
    assert 7 <= max(true_counts.values()) / min(true_counts.values()) <= 11


def test_tickets_csv_is_realistic(demo: dict) -> None:
    rows = list(demo["rows"].values())
    texts = [r["text"] for r in rows]
    assert sum("\n" in t for t in texts) >= 30
    assert sum('"' in t for t in texts) >= 30 and sum("," in t for t in texts) >= N / 2
    assert {r["channel"] for r in rows} == {"email", "chat", "web", "phone"}
    stamps = sorted(r["created_at"] for r in rows if r["created_at"])
    assert stamps[0] >= "2024-01-01" and stamps[-1] <= "2024-07-05"
    assert len(set(texts)) > 0.9 * N  # only the injected duplicates repeat


def test_customers_need_generalisation_for_k_anonymity(demo: dict) -> None:
    truth, rows = demo["truth"], demo["rows"]
    assert truth["quasi_identifiers"] == ["age", "postcode", "gender"]
    assert truth["sensitive"] == ["credit_score_band"]
    cust = pd.read_csv(demo["paths"]["customers"], dtype=str, keep_default_na=False)
    assert list(cust.columns) == ["customer_id", "age", "postcode", "gender", "city", "plan", "credit_score_band"]
    assert cust["postcode"].str.fullmatch(r"\d{5}").all()
    assert cust["postcode"].str.startswith("0").mean() > 0.05
    sizes = cust.groupby(truth["quasi_identifiers"]).size()
    assert sizes.min() == 1 and (sizes == 1).mean() > 0.5
    assert {r["customer_id"] for r in rows.values() if r["customer_id"]} <= set(cust["customer_id"])


def _exact_norm(text: str) -> str:
    return " ".join(text.casefold().split())


@pytest.mark.parametrize("seed", [3, 11])
def test_truth_lists_every_duplicate(tmp_path: Path, seed: int) -> None:
    """No accidental duplicates: the truth's pairs are exactly those an independent check finds."""
    paths = generate_demo_data(tmp_path, n_tickets=800, seed=seed)
    truth = json.loads(paths["truth"].read_text(encoding="utf-8"))
    texts = {tid: r["text"] for tid, r in _read_rows(paths["tickets"]).items() if r["text"]}

    groups: dict[str, set[str]] = {}
    for tid, text in texts.items():
        groups.setdefault(_exact_norm(text), set()).add(tid)
    found_exact = {frozenset(g) for g in groups.values() if len(g) > 1}
    truth_groups: dict[str, set[str]] = {}
    for e in truth["exact_duplicates"]:
        truth_groups.setdefault(e["duplicate_of"], {e["duplicate_of"]}).add(e["ticket_id"])
    assert found_exact == {frozenset(g) for g in truth_groups.values()}

    # all pairs with word 3-shingle Jaccard >= 0.5, via an inverted index of shingles
    sets = {tid: _shingles(text) for tid, text in texts.items()}
    postings: dict[tuple[str, ...], list[str]] = {}
    for tid, s in sets.items():
        for sh in s:
            postings.setdefault(sh, []).append(tid)
    similar = set()
    for tid, s in sets.items():
        shared = Counter(other for sh in s for other in postings[sh] if other > tid)
        for other, common in shared.items():
            if common / (len(s) + len(sets[other]) - common) >= 0.5:
                similar.add((tid, other))
    expected = {tuple(sorted((e["ticket_id"], e["near_duplicate_of"]))) for e in truth["near_duplicates"]}
    expected |= {(a, b) for g in truth_groups.values() for a in g for b in g if a < b}
    assert similar == expected
    assert len(truth["near_duplicates"]) == 32 and len(truth["exact_duplicates"]) == 24
