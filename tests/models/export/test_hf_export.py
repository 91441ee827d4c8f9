"""Hugging Face style export (encoder + head.safetensors, or a datamoat folder) and the model card."""

from __future__ import annotations

import copy
import json
import random
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from datamoat.errors import DatamoatError, NotFoundError
from datamoat.models.export.hf_export import export_hugging_face, load_exported
from datamoat.models.export.model_card import model_card
from datamoat.models.trainers.contract import Trainer, create_trainer
from datamoat.models.trainers.encoder import TextEncoder, bundled_encoder_path

WORDS = {"billing": "refund invoice charge", "login": "password locked signin", "shipping": "parcel courier delivery"}
FILLER = "please my order the account today help with thanks need".split()
PROBES = ["I want a refund", "my password is locked", "where is the courier", "hello there", "x" * 3000]


def frame(labels: list[str], n: int = 36, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = labels[i % len(labels)]
        words = rng.sample(FILLER, 3) + [rng.choice(WORDS[label].split())]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": label})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def embed3():
    return create_trainer("embed-linear", max_length=32).fit(frame(list(WORDS)))


def front_matter(readme: str) -> dict:
    assert readme.startswith("---\n")
    return yaml.safe_load(readme.split("---\n")[1])


def test_embed_linear_export_matches_the_trainer(embed3, tmp_path):
    out = export_hugging_face(embed3, tmp_path / "export", card_info={"name": "intents", "version": 2})
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "head.safetensors", "datamoat_head.json",
            "README.md"} <= names
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "billing", "1": "login", "2": "shipping"}
    assert config["label2id"] == {"billing": 0, "login": 1, "shipping": 2}
    meta = json.loads((out / "datamoat_head.json").read_text())
    assert meta["pooling"] == "mean" and meta["normalize"] == "l2" and meta["activation"] == "softmax"
    assert meta["max_length"] == 32

    from safetensors.numpy import load_file

    head = load_file(str(out / "head.safetensors"))
    assert head["weight"].shape == (3, 384) and head["bias"].shape == (3,)

    classify = load_exported(out)
    assert classify.labels == embed3.classes_
    np.testing.assert_allclose(classify(PROBES), embed3.predict_proba(PROBES), atol=1e-4)

    card = (out / "README.md").read_text()
    meta_yaml = front_matter(card)
    assert meta_yaml["library_name"] == "datamoat" and "embed-linear" in meta_yaml["tags"]
    assert "# intents (version 2)" in card and "load_exported" in card


def test_binary_head_is_expanded_to_two_softmax_rows(tmp_path):
    trainer = create_trainer("embed-linear", max_length=32).fit(frame(["billing", "login"], n=24))
    assert trainer.model_.coef_.shape[0] == 1
    out = export_hugging_face(trainer, tmp_path / "bin", card_info={})
    classify = load_exported(out)
    assert classify.weight.shape == (2, 384)
    np.testing.assert_allclose(classify(PROBES), trainer.predict_proba(PROBES), atol=1e-4)


def test_onnx_encoder_is_exported_as_onnx(embed3, tmp_path):
    import torch
    from transformers import AutoModel, AutoTokenizer

    src = bundled_encoder_path()
    folder = tmp_path / "onnx-encoder"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (src / name).is_file():
            shutil.copyfile(src / name, folder / name)
    model = AutoModel.from_pretrained(str(src)).eval()
    sample = AutoTokenizer.from_pretrained(str(src))(["a b", "c"], padding=True, return_tensors="pt")

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    inputs = ["input_ids", "attention_mask", "token_type_ids"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Hidden(), tuple(sample[k] for k in inputs), str(folder / "model.onnx"), input_names=inputs,
            output_names=["hidden"], dynamic_axes={k: {0: "b", 1: "t"} for k in [*inputs, "hidden"]},
            dynamo=False, opset_version=17,
        )
    trainer = copy.copy(embed3)
    trainer.use_encoder(TextEncoder(folder, backend="onnx", max_length=32))
    out = export_hugging_face(trainer, tmp_path / "export", card_info={})
    assert (out / "model.onnx").is_file() and not (out / "model.safetensors").exists()
    assert json.loads((out / "datamoat_head.json").read_text())["encoder_format"] == "onnx"
    assert json.loads((out / "config.json").read_text())["id2label"]["2"] == "shipping"
    np.testing.assert_allclose(load_exported(out)(PROBES), trainer.predict_proba(PROBES), atol=1e-4)


def test_tfidf_export_is_a_datamoat_folder(tmp_path):
    trainer = create_trainer("tfidf-linear").fit(frame(list(WORDS)))
    out = export_hugging_face(trainer, tmp_path / "tfidf", card_info={"name": "intents"})
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "billing", "1": "login", "2": "shipping"}
    assert config["transformers_compatible"] is False
    assert "scikit-learn" in (out / "README.md").read_text()
    loaded = Trainer.load(out)
    np.testing.assert_allclose(loaded.predict_proba(PROBES), trainer.predict_proba(PROBES))
    with pytest.raises(NotFoundError, match="not a transformers export"):
        load_exported(out)


def test_refuses_to_overwrite_unless_asked(tmp_path):
    a = create_trainer("tfidf-linear").fit(frame(list(WORDS)))
    b = create_trainer("tfidf-linear").fit(frame(["billing", "login"]))
    out = tmp_path / "model"
    export_hugging_face(a, out, card_info={})
    with pytest.raises(DatamoatError, match="not empty"):
        export_hugging_face(b, out, card_info={})
    assert Trainer.load(out).classes_ == ["billing", "login", "shipping"]
    export_hugging_face(b, out, card_info={}, overwrite=True)
    assert Trainer.load(out).classes_ == ["billing", "login"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging or old folders left
    empty = tmp_path / "empty"
    empty.mkdir()
    export_hugging_face(a, empty, card_info={})  # an empty folder is fine
    assert (empty / "trainer.json").is_file()


def test_a_failed_export_leaves_nothing(embed3, tmp_path):
    from sklearn.neighbors import KNeighborsClassifier

    broken = copy.copy(embed3)
    broken.model_ = KNeighborsClassifier(n_neighbors=1).fit(np.eye(3, 384), [0, 1, 2])
    with pytest.raises(DatamoatError, match="not a linear layer"):
        export_hugging_face(broken, tmp_path / "out", card_info={})
    with pytest.raises(DatamoatError, match="not fitted"):
        export_hugging_face(create_trainer("tfidf-linear"), tmp_path / "out", card_info={})
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------- model card
def full_info(n_classes: int = 3) -> dict:
    labels = [f"class{i:02d}" for i in range(n_classes)]
    per_class = [
        {"label": lab, "precision": 0.9, "recall": 0.9, "f1": 0.95 - 0.05 * i, "support": 30 + i}
        for i, lab in enumerate(labels)
    ]
    return {
        "name": "intents", "version": 4, "kind": "embed-linear",
        "params": {"C": 0.0001, "max_length": 64, "encoder": "bundled"},
        "classes": labels, "created_at": "2026-11-01T10:00:00+00:00",
        "train": {"dataset": "tickets", "version": 7, "content_hash": "c0ffee", "rows": 900,
                  "label_counts": {labels[0]: 800, labels[-1]: 12}, "language": {"en": 0.9, "fr": 0.1},
                  "date_range": {"column": "created", "min": "2025-01-01", "max": "2025-12-31"}},
        "test": {"dataset": "tickets", "version": 8, "rows": 250, "content_hash": "beef"},
        "metrics": {"accuracy": 0.912, "accuracy_ci": [0.88, 0.94], "macro": {"f1": 0.8},
                    "ci": {"macro_f1": [0.75, 0.85]}, "calibration": {"ece": 0.042}, "per_class": per_class},
    }


def test_model_card_sections_and_front_matter():
    card = model_card(full_info())
    meta = front_matter(card)
    assert meta["library_name"] == "datamoat"
    assert meta["language"] == ["en", "fr"]
    assert meta["metrics"] == ["accuracy", "f1"]
    result = meta["model-index"][0]["results"][0]
    assert result["dataset"]["name"] == "tickets@8"
    assert {m["type"]: m["value"] for m in result["metrics"]} == {"accuracy": 0.912, "f1": 0.8}
    for heading in ("## Model description", "## Training data", "## Evaluation", "## Intended use",
                    "## Known limits", "## How to load"):
        assert heading in card
    assert "`tickets@7`" in card and "`c0ffee`" in card and "900" in card
    assert "0.912 (95% CI 0.880 to 0.940)" in card
    assert "0.800 (95% CI 0.750 to 0.850)" in card
    assert "0.042" in card
    assert "| C | 0.0001 |" in card  # parameters are not rounded
    limits = card.split("## Known limits")[1].split("## How to load")[0]
    assert "`class02` (12)" in limits  # few training examples
    assert "first 64 tokens" in limits
    assert "2025-01-01 to 2025-12-31" in limits
    assert "en, fr" in limits
    assert "ModelRegistry" in card and "'intents@4'" in card


def test_model_card_per_class_table_shows_best_and_worst():
    info = full_info(12)
    card = model_card(info)
    table = [line for line in card.splitlines() if line.startswith("| class") and not line.startswith("| class |")]
    assert [line.split("|")[1].strip() for line in table] == [f"class{i:02d}" for i in (*range(5), *range(7, 12))]
    assert "2 more" in card
    limits = card.split("## Known limits")[1]
    assert "`class11` (0.40)" in limits and "`class04`" not in limits  # F1 below 0.7 only


def test_model_card_with_missing_keys():
    card = model_card({})
    assert front_matter(card)["library_name"] == "datamoat"
    assert "## Evaluation" not in card and "## Training data" not in card
    assert "## How to load" in card
    partial = model_card({"kind": "tabular", "metrics": {"accuracy": {"value": 0.5, "ci": [0.4, 0.6]}}})
    assert "0.500 (95% CI 0.400 to 0.600)" in partial
    assert front_matter(partial)["pipeline_tag"] == "tabular-classification"
    assert "| a\\|b |" in model_card({"metrics": {"per_class": [{"label": "a|b", "f1": 0.9}]}})
