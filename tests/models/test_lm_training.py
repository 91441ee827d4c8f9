"""train_lm: documents of a version -> language model registered with lineage, report, canary
check; the CLI's generate and evaluate on it; bad input leaves the workspace as it was."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from datamoat.errors import DatamoatError

WORDS = "the cat sat on a mat and the dog ran to the park while small birds sang".split()
TINY = {"layers": 2, "heads": 2, "width": 32, "context": 32, "batch_size": 16, "max_steps": 30, "eval_every": 15}


def _corpus_csv(path: Path, n: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    rows = ["text"] + [" ".join(rng.choice(WORDS, 10)) for _ in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_train_lm_registers_the_model_with_its_report_and_canary_check(tmp_path: Path, cli) -> None:
    from datamoat.models.lm_training import train_lm
    from datamoat.models.training import models_registry
    from datamoat.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws")
    ws.ingest(_corpus_csv(tmp_path / "c.csv", 40), name="corpus", text="text")
    ws.ingest(_corpus_csv(tmp_path / "t.csv", 5, seed=1), name="heldout", text="text")
    result = train_lm(ws, "corpus", test="heldout", params=TINY, canaries=2, budget="10m", samples=1, canary_candidates=50,
                      pii_redaction=False)
    record = result.record
    assert (record.name, record.kind, record.info["task"]) == ("corpus", "causal-lm", "lm")
    assert record.info["test_ref"].startswith("heldout@") and record.aliases == ["champion"]
    assert record.metrics["documents"] == 5 and 0 < record.metrics["bits_per_char"] < 5
    summary = result.canaries["summary"]
    assert (summary["canaries"], summary["controls"], summary["pii_redaction"]) == (2, 2, "off")
    assert result.report.is_file() and "Memorisation check" in result.report.read_text(encoding="utf-8")
    figures = json.loads(result.report.with_suffix(".json").read_text(encoding="utf-8"))
    assert figures["evaluation"]["bits_per_char"] == pytest.approx(record.metrics["bits_per_char"])
    loaded = models_registry(ws).load(record.ref)
    assert loaded.generate("the cat", max_new_tokens=8, temperature=0) == result.trainer.generate(
        "the cat", max_new_tokens=8, temperature=0)
    ws.close()

    code, out, _ = cli("generate", "corpus", "the dog", "--max-tokens", "8", "--temperature", "0", "--json")
    assert code == 0 and json.loads(out)["continuation"] == loaded.generate("the dog", max_new_tokens=8, temperature=0)
    code, out, _ = cli("evaluate", "corpus", "--data", "heldout", "--json")
    assert code == 0
    assert json.loads(out)["evaluation"]["bits_per_char"] == pytest.approx(record.metrics["bits_per_char"], rel=1e-6)

    from transformers import AutoModelForCausalLM

    code, _, _ = cli("export-model", "corpus", str(tmp_path / "export"))
    card = (tmp_path / "export" / "README.md").read_text(encoding="utf-8")
    assert code == 0 and "| bits per character | " in card and "PII redaction of the training text: **off**" in card
    assert type(AutoModelForCausalLM.from_pretrained(tmp_path / "export")).__name__ == "GPT2LMHeadModel"


def test_train_lm_without_text_or_with_a_non_causal_checkpoint_registers_nothing(tmp_path: Path) -> None:
    from transformers import BertConfig, BertModel

    from datamoat.models.lm_training import train_lm
    from datamoat.models.training import models_registry
    from datamoat.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws")
    (tmp_path / "empty.csv").write_text("text,other\n,1\n  ,2\n", encoding="utf-8")
    ws.ingest(tmp_path / "empty.csv", name="empty", text="text")
    ws.ingest(_corpus_csv(tmp_path / "c.csv", 12), name="corpus", text="text")
    with pytest.raises(DatamoatError, match="empty in all 2 rows"):
        train_lm(ws, "empty", params=TINY)
    bert = tmp_path / "bert"
    BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32)).save_pretrained(bert)
    with pytest.raises(DatamoatError, match="not a causal language model"):
        train_lm(ws, "corpus", kind="causal-lm-finetune", params={"checkpoint": str(bert)})
    assert models_registry(ws).list() == []
    assert not list((ws.state / "reports").glob("*")) if (ws.state / "reports").exists() else True
    ws.close()


def test_hold_out_is_by_document_or_by_contiguous_block() -> None:
    from datamoat.models.lm_training import hold_out

    docs = [f"doc {i}" for i in range(20)]
    kept, held, how = hold_out(docs, 0.1, seed=0)
    assert len(held) == 2 and sorted(kept + held) == sorted(docs) and "2 of 20 documents" in how
    long = "".join(f"line {i}\n" for i in range(100))
    kept, held, how = hold_out([long], 0.1, seed=0)
    assert kept[0] + held[0] == long and held[0].startswith("line 90\n") and "contiguous block" in how


def test_validation_and_test_text_come_from_their_splits_and_are_never_trained_on(workspace, tmp_path: Path) -> None:
    from conftest import write_file
    from corpusgen import long_text

    from datamoat.flywheel.lm_corpus import prepare_corpus
    from datamoat.models.lm_training import lm_documents

    book = long_text(seed=5, paragraphs=80)
    path = write_file(tmp_path, "book.txt", book)
    r = prepare_corpus(workspace, path, name="book", block_chars=600, pii=False, profile_checks=["text_quality"])
    texts = lm_documents(workspace, r.versions["train"], valid=r.versions["valid"], test=r.versions["test"])
    assert len(texts.fit) == len(texts.valid) == len(texts.test) == 1  # neighbouring blocks joined back
    assert texts.valid_version.ref == r.versions["valid"] and texts.test_version.ref == r.versions["test"]
    trained = set(texts.fit[0].splitlines())
    for side in (texts.valid, texts.test):
        lines = [line for line in side[0].splitlines() if line]
        assert lines and not trained.intersection(lines)
    # the held-out text is the end of the book, in order: validation, then test
    assert book.index(texts.fit[0][-200:]) < book.index(texts.valid[0][:200]) < book.index(texts.test[0][:200])

    # without a validation version, it is the tail of the training text, not blocks picked from inside it
    alone = lm_documents(workspace, r.versions["train"], test=r.versions["test"])
    assert alone.fit[0] + alone.valid[0] == texts.fit[0] and "contiguous block" in alone.valid_how
