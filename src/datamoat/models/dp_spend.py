"""The privacy budget of a differentially private training: which budgets pay, check, spend.

A model trained with (ε, δ) on dataset version V uses the rows of V, and V's rows came from its
ancestors (a cleaned or split version's lineage points at the version it was made from, often
in another dataset: ``tickets-train`` from ``tickets``). So the training spends (ε, δ) from the
budget (:mod:`datamoat.privacy.dp_ledger`) of V's dataset and of every ancestor dataset that
has one: each of those datasets' rows are in the training data. It is refused when none of them
has a budget, or one of them has too little left.

:func:`check_training_budget` is the early, read-only check (before any training work);
:func:`spend_for_training` spends inside the registration's transaction, under the ledger's
write lock, so the spend and the model's catalog row commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from datamoat.catalog import Catalog
from datamoat.catalog.audit import append_event_in
from datamoat.catalog.tables import datasets, dp_budgets, lineage, versions
from datamoat.errors import DatamoatError
from datamoat.models.trainers.dp_sgd import DP_KINDS, NOT_DP_CAPABLE
from datamoat.privacy.dp_ledger import check_epsilon_delta, check_remaining, read_budget, spend

STATISTIC = "dp_training"
"""What a training's spend is recorded as (``dp_releases.statistic``)."""
RECORDED = ("model", "kind", "train_ref", "accountant", "noise_multiplier", "max_grad_norm", "sample_rate", "epochs",
            "steps")
"""The facts of a training kept with its spend and audit event (the model's info holds all of them)."""


AUTO_REASON = ("with --dp-epsilon, auto trains {kind} without a search: selection scores candidates on the "
               "private rows, which would spend privacy too; only DP-capable kinds are considered "
               "(embed-linear for text, tabular-linear for tables; finetune when named)")


def check_dp_request(model: str, epsilon: float, delta: float | None) -> None:
    """DatamoatError (one sentence) unless ε (and δ when given) are valid and ``model`` can train privately."""
    check_epsilon_delta(epsilon, 0.0 if delta is None else delta, "--dp-")
    if delta is not None and delta == 0:
        raise DatamoatError("--dp-delta must be above 0 for DP-SGD (its Gaussian noise gives (ε, δ)-DP with δ > 0).")
    if model not in ("auto", "same", *DP_KINDS):
        why = NOT_DP_CAPABLE.get(model, "it has no differentially private training")
        raise DatamoatError(f"--dp-epsilon works with model auto, {', '.join(DP_KINDS)}; {model} cannot train "
                            f"privately because {why}.")


def private_kind(model: str, task: str) -> str:
    """The kind a DP training of ``model`` (``auto``: by task, text or tabular) trains."""
    if model != "auto":
        return model
    return "embed-linear" if task == "text" else "tabular-linear"


@dataclass(frozen=True)
class Payer:
    """A dataset whose budget pays: its id and name, and the version of it nearest to V."""

    dataset_id: int
    dataset: str
    version_id: int


def payers(conn: sa.Connection, version_id: int) -> tuple[list[Payer], list[str]]:
    """(the datasets with a budget among V's and its ancestors', the names of all those datasets).

    Walks the lineage breadth-first from ``version_id``; each dataset is represented by the
    first (nearest) of its versions met.
    """
    seen_versions: set[int] = set()
    nearest: dict[int, tuple[str, int]] = {}
    frontier = [version_id]
    while frontier:
        rows = conn.execute(
            sa.select(versions.c.id, versions.c.dataset_id, datasets.c.name)
            .select_from(versions.join(datasets, versions.c.dataset_id == datasets.c.id))
            .where(versions.c.id.in_(frontier))
        ).all()
        for row in sorted(rows, key=lambda r: frontier.index(r.id)):
            nearest.setdefault(row.dataset_id, (row.name, row.id))
        seen_versions.update(frontier)
        parents = conn.execute(sa.select(lineage.c.parent_id).where(lineage.c.child_id.in_(frontier))).scalars()
        frontier = sorted({p for p in parents if p not in seen_versions})
    budgeted = set(conn.execute(
        sa.select(dp_budgets.c.dataset_id).where(dp_budgets.c.dataset_id.in_(list(nearest)))).scalars())
    found = [Payer(ds_id, name, vid) for ds_id, (name, vid) in nearest.items() if ds_id in budgeted]
    return found, [name for name, _ in nearest.values()]


def _no_budget(names: list[str]) -> DatamoatError:
    shown = ", ".join(repr(n) for n in names)
    first = names[-1] if names else "DATASET"
    return DatamoatError(
        f"DP training needs a privacy budget, and none of the datasets its rows come from ({shown}) has one; "
        f"set one first, e.g. `datamoat dp budget {first} --epsilon 10 --delta 1e-5`."
    )


def check_training_budget(catalog: Catalog, version_id: int, epsilon: float, delta: float) -> list[Payer]:
    """The datasets that would pay; DatamoatError (one sentence) when the training would be refused."""
    with catalog.engine.connect() as conn:
        found, names = payers(conn, version_id)
        if not found:
            raise _no_budget(names)
        for payer in found:
            check_remaining(read_budget(conn, payer.dataset_id, payer.dataset), epsilon, delta,
                            f"DP training on dataset {payer.dataset!r}")
    return found


def spend_for_training(conn: sa.Connection, version_id: int, version_ref: str, epsilon: float, delta: float, *,
                       label_column: str, details: dict[str, Any]) -> list[dict[str, Any]]:
    """Spend (ε, δ) from every paying budget and audit ``dp_training``, inside the caller's transaction.

    conn: the registration's write transaction. details: the training's facts (model ref, DP
    settings); their :data:`RECORDED` keys are stored with each spend and in the audit event. Returns one ``{"dataset",
    "spend_id", "epsilon_remaining", "delta_remaining"}`` per paying dataset. Raises
    DatamoatError (one sentence) before writing when a budget is missing or short.
    """
    found, names = payers(conn, version_id)
    if not found:
        raise _no_budget(names)
    details = {k: details[k] for k in RECORDED if k in details}
    out = []
    for payer in found:
        spent = spend(conn, payer.version_id, epsilon, delta, statistic=STATISTIC, column=label_column,
                      details=details, what=f"DP training on dataset {payer.dataset!r}")
        out.append({"dataset": payer.dataset, "spend_id": spent.id,
                    "epsilon_remaining": spent.budget.epsilon_remaining,
                    "delta_remaining": spent.budget.delta_remaining})
    append_event_in(conn, "dp_training", version_ref,
                    {**details, "epsilon": epsilon, "delta": delta, "spends": out})
    return out
