"""The label-issue finder gives the same probabilities whichever task map runs its work.

Its work is cut into tasks (n-gram counting per chunk of texts, one linear model per fold and
class, classes grouped by the map's ``workers``); the cut may change with the map, the result
must not: RayExecutor relies on it for the same version as LocalExecutor."""

from __future__ import annotations

import numpy as np
import pytest
from textgen import flipped_topics

import datamoat.quality.label_issues as label_issues
from datamoat.pipeline.fit_hooks import JoblibTasks, SerialTasks
from datamoat.quality.label_issues import out_of_fold_probabilities


class RecordingTasks(SerialTasks):
    """Serial, but claims ``workers`` (so the finder groups the classes finer) and records each call's items."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.calls: list[int] = []

    def __call__(self, fn, shared, items):
        self.calls.append(len(items))
        return super().__call__(fn, shared, items)


@pytest.mark.parametrize("classes", [2, 5])
def test_same_probabilities_whatever_the_map_and_the_cut(monkeypatch: pytest.MonkeyPatch, classes: int) -> None:
    texts, labels, _ = flipped_topics(n_per_class=30)
    keep = [i for i, lab in enumerate(labels) if lab in "abcde"[:classes]]
    texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    if classes == 5:  # flipped_topics has three topics: make two more from them
        labels = [lab if i % 4 else {"a": "d", "b": "e"}.get(lab, lab) for i, lab in enumerate(labels)]
    base, names = out_of_fold_probabilities(texts, labels, folds=3, tasks=SerialTasks())
    assert len(names) == len(set(labels))
    monkeypatch.setattr(label_issues, "CHUNK_ROWS", 7)  # many counting chunks
    fine = RecordingTasks(workers=4)
    cut, _ = out_of_fold_probabilities(texts, labels, folds=3, tasks=fine)
    chunks = -(-len(texts) // 7)
    assert fine.calls[:2] == [2 * chunks, chunks]  # word and char counting per chunk, then weighing per chunk
    assert fine.calls[2] == (3 if len(names) == 2 else 3 * min(len(names), 6))  # folds x class groups
    assert np.array_equal(base, cut)
    parallel, _ = out_of_fold_probabilities(texts, labels, folds=3, tasks=JoblibTasks(2))
    assert np.array_equal(base, parallel)


def test_ray_tasks_hold_the_matrix_in_the_object_store(ray_session) -> None:
    """On Ray the finder shares its TF-IDF matrix through the object store (the driver keeps no
    copy of its own) and still gives the serial map's probabilities, bit for bit."""
    from datamoat.pipeline.executor_ray import RayTasks

    class SharingRayTasks(RayTasks):
        """RayTasks that records what ``share`` handed back."""

        def __init__(self, workers: int) -> None:
            super().__init__(workers)
            self.handles: list = []

        def share(self, obj):
            handle = super().share(obj)
            self.handles.append(handle)
            return handle

    texts, labels, _ = flipped_topics(n_per_class=30)
    base, _ = out_of_fold_probabilities(texts, labels, folds=3, tasks=SerialTasks())
    tasks = SharingRayTasks(workers=2)
    on_ray, _ = out_of_fold_probabilities(texts, labels, folds=3, tasks=tasks)
    assert np.array_equal(base, on_ray)
    assert len(tasks.handles) == 1
    matrix = ray_session.get(tasks.handles[0].ref)[0]
    assert matrix.shape[0] == len(texts) and not hasattr(tasks.handles[0], "shape")


@pytest.mark.parametrize("classes", [2, 3])
def test_a_fold_task_gives_the_models_of_its_training_rows_alone(classes: int) -> None:
    """The fold task trains on the shared matrix with weight 0 on the held-out rows (no copy of
    the training rows); its scores equal those of models fitted on a copy of the training rows."""
    from sklearn.svm import LinearSVC

    texts, labels, _ = flipped_topics(n_per_class=30)
    keep = [i for i, lab in enumerate(labels) if lab in "abc"[:classes]]
    texts = [texts[i] for i in keep]
    y = np.unique([labels[i] for i in keep], return_inverse=True)[1]
    x = label_issues.text_features(texts)
    rng = np.random.default_rng(0)
    test = np.sort(rng.choice(len(y), size=len(y) // 4, replace=False))
    train = np.setdiff1d(np.arange(len(y)), test)
    got = label_issues._fold_class_scores((x, y, [(train, test)], 0.5, 0, classes == 2), (0, list(range(classes))))
    if classes == 2:
        margin = LinearSVC(C=0.5, random_state=0).fit(x[train], y[train] == 1).decision_function(x[test])
        want = np.column_stack([-margin, margin])
    else:
        want = np.column_stack([LinearSVC(C=0.5, random_state=0).fit(x[train], y[train] == k).decision_function(x[test])
                                for k in range(classes)])
    assert np.array_equal(got, want)


def test_a_fold_task_picks_the_solver_its_training_rows_would() -> None:
    """With more features than training rows but fewer than all rows, LinearSVC's dual="auto"
    picks the dual solver for the training rows alone; the fold task (which passes all rows,
    weighting the held-out ones 0) must pick it too, or its scores differ."""
    import scipy.sparse as sp
    from sklearn.svm import LinearSVC

    rng = np.random.default_rng(1)
    y = np.arange(120) % 3
    x = sp.random(120, 100, density=0.2, random_state=2, format="csr") + sp.csr_matrix(np.eye(3)[y] @ rng.random((3, 100)))
    test = np.arange(0, 120, 4)
    train = np.setdiff1d(np.arange(120), test)
    assert len(train) < x.shape[1] < len(y)
    got = label_issues._fold_class_scores((x, y, [(train, test)], 0.5, 0, False), (0, [0, 1, 2]))
    want = np.column_stack([LinearSVC(C=0.5, random_state=0).fit(x[train], y[train] == k).decision_function(x[test])
                            for k in range(3)])
    assert np.array_equal(got, want)
