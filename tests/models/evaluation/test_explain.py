"""Per-word explanations: linear weights for tfidf-linear, occlusion for the other text models."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from datamoat.errors import DatamoatError
from datamoat.models.evaluation.explain import explain, format_explanation, without_span, word_tokens
from datamoat.models.trainers.contract import create_trainer
from datamoat.models.trainers.ensemble import EnsembleTrainer

FILLER = "please my order the account today help with thanks need about".split()
DECISIVE = {"billing": "refund", "login": "password", "shipping": "parcel"}


def intents_frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Texts of shared filler words where one word alone decides the class."""
    rng = random.Random(seed)
    rows = []
    labels = list(DECISIVE)
    for i in range(n):
        label = labels[i % len(labels)]
        words = rng.sample(FILLER, 4)
        words.insert(rng.randrange(5), DECISIVE[label])
        rows.append({"text": " ".join(words), "label": label})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return intents_frame()


@pytest.fixture(scope="module")
def tfidf_svm(data):
    return create_trainer("tfidf-linear").fit(data)


@pytest.fixture(scope="module")
def tfidf_logreg(data):
    return create_trainer("tfidf-linear", model="logreg").fit(data)


@pytest.fixture(scope="module")
def embed(data):
    return create_trainer("embed-linear").fit(data)


def test_word_tokens_offsets_slice_the_text():
    text = "Hi,  I don't get my REFUND!\nÇa va? l'eau"
    tokens = word_tokens(text)
    assert [t for t, _, _ in tokens] == ["Hi", "I", "don't", "get", "my", "REFUND", "Ça", "va", "l'eau"]
    assert all(text[s:e] == t for t, s, e in tokens)


def test_without_span_removes_the_word_and_one_gap():
    assert without_span("refund please", 0, 6) == "please"
    assert without_span("please refund", 7, 13) == "please"
    assert without_span("a refund b", 2, 8) == "a b"


@pytest.mark.parametrize("which", ["tfidf_svm", "tfidf_logreg"])
def test_linear_weights_put_the_decisive_word_first(request, which):
    trainer = request.getfixturevalue(which)
    text = "Hello, could I get a REFUND for my order today?"
    result = explain(trainer, text, top_k=3)
    assert result["method"] == "linear-weights"
    assert result["label"] == "billing"
    assert result["score"] == pytest.approx(trainer.predict_proba([text])[0][trainer.classes_.index("billing")])
    top = result["tokens"][0]
    assert top["token"] == "REFUND" and top["weight"] > 0
    assert text[top["start"] : top["end"]] == "REFUND"
    assert top["weight"] > 5 * max(abs(t["weight"]) for t in result["all_tokens"][1:] if t["token"] != "REFUND")
    assert len(result["tokens"]) == 3
    assert [t["token"] for t in result["all_tokens"]] == [t for t, _, _ in word_tokens(text)]
    assert all(text[t["start"] : t["end"]] == t["token"] for t in result["all_tokens"])


def test_linear_weights_add_up_to_the_decision_score(tfidf_logreg):
    """For letters-and-spaces text every n-gram lies on a word, so the words carry the whole score."""
    text = "please refund my parcel today"
    pipe = tfidf_logreg.model_
    X = pipe.named_steps["features"].transform([text])
    clf = pipe.named_steps["clf"]
    for label in tfidf_logreg.classes_:
        k = list(clf.classes_).index(tfidf_logreg.classes_.index(label))
        expected = clf.decision_function(X)[0][k] - clf.intercept_[k]
        result = explain(tfidf_logreg, text, label=label)
        assert result["label"] == label
        assert sum(t["weight"] for t in result["all_tokens"]) == pytest.approx(expected, abs=1e-5)


def test_explaining_another_label_flips_the_sign(tfidf_svm):
    result = explain(tfidf_svm, "I need a refund please", label="login")
    weights = {t["token"]: t["weight"] for t in result["all_tokens"]}
    assert result["label"] == "login"
    assert weights["refund"] < 0


def test_binary_linear_model_uses_both_signs():
    df = intents_frame(40)
    df = df[df["label"] != "shipping"]
    trainer = create_trainer("tfidf-linear").fit(df)
    pos = explain(trainer, "refund my order", label="billing")
    neg = explain(trainer, "refund my order", label="login")
    w_pos = {t["token"]: t["weight"] for t in pos["all_tokens"]}
    w_neg = {t["token"]: t["weight"] for t in neg["all_tokens"]}
    assert w_pos["refund"] > 0
    assert w_neg["refund"] == pytest.approx(-w_pos["refund"])


def test_occlusion_on_embed_linear_finds_the_decisive_word(embed):
    text = "please refund my order today"
    result = explain(embed, text, top_k=3)
    assert result["method"] == "occlusion"
    assert result["label"] == "billing"
    assert result["tokens"][0]["token"] == "refund"
    assert result["tokens"][0]["weight"] > 0
    # the weight is exactly p(label | text) - p(label | text without the word)
    col = embed.classes_.index("billing")
    p_full, p_without = embed.predict_proba([text, "please my order today"])[:, col]
    assert result["tokens"][0]["weight"] == pytest.approx(p_full - p_without, abs=1e-4)
    assert result["score"] == pytest.approx(p_full, abs=1e-5)


def test_occlusion_gives_zero_to_words_past_the_truncation(embed):
    import copy

    from datamoat.models.trainers.encoder import TextEncoder

    short = copy.copy(embed)
    short.use_encoder(TextEncoder("bundled", max_length=8))  # [CLS] + 6 words + [SEP]
    text = "please refund my order today thanks with help the parcel"
    result = explain(short, text, top_k=3)
    weights = [t["weight"] for t in result["all_tokens"]]
    assert all(w == 0.0 for w in weights[6:])
    assert result["tokens"][0]["token"] == "refund"


def test_occlusion_on_an_ensemble(tfidf_svm, embed):
    ensemble = EnsembleTrainer.from_members([tfidf_svm, embed])
    result = explain(ensemble, "could you send the parcel now", top_k=2)
    assert result["method"] == "occlusion"
    assert result["label"] == "shipping"
    assert result["tokens"][0]["token"] == "parcel"


def test_errors(tfidf_svm):
    with pytest.raises(DatamoatError, match="empty"):
        explain(tfidf_svm, "   ")
    with pytest.raises(DatamoatError, match="empty"):
        explain(tfidf_svm, "")
    with pytest.raises(DatamoatError, match="not one of"):
        explain(tfidf_svm, "refund", label="nope")
    with pytest.raises(DatamoatError, match="top_k"):
        explain(tfidf_svm, "refund", top_k=0)
    with pytest.raises(DatamoatError, match="not fitted"):
        explain(create_trainer("tfidf-linear"), "refund")
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.normal(size=40), "label": ["a", "b"] * 20})
    tabular = create_trainer("tabular-linear").fit(table)
    with pytest.raises(DatamoatError, match="text models"):
        explain(tabular, "refund")


def test_text_without_words_gives_no_tokens(tfidf_svm):
    result = explain(tfidf_svm, "?!")
    assert result["tokens"] == [] and result["all_tokens"] == []
    assert result["label"] in tfidf_svm.classes_
    assert "no words" in format_explanation(result)


def test_format_explanation_draws_signed_bars(tfidf_svm):
    result = explain(tfidf_svm, "refund my password", label="billing", top_k=3)
    text = format_explanation(result)
    lines = text.splitlines()
    assert lines[0].startswith("label 'billing'")
    assert len(lines) == 4
    by_token = {line.split()[0]: line for line in lines[1:]}
    assert "|+" in by_token["refund"] and by_token["refund"].count("+") >= 20
    assert "-|" in by_token["password"]
