"""Drift checks: input text (domain classifier), predicted labels, and confidence.

Each function compares a *reference* sample (what the model was built and tested on) with a
*current* one (what it sees in production) and returns a JSON-ready dict with
``status`` (``ok`` | ``alert`` | ``insufficient_data``), ``drift`` (bool), the figures, and
the threshold that was applied. None of them reads the catalog: :mod:`datamoat.monitor.report`
gathers the samples.

Methods follow Evidently's default drift algorithm (docs.evidentlyai.com, "Data drift
algorithm"), written out here:

* **Text** — a *domain classifier*: a model trained to tell reference rows (label 0) from
  current rows (label 1). If it cannot (cross-validated ROC-AUC near 0.5) the two samples
  look alike; the better it does, the more the text has changed. Evidently flags drift above
  ROC-AUC 0.55 for large samples and, for small ones (<= 1000 rows), above the 95th percentile
  of a random classifier's ROC-AUC. We do both and add a permutation baseline (the same
  classifier refitted on shuffled domain labels), because on a few dozen rows the classifier's
  own chance-level AUC spreads far above 0.55 and a fixed threshold gives false alarms.
* **Predicted labels** — Jensen-Shannon distance (base 2, so in [0, 1]) between the current
  predicted-label distribution and the reference label distribution, with Evidently's 0.1
  threshold, plus a chi-square goodness-of-fit test; on small samples the threshold is raised
  to the 95th percentile of the distance that sampling alone gives (see :func:`label_drift`).
* **Confidence** — two-sample Kolmogorov-Smirnov test of the top-class probabilities, alerting
  only when the change is significant *and* the mean confidence fell by a material amount.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

RANDOM_CLASSIFIER_DRAWS = 1000
"""Random score vectors drawn for the random-classifier ROC-AUC baseline (as Evidently does)."""
LABEL_NULL_DRAWS = 500
"""Multinomial samples drawn for the sampling-noise baseline of the Jensen-Shannon distance."""
TOP_TERMS = 10


# ---------------------------------------------------------------------- helpers
def clean_texts(texts: Sequence[str | None]) -> list[str]:
    """The non-empty strings of ``texts`` (None, NaN and blank entries dropped)."""
    out = []
    for t in texts:
        if isinstance(t, str) and t.strip():
            out.append(t)
    return out


def sample(items: Sequence[Any], k: int, seed: int) -> list[Any]:
    """At most ``k`` items drawn without replacement with ``seed`` (all of them, in order, if fewer)."""
    if len(items) <= k:
        return list(items)
    idx = np.sort(np.random.default_rng(seed).choice(len(items), size=k, replace=False))
    return [items[i] for i in idx]


def random_classifier_auc_p95(n_reference: int, n_current: int, seed: int, draws: int = RANDOM_CLASSIFIER_DRAWS) -> float:
    """95th percentile of the ROC-AUC of random scores on ``n_reference`` + ``n_current`` rows.

    A random score ranks the rows in a uniformly random order; the AUC is the Mann-Whitney
    statistic of the current rows' ranks: ``(sum of their ranks - n1(n1+1)/2) / (n0 n1)``.
    """
    n0, n1 = int(n_reference), int(n_current)
    rng = np.random.default_rng(seed)
    ranks = np.argsort(rng.random((draws, n0 + n1)), axis=1) + 1  # a random permutation of 1..N per draw
    rank_sums = ranks[:, :n1].sum(axis=1, dtype=np.float64)
    aucs = (rank_sums - n1 * (n1 + 1) / 2.0) / (n0 * n1)
    return float(np.percentile(aucs, 95))


def null_p95_bound(values: Sequence[float]) -> float | None:
    """An estimate of the 95th percentile of a null distribution from a few draws of it.

    With r >= 3 draws: the one-sided 95% *prediction* bound for one more draw under a normal
    model, ``mean + t(0.95, r-1) * sd * sqrt(1 + 1/r)``; a new null value exceeds it 5% of the
    time, whereas the empirical 95th percentile of five draws is about their maximum and is
    exceeded far more often. With 1-2 draws: their maximum. None without draws.
    """
    if not len(values):
        return None
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 3:
        return float(v.max())
    from scipy.stats import t

    r = len(v)
    return float(v.mean() + t.ppf(0.95, r - 1) * v.std(ddof=1) * np.sqrt(1.0 + 1.0 / r))


def _insufficient(reason: str, **fields: Any) -> dict[str, Any]:
    return {"status": "insufficient_data", "drift": False, "reason": reason, **fields}


# ---------------------------------------------------------------------- text drift
def text_drift(
    reference_texts: Sequence[str | None],
    current_texts: Sequence[str | None],
    *,
    threshold: float = 0.55,
    seed: int = 0,
    max_rows: int = 2000,
    min_rows: int = 30,
    permutations: int = 10,
    small_sample: int = 1000,
    folds: int = 5,
) -> dict[str, Any]:
    """Has the input text changed? A domain classifier's cross-validated ROC-AUC.

    reference_texts / current_texts: raw strings (blank ones are dropped); at most ``max_rows``
    are sampled from each side with ``seed``. The classifier: TF-IDF of word 1-2 grams
    (sublinear tf) + logistic regression, scored by stratified k-fold ROC-AUC (mean over
    ``folds`` folds, fewer when a side is tiny) with reference = 0 and current = 1. The
    vectoriser is fitted once on all sampled rows: it never sees the domain labels, so this
    leaks nothing, and the refits below stay cheap.

    Decision: ``drift`` when AUC > ``effective_threshold``. For large samples (both sides more
    than ``small_sample`` rows) that is ``threshold``. For small samples it is
    ``max(threshold, baseline p95)``, where the baseline p95 is the larger of the random
    classifier's 95th-percentile AUC (Evidently) and the 95th percentile of this classifier's
    own AUC on shuffled domain labels, estimated from ``permutations`` refits with
    :func:`null_p95_bound`. The permutation baseline matters: a cross-validated classifier's
    chance-level AUC spreads wider than a random classifier's (on 300 + 100 template sentences
    from one generator, sd 0.047 against 0.033), so the random baseline alone alarms on about
    one same-distribution window in eight.

    Returns: status, drift, auc, auc_folds, folds, threshold, effective_threshold, baseline
    {random_p95, permutation_aucs, permutation_p95, p95} (None for large samples),
    n_reference / n_current (rows used), top_terms (n-grams most typical of the current
    texts: [{term, weight, current_share, reference_share}], weight = the logistic
    coefficient, shares = fraction of rows containing it), reference_terms (the opposite).
    Fewer than ``min_rows`` usable rows on a side -> status insufficient_data.
    """
    ref = sample(clean_texts(reference_texts), max_rows, seed)
    cur = sample(clean_texts(current_texts), max_rows, seed + 1)
    base = {"threshold": float(threshold), "n_reference": len(ref), "n_current": len(cur),
            "method": "domain classifier: tf-idf word 1-2 grams + logistic regression, stratified k-fold ROC-AUC"}
    if len(ref) < min_rows or len(cur) < min_rows:
        return _insufficient(f"needs {min_rows} non-empty texts on each side; has {len(ref)} reference and "
                             f"{len(cur)} current", auc=None, **base)

    from sklearn.feature_extraction.text import TfidfVectorizer

    y = np.concatenate([np.zeros(len(ref), dtype=int), np.ones(len(cur), dtype=int)])
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    try:
        X = vectorizer.fit_transform(ref + cur)
    except ValueError:  # every text is stop-words / punctuation: no vocabulary at all
        return _insufficient("the texts contain no words to compare", auc=None, **base)

    k = max(2, min(folds, len(ref), len(cur)))
    fold_aucs = _cv_auc(X, y, k, seed)
    auc = float(np.mean(fold_aucs))
    small = min(len(ref), len(cur)) <= small_sample
    baseline = None
    effective = float(threshold)
    if small:
        rng = np.random.default_rng(seed + 2)
        perm = [float(np.mean(_cv_auc(X, rng.permutation(y), k, seed))) for _ in range(max(0, permutations))]
        random_p95 = random_classifier_auc_p95(len(ref), len(cur), seed)
        perm_p95 = null_p95_bound(perm)
        p95 = max(random_p95, perm_p95 if perm_p95 is not None else 0.0)
        baseline = {"random_p95": round(random_p95, 4), "permutation_aucs": [round(a, 4) for a in perm],
                    "permutation_p95": None if perm_p95 is None else round(perm_p95, 4), "p95": round(p95, 4)}
        effective = max(effective, p95)
    drift = auc > effective
    current_terms, reference_terms = _telling_terms(X, y, vectorizer.get_feature_names_out())
    return {
        "status": "alert" if drift else "ok", "drift": bool(drift), "auc": round(auc, 4),
        "auc_folds": [round(float(a), 4) for a in fold_aucs], "folds": k, **base,
        "effective_threshold": round(effective, 4), "small_sample": small, "baseline": baseline,
        "top_terms": current_terms, "reference_terms": reference_terms,
    }


def _classifier() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, solver="liblinear", max_iter=1000)


def _cv_auc(X: Any, y: np.ndarray, k: int, seed: int) -> list[float]:
    """ROC-AUC of the domain classifier on each of ``k`` stratified folds."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    out = []
    for train, test in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        clf = _classifier().fit(X[train], y[train])
        out.append(float(roc_auc_score(y[test], clf.decision_function(X[test]))))
    return out


def _telling_terms(X: Any, y: np.ndarray, names: np.ndarray) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The n-grams with the largest positive (current) and negative (reference) weights of a
    domain classifier fitted on every row, with the share of rows on each side containing them."""
    clf = _classifier().fit(X, y)
    coef = clf.coef_[0]
    present = X > 0
    cur_share = np.asarray(present[y == 1].mean(axis=0)).ravel()
    ref_share = np.asarray(present[y == 0].mean(axis=0)).ravel()

    def pick(order: np.ndarray, sign: float) -> list[dict[str, Any]]:
        out = []
        for j in order[:TOP_TERMS]:
            if sign * coef[j] <= 0:
                break
            out.append({"term": str(names[j]), "weight": round(float(coef[j]), 4),
                        "current_share": round(float(cur_share[j]), 4), "reference_share": round(float(ref_share[j]), 4)})
        return out

    return pick(np.argsort(-coef, kind="stable"), 1.0), pick(np.argsort(coef, kind="stable"), -1.0)


# ---------------------------------------------------------------------- label drift
def label_drift(
    reference_counts: Mapping[str, int],
    current_counts: Mapping[str, int],
    *,
    threshold: float = 0.1,
    min_rows: int = 30,
    seed: int = 0,
    null_draws: int = LABEL_NULL_DRAWS,
) -> dict[str, Any]:
    """Has the predicted-label distribution moved away from the reference label distribution?

    reference_counts: rows per label in the reference (the training data's labels).
    current_counts: predictions per label in the window.

    ``js_distance``: Jensen-Shannon distance, base 2 (0 = identical, 1 = disjoint), of the two
    proportion vectors over the union of labels. ``chi2`` / ``p_value``: chi-square
    goodness-of-fit of the current counts against the reference proportions, with add-one
    smoothing of the reference counts so that a label the reference never had gets a small,
    non-zero expectation instead of an infinite statistic.

    Decision: ``drift`` when the distance > ``effective_threshold = max(threshold, null_p95)``,
    where ``null_p95`` is the 95th percentile of the distance between the reference
    proportions and ``null_draws`` multinomial samples of the current size drawn from them:
    the distance that sampling noise alone produces. With many labels and few predictions
    (77 intents, 300 predictions) that noise alone exceeds 0.1, so a fixed threshold would
    alarm on every small window; with thousands of predictions the threshold is ``threshold``.

    Returns: status, drift, js_distance, threshold, null_p95, effective_threshold, chi2,
    p_value, dof, n_reference, n_current, largest_changes ([{label, reference, current,
    change}] proportions, the 10 largest absolute changes), new_labels (in current, not in
    reference). Fewer than ``min_rows`` current predictions -> insufficient_data.
    """
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import chisquare

    labels = sorted(set(map(str, reference_counts)) | set(map(str, current_counts)))
    ref = np.array([float(reference_counts.get(lab, 0)) for lab in labels])
    cur = np.array([float(current_counts.get(lab, 0)) for lab in labels])
    base = {"threshold": float(threshold), "n_reference": int(ref.sum()), "n_current": int(cur.sum())}
    if ref.sum() <= 0:
        return _insufficient("the reference has no labels", js_distance=None, **base)
    if cur.sum() < min_rows:
        return _insufficient(f"needs {min_rows} current predictions; has {int(cur.sum())}", js_distance=None, **base)
    p, q = ref / ref.sum(), cur / cur.sum()
    js = float(jensenshannon(p, q, base=2))
    smoothed = ref + 1.0
    expected = smoothed / smoothed.sum() * cur.sum()
    chi = chisquare(cur, expected) if len(labels) > 1 else None
    draws = np.random.default_rng(seed).multinomial(int(cur.sum()), p, size=null_draws) / cur.sum()
    null = jensenshannon(np.broadcast_to(p, draws.shape), draws, base=2, axis=1)
    null_p95 = float(np.percentile(np.nan_to_num(null), 95))
    effective = max(float(threshold), null_p95)
    drift = js > effective
    change = q - p
    order = np.argsort(-np.abs(change), kind="stable")[:10]
    return {
        "status": "alert" if drift else "ok", "drift": bool(drift), "js_distance": round(js, 4), **base,
        "null_p95": round(null_p95, 4), "effective_threshold": round(effective, 4),
        "chi2": None if chi is None else round(float(chi.statistic), 4),
        "p_value": None if chi is None else float(chi.pvalue), "dof": len(labels) - 1,
        "largest_changes": [{"label": labels[i], "reference": round(float(p[i]), 4), "current": round(float(q[i]), 4),
                             "change": round(float(change[i]), 4)} for i in order if change[i] != 0],
        "new_labels": [lab for lab, r, c in zip(labels, ref, cur, strict=True) if r == 0 and c > 0],
    }


# ---------------------------------------------------------------------- confidence drift
def confidence_drift(
    reference_scores: Sequence[float] | np.ndarray,
    current_scores: Sequence[float] | np.ndarray,
    *,
    p_threshold: float = 0.01,
    drop_threshold: float = 0.05,
    min_rows: int = 30,
) -> dict[str, Any]:
    """Has the model become less sure of itself? KS test + fall of the mean confidence.

    reference_scores: top-class probabilities (0..1) on the frozen test set.
    current_scores: top-class probabilities of the predictions in the window.

    Decision: ``drift`` when the two-sample Kolmogorov-Smirnov p-value < ``p_threshold`` AND
    ``mean_drop = reference_mean - current_mean`` > ``drop_threshold``. The KS test alone
    flags any change, including harmless ones (more confident, or a slightly different shape
    on a large sample); the mean drop keeps the alert to what matters: a model that is
    clearly less sure than it was when it was tested.

    Returns: status, drift, ks_statistic, p_value, reference_mean, current_mean, mean_drop,
    p_threshold, drop_threshold, reference_quantiles / current_quantiles (10th, 50th, 90th
    percentiles), n_reference, n_current. Fewer than ``min_rows`` finite scores on a side ->
    insufficient_data.
    """
    from scipy.stats import ks_2samp

    ref = np.asarray(reference_scores, dtype=np.float64)
    cur = np.asarray(current_scores, dtype=np.float64)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    base = {"p_threshold": float(p_threshold), "drop_threshold": float(drop_threshold),
            "n_reference": int(len(ref)), "n_current": int(len(cur))}
    if len(ref) < min_rows or len(cur) < min_rows:
        return _insufficient(f"needs {min_rows} scores on each side; has {len(ref)} reference and {len(cur)} current",
                             p_value=None, mean_drop=None, **base)
    test = ks_2samp(ref, cur)
    drop = float(ref.mean() - cur.mean())
    p_value = float(test.pvalue)
    drift = p_value < p_threshold and drop > drop_threshold
    return {
        "status": "alert" if drift else "ok", "drift": bool(drift),
        "ks_statistic": round(float(test.statistic), 4), "p_value": p_value,
        "reference_mean": round(float(ref.mean()), 4), "current_mean": round(float(cur.mean()), 4),
        "mean_drop": round(drop, 4), **base,
        "reference_quantiles": [round(float(v), 4) for v in np.percentile(ref, [10, 50, 90])],
        "current_quantiles": [round(float(v), 4) for v in np.percentile(cur, [10, 50, 90])],
    }

