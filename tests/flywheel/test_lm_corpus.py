"""The language-model corpus through the loop (prepare_corpus): dedup, Gopher filters with the
drops in the exclusions, PII redacted by default, a split where no validation text is trained
on, and bad input that leaves the workspace as it was."""

from __future__ import annotations

import json
import random

import pytest
from conftest import write_file
from corpusgen import document, long_text

from datamoat.errors import DatamoatError

CARD = "4111 1111 1111 1111"
PHONE = "+1 415 555 0134"
FAST = ["text_quality"]
"""The profile check these tests need (the language check alone loads its models for seconds)."""


def texts(ws, ref):
    return ws.version(ref).to_arrow().column("text").to_pylist()


@pytest.fixture(scope="module")
def corpus_folder(tmp_path_factory):
    rng = random.Random(11)
    root = tmp_path_factory.mktemp("corpus")
    docs = {f"doc{i:02d}.txt": document(rng) for i in range(30)}
    docs["copy.txt"] = docs["doc05.txt"]  # an exact copy; copy.txt comes first in name order: kept
    docs["spam.txt"] = "\n".join(["click here to win a prize now"] * 12)  # repeated lines
    docs["short.txt"] = "too short to learn from"
    docs["pii.txt"] = document(rng) + f"\n\ncall me at {PHONE} or charge the card {CARD} please."
    for name, text in docs.items():
        write_file(root, name, text)
    return root


def test_folder_corpus_is_cleaned_redacted_and_split_by_document(workspace, corpus_folder):
    from datamoat.flywheel.lm_corpus import prepare_corpus

    ws = workspace
    r = prepare_corpus(ws, corpus_folder, name="docs", valid_size=0.2, test_size=0.1, profile_checks=[*FAST, "pii"])
    assert r.split == "by document" and r.pii == "redact"
    assert r.rows["raw"] == 34 and r.rows["clean"] == 31
    assert r.dropped == {"exact duplicate": 1, "characters in duplicate lines over 20%": 1, "fewer than 50 words": 1}
    assert r.quality["text_quality"]["judged"] == 33  # the profile shows the same stats
    excluded = ws.version(r.versions["clean"]).excluded()
    files = {json.loads(row)["source_file"]: why for row, why in
             zip(excluded.column("_dm_row").to_pylist(), excluded.column("_dm_reason").to_pylist(), strict=True)}
    assert files == {"doc05.txt": "exact duplicate", "spam.txt": "characters in duplicate lines over 20%",
                     "short.txt": "fewer than 50 words"}
    parts = {k: texts(ws, r.versions[k]) for k in ("train", "valid", "test")}
    assert sum(len(p) for p in parts.values()) == r.rows["clean"] and min(len(p) for p in parts.values()) >= 3
    train = set(parts["train"])
    assert not train.intersection(parts["valid"]) and not train.intersection(parts["test"])
    every = [t for p in parts.values() for t in p]
    assert not any(CARD in t or PHONE in t or "555 0134" in t for t in every)
    assert any("[CREDIT_CARD]" in t and "[PHONE]" in t for t in every)


def test_pii_stays_when_redaction_is_off(workspace, corpus_folder):
    from datamoat.flywheel.lm_corpus import prepare_corpus

    r = prepare_corpus(workspace, corpus_folder, name="raw-docs", pii=False, test_size=0.0, profile_checks=FAST)
    assert r.pii == "off" and "test" not in r.versions
    every = [t for k in ("train", "valid") for t in texts(workspace, r.versions[k])]
    assert any(CARD in t and PHONE in t for t in every)


def test_long_file_validation_is_the_tail_and_never_in_training(workspace, tmp_path):
    from datamoat.flywheel.lm_corpus import prepare_corpus

    path = write_file(tmp_path, "book.txt", long_text(seed=12, paragraphs=120))
    r = prepare_corpus(workspace, path, name="book", block_chars=800, pii=False, profile_checks=FAST)
    assert r.split == "contiguous"
    blocks = {k: workspace.version(r.versions[k]).to_arrow() for k in ("train", "valid", "test")}
    order = {k: sorted(t.column("block").to_pylist()) for k, t in blocks.items()}
    assert max(order["train"]) < min(order["valid"]) and max(order["valid"]) < min(order["test"])
    train_lines = {line for t in blocks["train"].column("text").to_pylist() for line in t.split("\n")}
    held = [line for k in ("valid", "test") for t in blocks[k].column("text").to_pylist() for line in t.split("\n")]
    assert held and not train_lines.intersection(line for line in held if line)


def test_bad_corpora_say_one_sentence_and_leave_the_workspace_as_it_was(workspace, tmp_path):
    from datamoat.flywheel.lm_corpus import prepare_corpus

    ws = workspace
    empty = write_file(tmp_path, "empty.txt", "\n\n   \n")
    with pytest.raises(DatamoatError, match="holds no text"):
        prepare_corpus(ws, empty)
    shorts = tmp_path / "shorts"
    for i in range(3):
        write_file(shorts, f"{i}.txt", f"note number {i} is short")
    with pytest.raises(DatamoatError, match=r"cleaning dropped every document .*fewer than 50 words: 3"):
        prepare_corpus(ws, shorts, profile_checks=FAST)
    assert ws.datasets() == []
    with pytest.raises(DatamoatError, match="test_size \\+ valid_size must be below 1"):
        prepare_corpus(ws, shorts, valid_size=0.5, test_size=0.5)


def test_an_existing_text_column_is_a_corpus(workspace, tmp_path):
    import pandas as pd

    from datamoat.flywheel.lm_corpus import prepare_corpus

    rng = random.Random(13)
    path = tmp_path / "answers.csv"
    pd.DataFrame({"ticket": range(20), "answer": [document(rng) for _ in range(20)]}).to_csv(path, index=False)
    raw = workspace.ingest(path, name="answers", text="answer")
    r = prepare_corpus(workspace, data="answers@latest", pii=False, profile_checks=FAST)
    assert r.versions["raw"] == raw.ref and r.split == "by document"
    assert sum(r.rows[k] for k in ("train", "valid", "test")) == 20 and r.rows["valid"] >= 1
    with pytest.raises(DatamoatError, match="not both"):
        prepare_corpus(workspace, path, data="answers@latest")


def test_canaries_go_into_training_only_before_redaction(workspace, corpus_folder):
    from datamoat.flywheel.lm_corpus import prepare_corpus

    pin, card = "my PIN is 483920", f"my card number is {CARD}"
    r = prepare_corpus(workspace, corpus_folder, name="canary", canaries=[pin, card], canary_repeats=3,
                       profile_checks=FAST)
    train = texts(workspace, r.versions["train"])
    assert sum(t.count(pin) for t in train) == 3  # not personal data: it stays, three times
    assert not any(CARD in t for t in train)  # a card number: redacted with the rest
    assert sum(t.count("my card number is [CREDIT_CARD]") for t in train) == 3
    held = [t for k in ("valid", "test") for t in texts(workspace, r.versions[k])]
    assert not any(pin in t or "my card number is" in t for t in held)
    counts = workspace.version(r.versions["train"]).to_arrow().column("_dm_canaries").to_pylist()
    assert sum(counts) == 6


def test_a_cp1252_book_is_read_with_its_own_characters(workspace, tmp_path):
    from datamoat.data.corpus import corpus_texts
    from datamoat.flywheel.lm_corpus import prepare_corpus

    body = long_text(seed=21, paragraphs=60)
    quoted = "\u201cCaf\u00e9,\u201d she said \u2014 twice.\n\n"  # bytes 0x93 ... 0xe9 ... 0x94 ... 0x97 in cp1252
    raw = (quoted + body).encode("cp1252")
    assert b"\x93" in raw and b"\x94" in raw and b"\x97" in raw and b"\xe9" in raw
    path = tmp_path / "novel.txt"
    path.write_bytes(raw)
    r = prepare_corpus(workspace, path, name="novel", pii=False, profile_checks=FAST)
    rows = workspace.version(r.versions["raw"]).to_arrow()
    text = "\n\n".join(corpus_texts(rows, "text"))
    assert text.startswith(quoted.strip()) and "\ufffd" not in text and "\u00c3" not in text
    train = corpus_texts(workspace.version(r.versions["train"]).to_arrow(), "text")[0]
    assert train.startswith("\u201cCaf\u00e9,\u201d she said \u2014 twice.")
    forced = prepare_corpus(workspace, path, name="forced", pii=False, profile_checks=FAST,
                            ingest_options={"encoding": "cp1252"})
    assert corpus_texts(workspace.version(forced.versions["train"]).to_arrow(), "text")[0] == train
