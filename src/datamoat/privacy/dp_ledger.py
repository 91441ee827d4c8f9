"""The per-dataset privacy budget: set it, read what is left, and spend from it.

:func:`set_budget` gives a dataset a total (ε, δ); every spend over any of its versions comes
out of it (basic composition: the ε's and δ's add up). A spend is one ``dp_releases`` row (a
DP statistic from :func:`datamoat.privacy.dp_release.release`, or anything else that uses the
dataset's privacy, such as DP training); what was spent is the sum over those rows.

:func:`spend` works inside a transaction the caller opened, so the spend commits or rolls back
with the caller's other writes (a model registration, a release's audit event): it reads the
budget row with the write lock held (SQLite takes it at ``BEGIN IMMEDIATE``, other databases
``SELECT ... FOR UPDATE`` on the budget row), so two concurrent spends cannot both take the
last of a budget, and a refused spend raises before it writes anything.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from datamoat.catalog import Catalog
from datamoat.catalog.audit import append_event_in
from datamoat.catalog.records import utc_now
from datamoat.catalog.tables import datasets, dp_budgets, dp_releases, versions
from datamoat.errors import DatamoatError

SLACK = 1e-9
"""Relative tolerance when comparing ε/δ (OpenDP's maps round up in the last digits)."""


@dataclass(frozen=True)
class Budget:
    """A dataset's privacy budget: totals, what releases spent, and what remains."""

    dataset: str
    epsilon_total: float
    delta_total: float
    epsilon_spent: float
    delta_spent: float
    releases: int

    @property
    def epsilon_remaining(self) -> float:
        return max(self.epsilon_total - self.epsilon_spent, 0.0)

    @property
    def delta_remaining(self) -> float:
        return max(self.delta_total - self.delta_spent, 0.0)

    def after(self, epsilon: float, delta: float) -> Budget:
        """This budget after one more spend of (``epsilon``, ``delta``)."""
        return Budget(
            self.dataset,
            self.epsilon_total,
            self.delta_total,
            self.epsilon_spent + epsilon,
            self.delta_spent + delta,
            self.releases + 1,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["epsilon_remaining"] = self.epsilon_remaining
        data["delta_remaining"] = self.delta_remaining
        return data


@dataclass(frozen=True)
class Spending:
    """One recorded spend: its ``dp_releases`` id and the dataset's budget after it."""

    id: int
    budget: Budget


def check_epsilon_delta(epsilon: float, delta: float, owner: str = "") -> tuple[float, float]:
    """``(epsilon, delta)`` as floats; DatamoatError unless 0 < ε < inf and 0 <= δ < 1.

    owner: what the numbers belong to, for the message (``"the budget's "``).
    """
    if isinstance(epsilon, bool) or not isinstance(epsilon, int | float) or not (0 < epsilon < math.inf):
        raise DatamoatError(f"{owner}epsilon must be a positive number, got {epsilon!r}.")
    if isinstance(delta, bool) or not isinstance(delta, int | float) or not (0 <= delta < 1):
        raise DatamoatError(f"{owner}delta must be a number in [0, 1), got {delta!r}.")
    return float(epsilon), float(delta)


def set_budget(catalog: Catalog, dataset: str, epsilon: float, delta: float = 0.0) -> Budget:
    """Give ``dataset`` a total privacy budget (replacing an earlier one); audit ``dp_budget``.

    Raises DatamoatError for an unknown dataset, a bad ε/δ, or a total below what releases
    have already spent.
    """
    epsilon, delta = check_epsilon_delta(epsilon, delta, "the budget's ")
    ds = catalog.get_dataset(dataset)
    with catalog.engine.begin() as conn:
        eps_spent, delta_spent, _ = _spent(conn, ds.id)
        if eps_spent > epsilon * (1 + SLACK) or delta_spent > delta * (1 + SLACK) + 1e-15:
            raise DatamoatError(
                f"dataset {dataset!r} has already spent ε={eps_spent:g}, δ={delta_spent:g}; "
                f"a budget of ε={epsilon:g}, δ={delta:g} would be overdrawn."
            )
        exists = conn.execute(
            sa.select(dp_budgets.c.dataset_id).where(dp_budgets.c.dataset_id == ds.id)
        ).first()
        values = {"epsilon_total": epsilon, "delta_total": delta}
        if exists:
            conn.execute(dp_budgets.update().where(dp_budgets.c.dataset_id == ds.id).values(**values))
        else:
            conn.execute(dp_budgets.insert().values(dataset_id=ds.id, created_at=utc_now(), **values))
        append_event_in(conn, "dp_budget", dataset, values)
    return remaining_budget(catalog, dataset)


def remaining_budget(catalog: Catalog, dataset: str) -> Budget:
    """The dataset's budget and what is left; DatamoatError if it has none."""
    ds = catalog.get_dataset(dataset)
    with catalog.engine.connect() as conn:
        return read_budget(conn, ds.id, dataset)


def list_releases(catalog: Catalog, dataset: str) -> list[dict[str, Any]]:
    """Every release (spend) over ``dataset``, oldest first, JSON-ready."""
    ds = catalog.get_dataset(dataset)
    with catalog.engine.connect() as conn:
        rows = conn.execute(
            sa.select(dp_releases).where(dp_releases.c.dataset_id == ds.id).order_by(dp_releases.c.id)
        ).all()
    return [
        {
            "id": r.id,
            "version_id": r.version_id,
            "at": r.at.isoformat(),
            "statistic": r.statistic,
            "column": r.column_name,
            "epsilon": r.epsilon,
            "delta": r.delta,
            "result": json.loads(r.result_json),
        }
        for r in rows
    ]


def read_budget(conn: sa.Connection, dataset_id: int, dataset: str, lock: bool = False) -> Budget:
    """The budget of dataset ``dataset_id`` (named ``dataset`` in messages) as seen by ``conn``.

    lock: take the budget row with ``SELECT ... FOR UPDATE`` (not on SQLite, whose write lock
    is the transaction's). DatamoatError if the dataset has no budget.
    """
    query = sa.select(dp_budgets).where(dp_budgets.c.dataset_id == dataset_id)
    if lock and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise DatamoatError(
            f"dataset {dataset!r} has no privacy budget; set one first (datamoat.privacy.dp_ledger.set_budget)."
        )
    eps_spent, delta_spent, count = _spent(conn, dataset_id)
    return Budget(dataset, float(row.epsilon_total), float(row.delta_total), eps_spent, delta_spent, count)


def check_remaining(budget: Budget, epsilon: float, delta: float, what: str = "release") -> None:
    """DatamoatError (one sentence naming ``what``) if (``epsilon``, ``delta``) exceeds what is left."""
    if epsilon > budget.epsilon_remaining * (1 + SLACK) + 1e-12:
        raise DatamoatError(
            f"{what} needs ε={epsilon:g}, but only ε={budget.epsilon_remaining:g} of the dataset's "
            f"budget of {budget.epsilon_total:g} remains."
        )
    if delta > budget.delta_remaining * (1 + SLACK) + 1e-15:
        raise DatamoatError(
            f"{what} needs δ={delta:g}, but only δ={budget.delta_remaining:g} of the dataset's "
            f"budget of {budget.delta_total:g} remains."
        )


def spend(
    conn: sa.Connection,
    version_id: int,
    epsilon: float,
    delta: float = 0.0,
    *,
    statistic: str,
    column: str,
    details: dict[str, Any] | None = None,
    what: str = "the spend",
) -> Spending:
    """Spend (``epsilon``, ``delta``) of the budget of version ``version_id``'s dataset, in ``conn``.

    conn: a connection inside a write transaction the caller opened (``catalog.engine.begin()``);
    the spend commits or rolls back with it. statistic / column: what used the privacy (a DP
    statistic and its column, or e.g. ``"dp_training"`` and the label column); at most 50 and
    200 characters. details: JSON-ready record of it (stored with the spend). what: names the
    spend in the refusal (``"DP training"``). Raises DatamoatError (one sentence) when the
    dataset has no budget or not enough of it is left; nothing is written then.
    """
    epsilon, delta = check_epsilon_delta(epsilon, delta)
    row = conn.execute(
        sa.select(datasets.c.id, datasets.c.name)
        .select_from(versions.join(datasets, versions.c.dataset_id == datasets.c.id))
        .where(versions.c.id == version_id)
    ).first()
    if row is None:
        raise DatamoatError(f"no dataset version with id {version_id} to spend privacy budget on.")
    budget = read_budget(conn, row.id, row.name, lock=True)
    check_remaining(budget, epsilon, delta, what)
    spend_id = conn.execute(
        dp_releases.insert().values(
            dataset_id=row.id,
            version_id=version_id,
            at=utc_now(),
            statistic=statistic,
            column_name=column,
            epsilon=epsilon,
            delta=delta,
            result_json=json.dumps(details or {}, sort_keys=True),
        )
    ).inserted_primary_key[0]
    return Spending(int(spend_id), budget.after(epsilon, delta))


def _spent(conn: sa.Connection, dataset_id: int) -> tuple[float, float, int]:
    """(ε spent, δ spent, number of spends) of dataset ``dataset_id``."""
    row = conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(dp_releases.c.epsilon), 0.0),
            sa.func.coalesce(sa.func.sum(dp_releases.c.delta), 0.0),
            sa.func.count(dp_releases.c.id),
        ).where(dp_releases.c.dataset_id == dataset_id)
    ).one()
    return float(row[0]), float(row[1]), int(row[2])
