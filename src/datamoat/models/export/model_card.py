"""A Hugging Face style model card (README.md) for a datamoat model.

:func:`model_card` takes a plain dict, so it works for a registry record
(``ModelRecord.to_dict()`` plus the dataset facts), for an export, or for a hand-written
description. Every key is optional; a missing one drops its line or section. Keys read::

    name: str                    # model name
    version: int | str           # model version (ordinal)
    kind: str                    # trainer kind, e.g. "tfidf-linear"
    params: dict                 # hyper-parameters (max_length / encoder are mentioned if present)
    classes: [str, ...]          # labels in output order
    created_at: str              # ISO time of training
    license, language: str       # copied to the front matter (language also from train.language)
    format: "transformers" | "datamoat"   # how the files were exported (decides "How to load")
    path: str                    # where the model files are
    train: {dataset, version, content_hash, rows, label_counts: {label: rows},
            language: "en" | {"en": 0.97, ...}, date_range: {column, min, max} | [min, max]}
    test:  {dataset, version, content_hash, rows}
    metrics:                     # an evaluation dict; each metric may be a number,
      accuracy, macro_f1         # or {"value", "ci": [lo, hi]}; or CIs in accuracy_ci /
      accuracy_ci, macro_f1_ci   # macro_f1_ci, or {"ci": {"accuracy": [lo, hi]}}
      macro: {f1}                # (classification_report shape is accepted too)
      per_class: [{label, precision, recall, f1, support}, ...]
      ece  (or calibration: {ece})
      n: rows evaluated

Metric values are fractions in [0, 1]; the card shows them as fractions with 3 decimals.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

FEW_EXAMPLES = 20
"""A class with fewer training rows (or test rows, when training counts are unknown) is flagged."""
LOW_F1 = 0.7
"""A class whose test F1 is below this is flagged as a known limit."""
TABLE_EDGE = 5
"""With more than 2 x TABLE_EDGE classes, the per-class table shows the best and worst TABLE_EDGE."""
TEXT_KINDS = ("tfidf-linear", "embed-linear", "finetune", "ensemble")


# --------------------------------------------------------------------- small readers
def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _g(value: Any) -> str:
    """A number with 4 significant digits (privacy parameters span 1e-7 to 100)."""
    return f"{value:.4g}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _cell(value: Any, exact: bool = False) -> str:
    """A Markdown table cell (floats to 3 decimals unless ``exact``): pipes escaped, newlines flattened."""
    text = json.dumps(value, default=str) if exact and not isinstance(value, str) else _fmt(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _metric(metrics: Mapping[str, Any], name: str) -> tuple[float | None, Sequence[float] | None]:
    """``(value, (lo, hi) or None)`` of a metric in any of the accepted shapes."""
    raw = metrics.get(name)
    if raw is None and name == "macro_f1":
        raw = (metrics.get("macro") or {}).get("f1")
    if raw is None and name == "ece":
        raw = (metrics.get("calibration") or {}).get("ece")
    ci = metrics.get(f"{name}_ci") or (metrics.get("ci") or {}).get(name)
    if isinstance(raw, Mapping):
        ci = raw.get("ci") or ci
        if ci is None and "ci_low" in raw and "ci_high" in raw:
            ci = (raw["ci_low"], raw["ci_high"])
        raw = raw.get("value", raw.get("mean"))
    value = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
    if not (isinstance(ci, Sequence) and len(ci) == 2 and all(isinstance(v, int | float) for v in ci)):
        ci = None
    return value, ci


def _metric_text(metrics: Mapping[str, Any], name: str) -> str | None:
    value, ci = _metric(metrics, name)
    if value is None:
        return None
    return f"{value:.3f}" + (f" (95% CI {ci[0]:.3f} to {ci[1]:.3f})" if ci else "")


def _dataset_ref(part: Mapping[str, Any]) -> str | None:
    name, version = part.get("dataset"), part.get("version")
    if name is None:
        return None
    return f"{name}@{version}" if version is not None else str(name)


def _languages(train: Mapping[str, Any], info: Mapping[str, Any]) -> dict[str, float] | None:
    lang = info.get("language") or train.get("language")
    if isinstance(lang, str):
        return {lang: 1.0}
    if isinstance(lang, Mapping) and lang:
        return {str(k): float(v) for k, v in lang.items() if isinstance(v, int | float)}
    return None


def _date_range(train: Mapping[str, Any]) -> str | None:
    dr = train.get("date_range")
    if isinstance(dr, Mapping) and dr.get("min") is not None:
        col = f" (column {dr['column']!r})" if dr.get("column") else ""
        return f"{dr['min']} to {dr.get('max')}{col}"
    if isinstance(dr, Sequence) and not isinstance(dr, str) and len(dr) == 2:
        return f"{dr[0]} to {dr[1]}"
    return None


# --------------------------------------------------------------------- sections
def _front_matter(info: Mapping[str, Any]) -> str:
    kind = info.get("kind")
    meta: dict[str, Any] = {"library_name": "datamoat"}
    if info.get("license"):
        meta["license"] = str(info["license"])
    langs = _languages(info.get("train") or {}, info)
    codes = [k.lower() for k in sorted(langs, key=lambda k: -langs[k]) if len(k) <= 3] if langs else []
    if codes:  # ISO 639 codes only; a language name such as "English" stays in the body
        meta["language"] = codes[:5]
    text = kind in TEXT_KINDS or kind is None
    task = "text-classification" if text else "tabular-classification"
    meta["pipeline_tag"] = task
    meta["tags"] = ["datamoat", task] + ([str(kind)] if kind else [])
    metrics = info.get("metrics") or {}
    names = [m for m, key in (("accuracy", "accuracy"), ("f1", "macro_f1")) if _metric(metrics, key)[0] is not None]
    if names:
        meta["metrics"] = names
        results = []
        for hf_name, key in (("accuracy", "accuracy"), ("f1", "macro_f1")):
            value = _metric(metrics, key)[0]
            if value is not None:
                entry: dict[str, Any] = {"type": hf_name, "value": round(value, 4)}
                if hf_name == "f1":
                    entry["name"] = "macro F1"
                results.append(entry)
        test = info.get("test") or {}
        dataset = _dataset_ref(test) or "held-out test split"
        meta["model-index"] = [
            {
                "name": str(info.get("name") or kind or "model"),
                "results": [
                    {
                        "task": {"type": task},
                        "dataset": {"name": dataset, "type": str(test.get("dataset") or "private")},
                        "metrics": results,
                    }
                ],
            }
        ]
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n"


def _description(info: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    kind = info.get("kind")
    if kind:
        out.append(f"- **Kind:** `{kind}` (a datamoat trainer)")
    if info.get("created_at"):
        out.append(f"- **Trained:** {info['created_at']}")
    classes = info.get("classes") or []
    if classes:
        shown = ", ".join(f"`{c}`" for c in classes[:30]) + (f" and {len(classes) - 30} more" if len(classes) > 30 else "")
        out.append(f"- **Classes ({len(classes)}):** {shown}")
    params = info.get("params") or {}
    if params:
        out += ["", "Hyper-parameters:", "", "| parameter | value |", "|---|---|"]
        out += [f"| {_cell(k)} | {_cell(v, exact=True)} |" for k, v in sorted(params.items())]
    return ["## Model description", "", *out, ""] if out else []


def _training_data(info: Mapping[str, Any]) -> list[str]:
    train = info.get("train") or {}
    if not train:
        return []
    out = ["## Training data", ""]
    ref = _dataset_ref(train)
    if ref:
        out.append(f"- **Dataset version:** `{ref}`")
    if train.get("content_hash"):
        out.append(f"- **Content hash:** `{train['content_hash']}`")
    if train.get("rows") is not None:
        out.append(f"- **Rows:** {train['rows']}")
    dates = _date_range(train)
    if dates:
        out.append(f"- **Dates covered:** {dates}")
    langs = _languages(train, {})
    if langs:
        out.append("- **Language:** " + ", ".join(f"{k} ({v:.0%})" for k, v in sorted(langs.items(), key=lambda kv: -kv[1])))
    return out + [""]


def _per_class_table(per_class: list[Mapping[str, Any]]) -> list[str]:
    rows = sorted(per_class, key=lambda r: -float(r.get("f1", 0.0)))
    out = ["| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]

    def line(r: Mapping[str, Any]) -> str:
        cells = [r.get("label"), r.get("precision"), r.get("recall"), r.get("f1"), r.get("support")]
        return "| " + " | ".join(_cell("" if v is None else v) for v in cells) + " |"

    if len(rows) > 2 * TABLE_EDGE:
        out += [line(r) for r in rows[:TABLE_EDGE]]
        out.append(f"| ... {len(rows) - 2 * TABLE_EDGE} more ... | | | | |")
        out += [line(r) for r in rows[-TABLE_EDGE:]]
    else:
        out += [line(r) for r in rows]
    return out


def _evaluation(info: Mapping[str, Any]) -> list[str]:
    metrics = info.get("metrics") or {}
    if not metrics:
        return []
    out = ["## Evaluation", ""]
    test = info.get("test") or {}
    ref = _dataset_ref(test)
    rows = test.get("rows", metrics.get("n"))
    if ref or rows is not None:
        where = f"`{ref}`" if ref else "a held-out test set"
        out.append(f"Evaluated on {where}" + (f" ({rows} rows)." if rows is not None else "."))
        if test.get("content_hash"):
            out.append(f"Content hash of the test data: `{test['content_hash']}`.")
        out.append("")
    for label, key in (("Accuracy", "accuracy"), ("Macro F1", "macro_f1"), ("Expected calibration error", "ece")):
        text = _metric_text(metrics, key)
        if text:
            out.append(f"- **{label}:** {text}")
    per_class = metrics.get("per_class")
    if isinstance(per_class, list) and per_class:
        title = "Per class (best and worst by F1):" if len(per_class) > 2 * TABLE_EDGE else "Per class:"
        out += ["", title, ""] + _per_class_table(per_class)
    return out + [""]


def _privacy(info: Mapping[str, Any]) -> list[str]:
    """The DP guarantee (when trained with one) and the membership-inference figure."""
    metrics = info.get("metrics") or {}
    dp, mia = metrics.get("privacy"), metrics.get("membership_inference")
    if not dp and not mia:
        return []
    out = ["## Privacy", ""]
    if dp:
        out += [
            f"Trained with differential privacy: ({_g(dp.get('epsilon'))}, {_g(dp.get('delta'))})-DP per training "
            f"row, by {dp.get('mechanism', 'DP-SGD')}.",
            "",
            f"- **Accountant:** {dp.get('accountant')} (ε accounted for the steps run: {_g(dp.get('epsilon_accounted'))})",
            f"- **Noise multiplier:** {_g(dp.get('noise_multiplier'))}; **clipping norm:** {_g(dp.get('max_grad_norm'))}",
            f"- **Sampling rate:** {_g(dp.get('sample_rate'))}; **epochs:** {dp.get('epochs')}; **steps:** {dp.get('steps')}",
            f"- **Features:** {dp.get('features')}",
            "- Not covered: the set of class names (taken from the labels) and the evaluation figures.",
        ]
    else:
        out.append("Trained without differential privacy.")
    if mia:
        ci = mia.get("auc_ci")
        out += ["", f"Membership inference (loss-threshold attack, training rows vs test rows, as many of each per "
                    f"class): ROC AUC {_fmt(mia.get('auc'))}"
                    + (f" (95% interval {_fmt(ci[0])} to {_fmt(ci[1])})" if ci else "")
                    + " (0.5 = the loss says nothing about who was trained on)."]
    return out + [""]


def _known_limits(info: Mapping[str, Any]) -> list[str]:
    train = info.get("train") or {}
    metrics = info.get("metrics") or {}
    params = info.get("params") or {}
    out: list[str] = []
    counts = train.get("label_counts") or {}
    few = sorted((str(k), int(v)) for k, v in counts.items() if isinstance(v, int | float) and v < FEW_EXAMPLES)
    per_class = metrics.get("per_class") if isinstance(metrics.get("per_class"), list) else []
    if not counts:
        few = [(str(r.get("label")), int(r["support"])) for r in per_class if r.get("support", FEW_EXAMPLES) < FEW_EXAMPLES]
        where = "test"
    else:
        where = "training"
    if few:
        out.append(
            f"- Classes with fewer than {FEW_EXAMPLES} {where} examples (their figures are uncertain): "
            + ", ".join(f"`{c}` ({n})" for c, n in few[:20])
        )
    low = [(str(r.get("label")), float(r["f1"])) for r in per_class if isinstance(r.get("f1"), int | float) and r["f1"] < LOW_F1]
    if low:
        out.append(
            f"- Classes with test F1 below {LOW_F1}: "
            + ", ".join(f"`{c}` ({f:.2f})" for c, f in sorted(low, key=lambda x: x[1])[:20])
        )
    langs = _languages(train, info)
    if langs:
        names = ", ".join(sorted(langs, key=lambda k: -langs[k]))
        out.append(f"- Trained on text in: {names}. Expect worse results on other languages.")
    if params.get("max_length"):
        out.append(
            f"- Texts are cut to their first {params['max_length']} tokens; anything later in a text is not read."
        )
    dates = _date_range(train)
    if dates:
        out.append(f"- The training data covers {dates}; later data may drift from it.")
    out.append("- The model only predicts the classes it was trained on; it has no 'none of these' answer.")
    return ["## Known limits", "", *out, ""]


def _how_to_load(info: Mapping[str, Any]) -> list[str]:
    fmt = info.get("format")
    path = info.get("path") or "path/to/this/folder"
    out = ["## How to load", ""]
    if fmt == "transformers":
        out += [
            "The encoder is a plain Hugging Face checkpoint (`config.json` has `id2label`); the classification "
            "head is `head.safetensors` (`weight` (classes x hidden), `bias`), and `datamoat_head.json` says how "
            "to pool (mean over tokens), whether to L2-normalise, and the activation (softmax).",
            "",
            "```python",
            "from datamoat.models.export.hf_export import load_exported",
            "",
            f"classify = load_exported({str(path)!r})",
            "probabilities = classify([\"some text\"])   # (n, classes), columns in classify.labels order",
            "```",
            "",
            "`load_exported` uses transformers and safetensors (onnxruntime for an ONNX encoder) and no datamoat "
            "model classes; the same steps work without datamoat.",
        ]
    elif fmt == "datamoat":
        out += [
            "This is a scikit-learn model saved by datamoat, not a transformers checkpoint "
            "(`config.json` only lists the labels).",
            "",
            "```python",
            "from datamoat.models.trainers.contract import Trainer",
            "",
            f"model = Trainer.load({str(path)!r})",
            "model.predict_proba([\"some text\"])",
            "```",
            "",
            "`model.joblib` is a pickle: loading it runs code, so only load model folders from a source you trust.",
        ]
    else:
        ref = f"{info['name']}@{info['version']}" if info.get("name") and info.get("version") is not None else "name@version"
        out += [
            "From the workspace that holds it:",
            "",
            "```python",
            "from datamoat.models.registry import ModelRegistry",
            "from datamoat.workspace import Workspace",
            "",
            "ws = Workspace.open('.')",
            f"model = ModelRegistry(ws.catalog, ws.state / 'models').load({ref!r})",
            "model.predict_proba([\"some text\"])",
            "```",
        ]
    return out + [""]


def _intended_use(info: Mapping[str, Any]) -> list[str]:
    kind = info.get("kind")
    what = "texts" if kind in TEXT_KINDS or kind is None else "table rows"
    classes = info.get("classes") or []
    into = f" into one of {len(classes)} classes" if classes else ""
    return [
        "## Intended use",
        "",
        f"Sorting {what} like those in the training data{into}, for the team that owns that data. "
        "Check the per-class figures and known limits before relying on a class; route low-probability "
        "predictions to a person.",
        "",
    ]


def model_card(record_or_info: Mapping[str, Any]) -> str:
    """README.md text (YAML front matter + Markdown sections) for the model described by the dict.

    See the module docstring for the keys read; unknown keys are ignored, missing ones skipped.
    """
    info = dict(record_or_info or {})
    title = info.get("name") or info.get("kind") or "datamoat model"
    if info.get("version") is not None and info.get("name"):
        title = f"{info['name']} (version {info['version']})"
    parts = [_front_matter(info), f"# {title}", ""]
    for section in (_description, _training_data, _evaluation, _privacy, _intended_use, _known_limits, _how_to_load):
        parts += section(info)
    return "\n".join(parts).rstrip() + "\n"
