"""run_lm end to end on a tiny model: validation reads NAME-valid and the figures NAME-test
(held-out text never trained on), the budget covers the whole call, bad input writes nothing."""

from __future__ import annotations

import time

import pytest
from conftest import write_file
from corpusgen import long_text

from datamoat.errors import DatamoatError

FAST = ["text_quality"]
TINY = {"layers": 1, "heads": 2, "width": 32, "context": 32, "batch_size": 8, "max_steps": 20, "eval_every": 10}


def test_run_lm_validates_on_the_valid_split_and_reports_on_the_test_split(workspace, tmp_path):
    from datamoat.flywheel.lm_run import run_lm
    from datamoat.models.evaluation.lm_canaries import MIN_CANDIDATES, affordable_candidates, make_canaries

    path = write_file(tmp_path, "book.txt", long_text(seed=3, paragraphs=150))
    started = time.monotonic()
    r = run_lm(workspace, path, name="book", params=TINY, budget="90s", canaries=2, canary_candidates=40, pii="keep",
               profile_checks=FAST)
    took = time.monotonic() - started
    info = r.train.record.info
    assert info["valid_ref"] == r.corpus.versions["valid"] and info["test_ref"] == r.corpus.versions["test"]
    assert r.corpus.rows["valid"] >= 1 and r.train.evaluation["documents"] == 1  # the test tail, one text
    valid_text = "\n\n".join(workspace.version(r.corpus.versions["valid"]).to_arrow().column("text").to_pylist())
    assert r.train.trainer.valid_metrics_["chars"] == len(valid_text)  # validation scored the valid split
    assert r.train.canaries["summary"]["canaries"] == 2 and r.train.canaries["summary"]["candidates"] == 40
    assert took <= 90.0 and r.budget["used_s"] <= 90.0
    # the canary check's candidates follow the time left: the floor with none, the cap with plenty
    canaries = make_canaries(2, seed=9)
    assert affordable_candidates(r.train.trainer, canaries, 0.0, 1000) == MIN_CANDIDATES
    assert affordable_candidates(r.train.trainer, canaries, 1e6, 300) == 300


def test_run_lm_refuses_bad_input_in_one_sentence_and_writes_nothing(workspace, tmp_path):
    from datamoat.flywheel.lm_run import run_lm

    path = write_file(tmp_path, "note.txt", long_text(seed=4, paragraphs=12))
    with pytest.raises(DatamoatError, match="too small to hold out valid text"):
        run_lm(workspace, path, name="note", params=TINY, budget="60s", canaries=0, pii="keep", profile_checks=FAST)
    path = write_file(tmp_path, "short.txt", long_text(seed=4, paragraphs=90))
    big = {**TINY, "context": 65536}
    with pytest.raises(DatamoatError, match="shorter than one context window of 65,537 tokens"):
        run_lm(workspace, path, name="short", params=big, budget="60s", canaries=0, pii="keep", profile_checks=FAST)
    assert workspace.datasets() == []
    from transformers import BertConfig, BertModel

    bert = tmp_path / "bert"
    BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32)).save_pretrained(bert)
    with pytest.raises(DatamoatError, match="which is not a causal language model"):
        run_lm(workspace, path, name="short", model="causal-lm-finetune", params={"checkpoint": str(bert)}, budget="60s")
    with pytest.raises(DatamoatError, match="holds no text"):
        run_lm(workspace, write_file(tmp_path, "empty.txt", "\n \n"), budget="60s")
    assert workspace.datasets() == [] and not list((workspace.state / "reports").glob("model-*"))
