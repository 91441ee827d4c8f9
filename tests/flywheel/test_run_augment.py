"""``run_loop(augment="auto")``: synthetic rows only ever join training rows, never the test split."""

from __future__ import annotations

import pytest
from test_run_loop import noisy_tickets

from datamoat import DatamoatError, Workspace, run_loop


def test_a_run_with_augmentation_has_no_synthetic_test_row_and_reports_the_gate(tmp_path):
    from datamoat.clean.augment import SYNTHETIC_COLUMN

    csv = tmp_path / "t.csv"
    noisy_tickets(90, noise=0.1, seed=4).to_csv(csv, index=False)
    ws = Workspace.init(tmp_path / "ws")
    # recipe=[]: no cleaning and no label-cleaning candidate, so the run is about augmentation only;
    # a named model is not searched, so the budget is only a ceiling (2m ran out once at load 13)
    result = run_loop(ws, csv, text="text", label="intent", id_column="id", model="tfidf-linear", budget="15m",
                      recipe=[], augment="auto")
    decision = result.train.selection["augmentation"]
    assert decision["step"] == "augment" and isinstance(decision["kept"], bool) and decision["reason"]
    assert set(decision["added_per_class"]) == {"billing", "shipping", "login"}
    test_v = ws.version(result.versions["test"])
    assert SYNTHETIC_COLUMN not in test_v.schema.names and "+" not in "".join(test_v.to_pandas().index)
    assert result.train.evaluation["rows"] == test_v.num_rows  # every test row scored, none added
    train_v = ws.version(result.versions["train"])
    if decision.get("applied"):  # synthetic rows came from training rows only
        synthetic = train_v.to_pandas()
        sources = set(synthetic[SYNTHETIC_COLUMN + "_of"].dropna())
        assert sources and not sources & set(test_v.to_pandas().index)
    ws.close()


def test_register_augmented_adds_the_synthetic_rows_as_a_child_version(tmp_path):
    from datamoat.clean.augment import SYNTHETIC_COLUMN, SYNTHETIC_OF_COLUMN, augment_text
    from datamoat.models.augmented_version import register_augmented
    from datamoat.models.training import user_frame

    csv = tmp_path / "t.csv"
    noisy_tickets(30, noise=0.0, seed=1).to_csv(csv, index=False)
    ws = Workspace.init(tmp_path / "ws")
    base = ws.ingest(csv, name="tickets", text="text", label="intent", id="id")
    made = augment_text(user_frame(base), text_column="text", label_column="intent", per_row=2, seed=0)
    version = register_augmented(ws, base, made)
    df = version.to_pandas()
    real, synthetic = df[df[SYNTHETIC_COLUMN].isna()], df[df[SYNTHETIC_COLUMN].notna()]
    assert len(real) == base.num_rows and len(synthetic) == len(made.rows) == 60
    assert set(synthetic[SYNTHETIC_OF_COLUMN]) == set(real.index)
    assert version.dataset == base.dataset and version.record.id != base.record.id
    assert version.roles.get("text") == "text"
    ws.close()


def test_an_unknown_augment_mode_fails_before_anything_is_written(tmp_path):
    csv = tmp_path / "t.csv"
    noisy_tickets(30, 0.0, 1).to_csv(csv, index=False)
    ws = Workspace.init(tmp_path / "ws")
    with pytest.raises(DatamoatError, match="augment='always' is not known; use auto or off"):
        run_loop(ws, csv, text="text", label="intent", augment="always")
    assert ws.datasets() == []
    ws.close()


def test_merging_feedback_into_an_augmented_version_leaves_its_synthetic_rows_out(tmp_path):
    # a champion trained with --augment auto has the augmented version as its training version; the
    # retrain's merge must not turn its synthetic rows into real rows (augmentation is redone per training)
    import pandas as pd

    from datamoat.clean.augment import SYNTHETIC_COLUMN, SYNTHETIC_OF_COLUMN, augment_text
    from datamoat.flywheel.merge import merge_feedback
    from datamoat.models.augmented_version import register_augmented
    from datamoat.models.training import user_frame

    csv = tmp_path / "t.csv"
    noisy_tickets(20, noise=0.0, seed=2).to_csv(csv, index=False)
    ws = Workspace.init(tmp_path / "ws")
    base = ws.ingest(csv, name="tickets", text="text", label="intent", id="id")
    made = augment_text(user_frame(base), text_column="text", label_column="intent", per_row=2,
                        methods=("swap", "delete"), seed=0)
    augmented = register_augmented(ws, base, made)
    feedback = pd.DataFrame({"record_id": [1, 2], "text": ["cannot log in", "refund my card"],
                             "label": ["login", "billing"]})
    merged = merge_feedback(ws, augmented, feedback, model_name="m")
    df = merged.version.to_pandas()
    assert merged.synthetic_left_out == len(made.rows) > 30 and merged.base_rows == base.num_rows
    assert merged.rows == base.num_rows + 2 and not any("+" in rid for rid in df.index)
    assert SYNTHETIC_COLUMN not in df.columns and SYNTHETIC_OF_COLUMN not in df.columns
    assert set(df.index) == set(base.to_pandas().index) | {"feedback-1", "feedback-2"}
    assert merged.version.record.params["synthetic_rows_left_out"] == len(made.rows)
    # the same feedback merged into the real rows alone gives the same content, so the same version
    plain = merge_feedback(ws, base, feedback, model_name="m")
    assert plain.synthetic_left_out == 0 and not plain.created and plain.version.hash == merged.version.hash
    ws.close()




def test_retrain_gives_the_challenger_the_champions_augmentation_setting(workspace, tmp_path):
    # a champion trained with --augment auto: its challenger tries augmentation again, gated on its own
    # real rows (a champion trained without it gives "off": test_flywheel's kept-champion test)
    from datamoat.feedback.records import FeedbackStore
    from datamoat.flywheel import retrain
    from datamoat.models.training import models_registry, train_model

    ws = workspace
    tickets = noisy_tickets(96, noise=0.0, seed=5).rename(columns={"intent": "label"})
    for name, part in (("train", tickets.iloc[:60]), ("test", tickets.iloc[60:90])):
        part.to_csv(tmp_path / f"{name}.csv", index=False)
    train_v = ws.ingest(tmp_path / "train.csv", name="t-train", text="text", label="label", id="id")
    test_v = ws.ingest(tmp_path / "test.csv", name="t-test", text="text", label="label", id="id")
    champion = train_model(ws, train_v.ref, model="tfidf-linear", name="t", test=test_v.ref,
                           learning_curve=False, augment="auto", budget="2m").record
    assert champion.info["selection"]["augmentation"]["step"] == "augment"
    store = FeedbackStore(ws.catalog)
    for text, label in tickets.iloc[90:][["text", "label"]].itertuples(index=False):
        store.add_feedback(model_name="t", user="ann", text=text, label=label)
    decision = retrain(ws, "t", model="same", budget="2m")
    assert decision.figures["augment"] == "auto"
    gate = models_registry(ws).get_by_id(decision.challenger_id).info["selection"]["augmentation"]
    assert gate["step"] == "augment" and isinstance(gate["kept"], bool) and gate["reason"]
    assert set(gate["added_per_class"]) == set(tickets["label"])
