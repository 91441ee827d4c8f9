"""``label_issues``: rows whose label disagrees with what the rest of the data says (cleanlab).

How it works (confident learning, Northcutt et al.):

1. :func:`out_of_fold_probabilities` trains a fast text classifier k times (stratified k-fold,
   default 5): TF-IDF of word 1-2 grams and of character 2-5 grams (within word boundaries),
   sublinear tf, then a linear SVM (``LinearSVC``). Each row's class scores come from the model
   that did not see it. The SVM margins become probabilities with one softmax temperature
   fitted to the out-of-fold scores (minimum log loss), which is what calibration needs here
   (cleanlab compares each row's probability with per-class thresholds) at a fifth of the
   cost of ``CalibratedClassifierCV``. 10k tickets take about 10 s on 2 cores.
2. :func:`find_label_issues` passes the probabilities to ``cleanlab.filter.find_label_issues``
   (``filter_by="prune_by_noise_rate"`` by default) and scores every row with
   ``cleanlab.rank.get_label_quality_scores`` (self-confidence: the probability of the given
   label).

A caller with a better model passes its own out-of-fold probabilities: ``pred_probs`` (rows x
classes, aligned with the rows that have a text and a label, or with all rows) and
``classes`` (the label of each column) to :meth:`LabelIssues.run` or to
:func:`find_label_issues`.

Rows with a missing (null or blank) text or label are **not judged**: ``is_issue`` is false,
``score`` is null (no evidence either way, which is not the same as "clean") and
``suggested_label`` is null. They are left to the ``missing_values`` check.

Issue table columns: ``given_label``, ``suggested_label`` (the model's most likely label, for
every judged row), ``suggested_confidence`` (its probability). Summary: the number of judged
rows, cleanlab's estimate of the number of label errors (``estimated_errors``, from the
confident joint) and ``estimated_error_rate``, the out-of-fold accuracy of the model, and per
class: rows, flagged rows, and how often it is the suggested label of a flagged row.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.data.text_limits import MAX_TEXT_CHARS, truncate_texts
from datamoat.errors import DatamoatError
from datamoat.pipeline.fit_hooks import SerialTasks, TaskMap, local_tasks
from datamoat.quality.check import Check, CheckResult, issue_table, register_check, require_role
from datamoat.quality.tfidf_chunks import ChunkCounts, NgramSpec, count_chunk, plan_columns, weigh_chunk

if TYPE_CHECKING:
    import scipy.sparse as sp

log = logging.getLogger(__name__)

FILTER_METHODS: tuple[str, ...] = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
)


# --- features and out-of-fold probabilities ----------------------------------------------------


FEATURE_SPECS: tuple[NgramSpec, ...] = (
    NgramSpec("word", (1, 2)),
    NgramSpec("char_wb", (2, 5), max_features=200_000),
)
"""The finder's features: word 1-2 grams and char 2-5 grams within word boundaries (capped)."""
CHUNK_ROWS = 8_192
"""Texts per counting task (:func:`~datamoat.quality.tfidf_chunks.count_chunk`)."""


def text_features(
    texts: Sequence[str], *, max_features: int | None = 200_000, tasks: TaskMap | None = None
) -> sp.csr_matrix:
    """TF-IDF of word 1-2 grams and char 2-5 grams (``char_wb``), stacked; float64 CSR.

    Each text is read up to its first :data:`~datamoat.data.text_limits.MAX_TEXT_CHARS`
    characters (n-grams grow with the text; the number cut is logged at debug level). Terms
    seen in fewer than 2 texts are dropped (they cannot help another row), unless there are
    fewer than 50 texts. ``max_features`` caps the character vocabulary (the largest).
    tasks: runs the counting of chunks of :data:`CHUNK_ROWS` texts (default: in this process);
    the matrix is the same whatever runs them (:mod:`datamoat.quality.tfidf_chunks`).
    """
    import scipy.sparse as sp

    texts, cut = truncate_texts([str(t) for t in texts])
    if cut:
        log.debug("label-issue features: %d text(s) longer than %d characters were cut to that length",
                  cut, MAX_TEXT_CHARS)
    tasks = tasks or SerialTasks()
    min_df = 2 if len(texts) >= 50 else 1
    specs = [NgramSpec(s.analyzer, s.ngram_range, max_features if s.max_features else None) for s in FEATURE_SPECS]
    chunks = [texts[i : i + CHUNK_ROWS] for i in range(0, len(texts), CHUNK_ROWS)] or [[]]
    counted = tasks(_count_task, None, [(spec, chunk) for spec in specs for chunk in chunks])
    by_spec = [counted[i : i + len(chunks)] for i in range(0, len(counted), len(chunks))]
    planned = [(counts, plan) for spec, counts in zip(specs, by_spec, strict=True)
               if (plan := plan_columns(counts, min_df=min_df, max_features=spec.max_features)) is not None]
    if not planned:
        return sp.csr_matrix((len(texts), 1), dtype=np.float64)
    items = [[(counts[j], plan.columns[j]) for counts, plan in planned] for j in range(len(chunks))]
    shared = [(plan.idf, plan.sublinear) for _, plan in planned]
    return sp.vstack(tasks(_weigh_task, shared, items), format="csr")


def _count_task(_shared: None, item: tuple[NgramSpec, list[str]]) -> ChunkCounts:
    """Task: one chunk's n-gram counts for one spec."""
    return count_chunk(*item)


def _weigh_task(
    shared: list[tuple[np.ndarray, np.ndarray]], item: list[tuple[ChunkCounts, np.ndarray]]
) -> sp.csr_matrix:
    """Task: one chunk's feature rows: its TF-IDF rows per kept spec (``shared``: each spec's idf
    and sublinear table), side by side."""
    import scipy.sparse as sp

    parts = [weigh_chunk(counts, columns, idf, sublinear) for (counts, columns), (idf, sublinear)
             in zip(item, shared, strict=True)]
    return parts[0] if len(parts) == 1 else sp.hstack(parts, format="csr")


def _fold_class_scores(
    shared: tuple[sp.csr_matrix, np.ndarray, list[tuple[np.ndarray, np.ndarray]], float, int, bool],
    item: tuple[int, list[int]],
) -> np.ndarray:
    """Task: decision scores (len(test) x len(classes)) of fold ``item[0]`` for ``item[1]``'s classes.

    One binary LinearSVC per class (the class against the rest: the one-vs-rest scheme a
    multi-class LinearSVC uses), each with the same seed, so a class's scores do not depend on
    which classes share its task. A class absent from the fold's training rows gets NaN; when
    only one class is present, it gets 1.0. With two classes in all (``shared[5]``), the item
    holds both and one model for the second gives both columns (-s, s).
    """
    from sklearn.svm import LinearSVC

    x, y, splits, c, seed, pair = shared
    fold, classes = item
    train, test = splits[fold]
    present = np.unique(y[train])
    # the models see the whole shared matrix with weight 0 on the fold's held-out rows instead
    # of a copy of its training rows: scikit-learn's liblinear drops zero-weight rows when it
    # builds its problem, keeping the others in order, so each model is the one a copy of the
    # training rows gives (bit for bit) without that copy (3.2 GB per task at 1M short texts)
    # training rows (not all rows) choose the solver, as LinearSVC's dual="auto" would on them
    weights = np.zeros(len(y))
    weights[train] = 1.0
    dual = len(train) < x.shape[1]
    if pair and len(present) == 2:
        model = LinearSVC(C=c, dual=dual, random_state=seed).fit(x, y == 1, sample_weight=weights)
        margin = model.decision_function(x[test])
        return np.column_stack([-margin, margin])
    out = np.full((len(test), len(classes)), np.nan)
    if len(present) == 1:
        out[:, [col for col, cls in enumerate(classes) if cls == present[0]]] = 1.0
        return out
    models = {col: LinearSVC(C=c, dual=dual, random_state=seed).fit(x, y == cls, sample_weight=weights)
              for col, cls in enumerate(classes) if cls in present}
    x_test = x[test]  # copied out after the fits: not held next to liblinear's copy of the rows
    for col, model in models.items():
        out[:, col] = model.decision_function(x_test)
    return out


def out_of_fold_probabilities(
    texts: Sequence[str],
    labels: Sequence[Any],
    *,
    folds: int = 5,
    seed: int = 0,
    c: float = 0.5,
    max_features: int | None = 200_000,
    n_jobs: int = 1,
    tasks: TaskMap | None = None,
) -> tuple[np.ndarray, list[Any]]:
    """Out-of-fold class probabilities of a TF-IDF + linear SVM model.

    texts, labels: one per row, no missing values.
    folds: k of the stratified k-fold (lowered to the size of the largest class when smaller;
        a class with fewer rows than folds is still split as well as possible).
    seed: fold assignment and model seed (the same inputs give the same output).
    c: the SVM's regularisation (smaller = smoother).
    n_jobs: without ``tasks``: tasks run in this many joblib processes (1: in this process).
    tasks: what runs the independent work (feature counting per chunk of texts, one model per
        fold and class); the result is the same whichever map runs it.
    Returns ``(probs, classes)``: ``probs[i, j]`` is the probability that row i has label
    ``classes[j]``; ``classes`` are the distinct labels, sorted.
    Raises ValueError when the lengths differ, there are fewer than 2 rows, or no class has 2 rows.
    """
    from scipy.special import softmax
    from sklearn.model_selection import StratifiedKFold

    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if len(texts) < 2:
        raise ValueError("out-of-fold probabilities need at least 2 rows")
    classes_arr, y = np.unique(np.asarray(list(labels), dtype=object).astype(str), return_inverse=True)
    classes = _original_classes(labels, classes_arr)
    k = len(classes)
    if k == 1:
        return np.ones((len(texts), 1)), classes
    if int(np.bincount(y).max()) < 2:
        raise ValueError("out-of-fold probabilities need at least 2 rows in some class")
    tasks = tasks or local_tasks(n_jobs)
    x = text_features(texts, max_features=max_features, tasks=tasks)
    n_splits = max(2, min(folds, int(np.bincount(y).max())))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class has only n members"
        splits = list(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    # the tasks: per fold, the classes cut into enough groups to keep every worker busy (a
    # fold alone leaves workers idle when the folds do not divide among them)
    groups = max(1, min(k, -(-8 * tasks.workers // n_splits))) if tasks.workers > 1 and k > 2 else 1
    items = [(f, [int(i) for i in g]) for f in range(n_splits) for g in np.array_split(np.arange(k), groups)]
    shared = tasks.share((x, y, splits, c, seed, k == 2))
    del x  # on Ray the object store now holds the only copy of the matrix
    results = tasks(_fold_class_scores, shared, items)
    scores = np.full((len(y), k), np.nan)
    for (fold, group), part in zip(items, results, strict=True):
        scores[np.ix_(splits[fold][1], group)] = part
    floor = np.nanmin(scores) - 10.0 if np.isfinite(scores).any() else -10.0
    scores = np.where(np.isnan(scores), floor, scores)
    temperature = _fit_temperature(scores, y)
    return softmax(scores * temperature, axis=1), classes


def _original_classes(labels: Sequence[Any], sorted_str: np.ndarray) -> list[Any]:
    """The original label values in the order of their sorted string forms."""
    first: dict[str, Any] = {}
    for value in labels:
        first.setdefault(str(value), value)
    return [first[s] for s in sorted_str]


def _fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The factor t minimising the log loss of softmax(t * scores) against ``y``."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    rows = np.arange(len(y))

    def loss(t: float) -> float:
        return float(-log_softmax(scores * t, axis=1)[rows, y].mean())

    return float(minimize_scalar(loss, bounds=(0.05, 100.0), method="bounded").x)


# --- cleanlab ---------------------------------------------------------------------------------------


@dataclass
class LabelFindings:
    """What :func:`find_label_issues` found, one entry per judged row.

    is_issue: bool array; quality: label quality score (1 = clean); suggested: index into
    ``classes`` of the most likely label; confidence: its probability; given: index of the
    given label; estimated_errors: cleanlab's estimate of the number of label errors.
    """

    classes: list[Any]
    given: np.ndarray
    is_issue: np.ndarray
    quality: np.ndarray
    suggested: np.ndarray
    confidence: np.ndarray
    estimated_errors: int

    def suggested_labels(self) -> list[Any]:
        return [self.classes[i] for i in self.suggested]


def find_label_issues(
    texts: Sequence[str] | None,
    labels: Sequence[Any],
    *,
    pred_probs: np.ndarray | None = None,
    classes: Sequence[Any] | None = None,
    filter_by: str = "prune_by_noise_rate",
    folds: int = 5,
    seed: int = 0,
    c: float = 0.5,
    n_jobs: int = 1,
    tasks: TaskMap | None = None,
) -> LabelFindings:
    """Flag likely label errors among ``labels`` (no missing values).

    texts: the texts, used only when ``pred_probs`` is None.
    pred_probs, classes: precomputed out-of-fold probabilities (rows x classes) and the label
        of each column (default: the sorted distinct labels). Every given label must be
        among ``classes``.
    filter_by: cleanlab's method, one of :data:`FILTER_METHODS`.
    Without ``pred_probs``, when no class has two rows, nothing is flagged (nothing can be judged).
    """
    import cleanlab

    if filter_by not in FILTER_METHODS:
        raise ValueError(f"filter_by must be one of {', '.join(FILTER_METHODS)}, got {filter_by!r}")
    if pred_probs is None:
        if texts is None:
            raise ValueError("give texts or pred_probs")
        str_labels = [str(v) for v in labels]
        if len(str_labels) < 2 or max(Counter(str_labels).values(), default=0) < 2:
            # out-of-fold estimates need two rows in some class: nothing can be judged
            found = sorted(set(labels), key=str)
            given = np.array([[str(c) for c in found].index(s) for s in str_labels], dtype=np.int64)
            nan = np.full(len(given), np.nan)
            return LabelFindings(classes=found, given=given, is_issue=np.zeros(len(given), dtype=bool),
                                 quality=nan, suggested=given, confidence=nan, estimated_errors=0)
        probs, found_classes = out_of_fold_probabilities(
            texts, labels, folds=folds, seed=seed, c=c, n_jobs=n_jobs, tasks=tasks
        )
    else:
        probs = np.asarray(pred_probs, dtype=float)
        found_classes = list(classes) if classes is not None else sorted(set(labels), key=str)
        if probs.shape != (len(labels), len(found_classes)):
            raise ValueError(
                f"pred_probs has shape {probs.shape}; expected ({len(labels)}, {len(found_classes)})"
            )
        probs = probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-12, None)
    index = {str(v): i for i, v in enumerate(found_classes)}
    unknown = {str(v) for v in labels} - set(index)
    if unknown:
        raise ValueError(f"labels not among the classes: {sorted(unknown)[:5]}")
    given = np.array([index[str(v)] for v in labels], dtype=np.int64)
    n = len(given)
    suggested = probs.argmax(axis=1)
    confidence = probs[np.arange(n), suggested]
    quality = probs[np.arange(n), given]
    present = np.unique(given)
    if len(present) < 2 or n < 2:
        flagged = np.zeros(n, dtype=bool)
        estimated = 0
    else:
        # cleanlab wants every class to be a given label; restrict to the present ones.
        sub = probs[:, present]
        sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-12, None)
        remap = np.full(len(found_classes), -1)
        remap[present] = np.arange(len(present))
        y = remap[given]
        # n_jobs=1: cleanlab would otherwise fork a multiprocessing Pool, and a fork of a
        # threaded process (a server, a joblib worker) can hang on a lock some thread held
        flagged = np.asarray(cleanlab.filter.find_label_issues(y, sub, filter_by=filter_by, n_jobs=1), dtype=bool)
        quality = cleanlab.rank.get_label_quality_scores(y, sub, method="self_confidence")
        estimated = int(cleanlab.count.num_label_issues(y, sub))
    return LabelFindings(
        classes=list(found_classes),
        given=given,
        is_issue=flagged,
        quality=np.asarray(quality, dtype=float),
        suggested=suggested,
        confidence=confidence,
        estimated_errors=estimated,
    )


def judged_mask(texts: pa.Array | pa.ChunkedArray, labels: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Bool array: the row has a text that is not blank and a label that is not null/blank."""
    text = pc.utf8_trim_whitespace(texts.cast(pa.string()))
    has_text = pc.fill_null(pc.greater(pc.utf8_length(text), 0), False)
    has_label = pc.invert(pc.is_null(labels, nan_is_null=True)) if not pa.types.is_null(labels.type) else None
    if has_label is None:
        return np.zeros(len(texts), dtype=bool)
    if pa.types.is_string(labels.type) or pa.types.is_large_string(labels.type):
        blank = pc.equal(pc.utf8_trim_whitespace(labels), "")
        has_label = pc.and_(has_label, pc.invert(pc.fill_null(blank, False)))
    return np.asarray(
        pc.and_(has_text, pc.fill_null(has_label, False)).to_numpy(zero_copy_only=False), dtype=bool
    )


@register_check
class LabelIssues(Check):
    """Flag rows whose label is probably wrong (out-of-fold model + cleanlab).

    text_column, label_column: default to the ``text`` and ``label`` roles.
    folds, seed, c: see :func:`out_of_fold_probabilities`.
    filter_by: cleanlab's filter (:data:`FILTER_METHODS`).
    n_jobs: folds trained in parallel (1 = in this process).
    """

    name = "label_issues"
    max_rows = 10_000  # per-row cost: the profile samples larger data (see Check.max_rows)
    needs = ("text", "label")

    def __init__(
        self,
        *,
        text_column: str | None = None,
        label_column: str | None = None,
        folds: int = 5,
        seed: int = 0,
        c: float = 0.5,
        filter_by: str = "prune_by_noise_rate",
        n_jobs: int = 1,
    ) -> None:
        if filter_by not in FILTER_METHODS:
            raise DatamoatError(
                f"check 'label_issues': filter_by must be one of {', '.join(FILTER_METHODS)}."
            )
        if not isinstance(folds, int) or folds < 2:
            raise DatamoatError(f"check 'label_issues': folds must be at least 2, got {folds!r}.")
        if not c > 0:
            raise DatamoatError(f"check 'label_issues': c must be positive, got {c!r}.")
        self.text_column = text_column
        self.label_column = label_column
        self.folds = folds
        self.seed = seed
        self.c = c
        self.filter_by = filter_by
        self.n_jobs = n_jobs

    def run(
        self,
        table: pa.Table,
        roles: ColumnRoles,
        *,
        pred_probs: np.ndarray | None = None,
        classes: Sequence[Any] | None = None,
    ) -> CheckResult:
        """Judge every row with a text and a label.

        pred_probs: optional out-of-fold probabilities from another model, with one row per
            judged row (rows with text and label, in order) or per table row; ``classes``
            names the columns (default: the sorted distinct labels).
        """
        text_col = self.text_column or require_role(self.name, roles, "text", table)
        label_col = self.label_column or require_role(self.name, roles, "label", table)
        for col in (text_col, label_col):
            if col not in table.column_names:
                raise DatamoatError(f"check {self.name!r}: no column {col!r} in the data.")
        texts_arr, labels_arr = table.column(text_col), table.column(label_col)
        mask = judged_mask(texts_arr, labels_arr)
        idx = np.flatnonzero(mask)
        n = table.num_rows
        labels_all = labels_arr.to_pylist()
        given_col = pa.array([None if v is None else str(v) for v in labels_all], pa.string())
        if pred_probs is not None and len(pred_probs) == n and len(idx) != n:
            pred_probs = np.asarray(pred_probs)[idx]
        texts = [texts_arr[int(i)].as_py() for i in idx] if len(idx) < n else texts_arr.to_pylist()
        labels = [labels_all[i] for i in idx]
        is_issue = np.zeros(n, dtype=bool)
        score = np.full(n, np.nan)
        suggested: list[str | None] = [None] * n
        confidence = np.full(n, np.nan)
        summary: dict[str, Any] = {"judged": int(len(idx)), "not_judged": int(n - len(idx))}
        counts = Counter(map(str, labels))
        # out-of-fold estimates need a class with >= 2 rows (a fold to train on and one to judge)
        enough = len(counts) >= 2 and max(counts.values()) >= 2
        if len(idx) >= 2 and (enough or pred_probs is not None):
            found = find_label_issues(
                texts,
                labels,
                pred_probs=pred_probs,
                classes=classes,
                filter_by=self.filter_by,
                folds=self.folds,
                seed=self.seed,
                c=self.c,
                n_jobs=self.n_jobs,
            )
            is_issue[idx] = found.is_issue
            score[idx] = found.quality
            confidence[idx] = found.confidence
            names = [str(v) for v in found.classes]
            for row, s in zip(idx, found.suggested, strict=True):
                suggested[row] = names[s]
            summary.update(_summary(found, names))
        else:
            summary.update({"estimated_errors": 0, "estimated_error_rate": 0.0, "per_class": {}})
            if len(idx) >= 2 and not enough and len(counts) >= 2:
                summary["note"] = "not judged: every class has one row, and out-of-fold estimates need two in some class"
        issues = issue_table(
            table.column(ROW_ID_COLUMN),
            is_issue,
            score,
            given_label=given_col,
            suggested_label=pa.array(suggested, pa.string()),
            suggested_confidence=pa.array(confidence, pa.float64(), from_pandas=True),
        )
        return CheckResult(self.name, issues, summary)


def _summary(found: LabelFindings, names: list[str]) -> dict[str, Any]:
    """Dataset-level figures: estimated error rate, model accuracy, per-class counts."""
    n = len(found.given)
    k = len(names)
    rows = np.bincount(found.given, minlength=k)
    flagged = np.bincount(found.given[found.is_issue], minlength=k)
    suggested_for = np.bincount(found.suggested[found.is_issue], minlength=k)
    return {
        "estimated_errors": found.estimated_errors,
        "estimated_error_rate": found.estimated_errors / n if n else 0.0,
        "model_accuracy": float((found.suggested == found.given).mean()) if n else 0.0,
        "per_class": {
            names[j]: {
                "rows": int(rows[j]),
                "flagged": int(flagged[j]),
                "suggested_for_flagged": int(suggested_for[j]),
            }
            for j in range(k)
        },
    }
