"""``datamoat run --task lm`` and ``datamoat train --task lm``: arguments and bad input are
refused in one sentence before anything is written (training itself is tested with the model
side's trainers; the corpus path in tests/flywheel/test_lm_corpus.py)."""

from __future__ import annotations


def test_run_task_lm_refuses_a_binary_file_and_writes_nothing(cli, tmp_path):
    (tmp_path / "book.txt").write_bytes(b"\x00\x01\x02 not text \x00")
    code, _, err = cli("run", str(tmp_path / "book.txt"), "--task", "lm", "--budget", "2m")
    assert code != 0 and "binary file" in err and "Traceback" not in err
    code, out, _ = cli("datasets", "--json")
    assert code == 0 and out.strip() == "[]"


def test_run_task_lm_refuses_classifier_options(cli, tmp_path):
    (tmp_path / "notes.txt").write_text("some text\n")
    code, _, err = cli("run", str(tmp_path / "notes.txt"), "--task", "lm", "--label", "topic")
    assert code != 0 and "--label does not apply to --task lm" in err


def test_train_task_lm_refuses_a_classifier_kind(cli, tmp_path):
    assert cli("init")[0] == 0
    code, _, err = cli("train", "anything", "--task", "lm", "--model", "tfidf-linear")
    assert code != 0 and "is not a language model" in err
