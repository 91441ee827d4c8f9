"""Language-model trainers: from scratch and fine-tuning (full and LoRA), saved folders that
plain transformers loads, generation, bits per character, canary exposure, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from datamoat.errors import DatamoatError

WORDS = "the cat sat on a mat and the dog ran to the park while small birds sang".split()
TINY = {"layers": 2, "heads": 2, "width": 32, "context": 32, "batch_size": 16, "max_seconds": None}


def corpus(n_docs: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["\n".join(" ".join(rng.choice(WORDS, 8)) for _ in range(4)) for _ in range(n_docs)]


@pytest.fixture(scope="session")
def canary():
    from datamoat.models.evaluation.lm_canaries import make_canaries

    inserted, control = make_canaries(2, seed=3)  # a PIN and an alarm code, random digits
    return inserted, control


@pytest.fixture(scope="session")
def scratch(canary):
    """One tiny from-scratch model, trained on a corpus with one canary inserted 30 times."""
    from datamoat.models.evaluation.lm_canaries import insert_canaries
    from datamoat.models.trainers.contract import create_trainer

    docs = insert_canaries(corpus(60), [canary[0]], repeats=30, seed=0)
    trainer = create_trainer("causal-lm", max_steps=80, eval_every=40, learning_rate=3e-3, **TINY)
    trainer.fit(docs, corpus(8, seed=1))
    return trainer


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny randomly initialised GPT-2 with a character tokenizer, saved to a folder."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from datamoat.models.trainers.lm_tokenizer import train_tokenizer

    folder = tmp_path_factory.mktemp("gpt2-tiny")
    tok = train_tokenizer(corpus(20), "char")
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                        eos_token_id=tok.eos_token_id, bos_token_id=tok.eos_token_id)
    GPT2LMHeadModel(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_from_scratch_lowers_validation_loss_and_saves_a_plain_transformers_folder(scratch, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from datamoat.models.trainers.contract import Trainer

    history = scratch.history_
    assert history[-1]["valid_loss"] <= history[0]["valid_loss"]
    assert history[-1]["valid_loss"] < math.log(len(scratch.tokenizer_)) - 1.0  # an untrained model: ln(vocab)
    assert scratch.valid_metrics_["loss"] < math.log(len(scratch.tokenizer_)) - 1.0
    assert scratch.report_["tokenizer"]["kind"] == "char"
    scratch.save(tmp_path / "m")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "m")
    tok = AutoTokenizer.from_pretrained(tmp_path / "m")
    assert type(model).__name__ == "GPT2LMHeadModel"
    ids = tok("the cat sat", return_tensors="pt").input_ids
    out = model.generate(ids, max_new_tokens=12, do_sample=False, pad_token_id=tok.eos_token_id)
    assert tok.decode(out[0, ids.shape[1]:]) == scratch.generate("the cat sat", max_new_tokens=12, temperature=0)
    again = Trainer.load(tmp_path / "m")  # the registry's loader dispatches to the LM contract
    assert type(again).__name__ == "CausalLMTrainer"
    assert again.text_metrics(corpus(3, seed=2))["loss"] == pytest.approx(scratch.text_metrics(corpus(3, seed=2))["loss"])


def test_sampling_is_seeded(scratch) -> None:
    a = scratch.generate("the", max_new_tokens=20, temperature=1.0, top_k=5, top_p=0.9, seed=7)
    b = scratch.generate("the", max_new_tokens=20, temperature=1.0, top_k=5, top_p=0.9, seed=7)
    assert a == b
    with pytest.raises(DatamoatError, match="top-p"):
        scratch.generate("the", top_p=1.5)


@pytest.mark.parametrize("lora", [False, True])
def test_finetune_saves_reloads_and_generates_the_same_tokens(checkpoint: Path, tmp_path: Path, lora: bool) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from datamoat.models.trainers.contract import create_trainer

    before = AutoModelForCausalLM.from_pretrained(checkpoint).transformer.h[0].attn.c_attn.weight.detach().clone()
    trainer = create_trainer("causal-lm-finetune", checkpoint=str(checkpoint), lora=lora, max_steps=6, eval_every=3,
                             batch_size=8, context=32, learning_rate=1e-2, max_seconds=None)
    trainer.fit(corpus(20), corpus(4, seed=1))
    trainer.save(tmp_path / "ft")
    assert not list((tmp_path / "ft").glob("adapter_*"))  # LoRA is merged: a plain causal LM folder
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "ft")
    tok = AutoTokenizer.from_pretrained(tmp_path / "ft")
    assert not torch.equal(model.transformer.h[0].attn.c_attn.weight, before)
    ids = tok("the dog", return_tensors="pt").input_ids
    torch.manual_seed(0)
    out = model.generate(ids, max_new_tokens=10, do_sample=False, pad_token_id=tok.eos_token_id)
    assert tok.decode(out[0, ids.shape[1]:]) == trainer.generate("the dog", max_new_tokens=10, temperature=0, seed=0)


def test_bits_per_character_of_a_uniform_model_is_log2_of_the_vocabulary(checkpoint: Path) -> None:
    import torch

    from datamoat.models.evaluation.lm_metrics import bits_per_char
    from datamoat.models.trainers.contract import create_trainer

    assert bits_per_char(10 * math.log(2), 10) == pytest.approx(1.0)
    trainer = create_trainer("causal-lm-finetune", checkpoint=str(checkpoint), max_steps=1, max_seconds=None)
    trainer.fit(corpus(20))
    with torch.no_grad():  # a zero final norm makes every logit 0: uniform over the vocabulary
        trainer.model_.transformer.ln_f.weight.zero_()
        trainer.model_.transformer.ln_f.bias.zero_()
    texts = ["the cat sat on a mat", "a dog\nran"]
    metrics = trainer.text_metrics(texts)
    vocab = trainer.model_.config.vocab_size
    assert metrics["chars"] == sum(map(len, texts)) and metrics["tokens"] == metrics["chars"]  # characters
    assert metrics["bits_per_char"] == pytest.approx(math.log2(vocab), rel=1e-5)
    assert metrics["perplexity"] == pytest.approx(vocab, rel=1e-4)


def test_canary_exposure_is_higher_for_the_inserted_canary(scratch, canary) -> None:
    from datamoat.models.evaluation.lm_canaries import canary_exposure, canary_summary

    rows = canary_exposure(scratch, [canary[0]], candidates=100, inserted=True)
    rows += canary_exposure(scratch, [canary[1]], candidates=100, inserted=False)
    inserted, control = rows
    assert inserted["exposure"] > control["exposure"] + 2
    assert inserted["max_exposure"] == pytest.approx(math.log2(101), abs=1e-3)
    summary = canary_summary(rows, pii_redaction=False)
    assert summary["canaries"] == 1 and summary["controls"] == 1 and summary["pii_redaction"] == "off"


def test_insert_canaries_copies_and_inserts_each_as_its_own_line(canary) -> None:
    from datamoat.models.evaluation.lm_canaries import insert_canaries

    docs = ["line one\nline two\n", "single"]
    out = insert_canaries(docs, [canary[0]], repeats=3, seed=1)
    assert docs == ["line one\nline two\n", "single"]
    joined = "\n".join(out)
    assert joined.count(canary[0].text) == 3
    assert all(line == canary[0].text for doc in out for line in doc.split("\n") if canary[0].secret in line)


def test_bad_input_is_one_sentence_and_writes_nothing(checkpoint: Path, tmp_path: Path) -> None:
    from transformers import BertConfig, BertModel

    from datamoat.models.trainers.contract import create_trainer

    before = sorted(p.name for p in tmp_path.iterdir())
    scratch = create_trainer("causal-lm", max_steps=5, **TINY)
    with pytest.raises(DatamoatError, match="training corpus has no text"):
        scratch.fit(["", "  ", None])
    with pytest.raises(DatamoatError, match="shorter than one context window"):
        scratch.fit(["a short text"])
    bert = tmp_path / "bert"
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    BertModel(config).save_pretrained(bert)  # an encoder checkpoint (architectures: BertModel)
    with pytest.raises(DatamoatError, match="holds a bert model .BertModel., which is not a causal language model"):
        create_trainer("causal-lm-finetune", checkpoint=str(bert)).fit(corpus(5))
    config.save_pretrained(tmp_path / "bert-config")  # a config alone: no architectures listed
    with pytest.raises(DatamoatError, match="which is not a causal language model"):
        create_trainer("causal-lm-finetune", checkpoint=str(tmp_path / "bert-config")).fit(corpus(5))
    with pytest.raises(DatamoatError, match="no config.json"):
        create_trainer("causal-lm-finetune", checkpoint=str(tmp_path / "missing")).fit(corpus(5))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "bert", "bert-config"])
    assert sorted(p.name for p in bert.iterdir()) == ["config.json", "model.safetensors"]


def test_tokenizers_round_trip_and_are_chosen_by_corpus_size(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from datamoat.models.trainers.lm_data import encode_documents
    from datamoat.models.trainers.lm_tokenizer import CHAR_MAX_CHARS, choose_tokenizer_kind, train_tokenizer

    assert choose_tokenizer_kind(CHAR_MAX_CHARS)[0] == "char" and choose_tokenizer_kind(CHAR_MAX_CHARS + 1)[0] == "bpe"
    docs = corpus(30)
    text = "the cat — naïve 🙂\nsat"
    bpe = train_tokenizer(docs, "bpe")
    assert bpe.decode(bpe(text)["input_ids"]) == text  # byte-level: nothing is unknown
    char = train_tokenizer(docs, "char")
    fast = encode_documents(char, [text])[0].tolist()  # the numpy lookup of character tokenizers
    assert fast == char(text, add_special_tokens=False)["input_ids"] and char.unk_token_id in fast
    char.save_pretrained(tmp_path / "tok")
    assert AutoTokenizer.from_pretrained(tmp_path / "tok")("the cat")["input_ids"] == char("the cat")["input_ids"]
