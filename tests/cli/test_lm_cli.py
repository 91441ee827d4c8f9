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


def test_checkpoint_reaches_causal_lm_finetune_and_bad_use_is_refused_before_anything_is_written(cli, tmp_path):
    from transformers import BertConfig, BertModel

    (tmp_path / "notes.txt").write_text("some text\n" * 50)
    notes = str(tmp_path / "notes.txt")
    code, _, err = cli("run", notes, "--task", "lm", "--model", "causal-lm-finetune")
    assert code != 0 and "--model causal-lm-finetune needs --checkpoint FOLDER" in err
    code, _, err = cli("run", notes, "--task", "lm", "--checkpoint", str(tmp_path))
    assert code != 0 and "applies only to --task lm --model causal-lm-finetune" in err
    assert not (tmp_path / "ws").exists()  # refused before the workspace was made
    bert = tmp_path / "bert"
    BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32)).save_pretrained(bert)
    code, _, err = cli("run", notes, "--task", "lm", "--model", "causal-lm-finetune", "--checkpoint", str(bert))
    assert code != 0 and "which is not a causal language model" in err and "Traceback" not in err
    code, out, _ = cli("datasets", "--json")
    assert code == 0 and out.strip() == "[]"
    code, _, err = cli("train", "anything", "--task", "lm", "--model", "causal-lm-finetune",
                       "--checkpoint", str(tmp_path / "missing"))
    assert code != 0 and "is not a Hugging Face model folder" in err
