"""The record of every retrain: the ``flywheel_decisions`` table, read and written.

A decision row says what a retrain trained on (the cleaned training version), what it was
tested on (the champion's frozen test version), how champion and challenger compared (both
accuracies with intervals, the difference, McNemar's p-value, the paired-bootstrap interval)
and whether the challenger was promoted. :func:`record_decision` writes the row, moves the
aliases when promoting and appends the audit event in ONE transaction, so a decision that
says "promoted" always goes with the champion alias pointing at the challenger, and vice versa.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from datamoat.catalog import Catalog
from datamoat.catalog.audit import append_event_in
from datamoat.catalog.records import as_utc, dumps, json_ready, utc_now
from datamoat.catalog.tables import flywheel_decisions, model_aliases

AUDIT_ACTION = "retrain"
_RETRIES = 5
PREVIOUS_ALIAS = "previous"
"""The alias the replaced champion gets when a challenger is promoted."""


@dataclass(frozen=True)
class RetrainDecision:
    """One retrain's outcome.

    id / at: the decision row and its time (UTC). model_name: the model retrained.
    promoted: True when the challenger became the champion. reason: one sentence why.
    champion_id / challenger_id: model ids (the champion at the start of the retrain).
    train_version_id / test_version_id: the cleaned training version and the frozen test version.
    feedback_rows: feedback records that went into the training version.
    figures: JSON-ready figures (see :func:`datamoat.flywheel.retrain.retrain`).
    """

    id: int
    at: datetime
    model_name: str
    promoted: bool
    reason: str
    champion_id: int | None
    challenger_id: int | None
    train_version_id: int | None
    test_version_id: int | None
    feedback_rows: int
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def champion_ref(self) -> str | None:
        """``name@ordinal`` of the champion the challenger was compared with."""
        return (self.figures.get("champion") or {}).get("ref")

    @property
    def challenger_ref(self) -> str | None:
        """``name@ordinal`` of the challenger."""
        return (self.figures.get("challenger") or {}).get("ref")

    @property
    def report(self) -> str | None:
        """Path of the comparison report (HTML)."""
        return self.figures.get("report")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id, "at": self.at.isoformat(), "model_name": self.model_name, "promoted": self.promoted,
            "reason": self.reason, "champion_id": self.champion_id, "challenger_id": self.challenger_id,
            "champion": self.champion_ref, "challenger": self.challenger_ref,
            "train_version_id": self.train_version_id, "test_version_id": self.test_version_id,
            "feedback_rows": self.feedback_rows, "report": self.report, "figures": self.figures,
        }


def record_decision(
    catalog: Catalog,
    *,
    model_name: str,
    promoted: bool,
    reason: str,
    champion_id: int | None,
    challenger_id: int | None,
    train_version_id: int | None,
    test_version_id: int | None,
    feedback_rows: int,
    figures: dict[str, Any],
) -> RetrainDecision:
    """Write one decision; when ``promoted``, also point ``champion`` at the challenger and
    ``previous`` at the old champion. The audit event (action ``retrain``) is in the same
    transaction. Returns the stored decision."""
    figures = json_ready(figures)
    for _ in range(_RETRIES):
        at = utc_now()
        try:
            with catalog.engine.begin() as conn:
                decision_id = _write(conn, at, model_name, promoted, reason, champion_id, challenger_id,
                                     train_version_id, test_version_id, feedback_rows, figures)
            break
        except IntegrityError:
            continue  # another writer appended to the audit chain first (non-SQLite databases)
    else:
        raise RuntimeError(f"could not record the retrain decision of {model_name!r} after {_RETRIES} attempts")
    return RetrainDecision(decision_id, at, model_name, promoted, reason, champion_id, challenger_id,
                           train_version_id, test_version_id, feedback_rows, figures)


def _write(conn: sa.Connection, at: datetime, model_name: str, promoted: bool, reason: str,
           champion_id: int | None, challenger_id: int | None, train_version_id: int | None,
           test_version_id: int | None, feedback_rows: int, figures: dict[str, Any]) -> int:
    """The writes of :func:`record_decision`, inside the caller's transaction; returns the row id."""
    if promoted and challenger_id is not None:
        moves = [("champion", challenger_id)]
        if champion_id is not None:
            moves.append((PREVIOUS_ALIAS, champion_id))
        for alias, model_id in moves:
            conn.execute(sa.delete(model_aliases).where(
                sa.and_(model_aliases.c.name == model_name, model_aliases.c.alias == alias)))
            conn.execute(model_aliases.insert().values(name=model_name, alias=alias, model_id=model_id,
                                                       updated_at=at))
        # the promoted model is no longer a challenger
        conn.execute(sa.delete(model_aliases).where(sa.and_(
            model_aliases.c.name == model_name, model_aliases.c.alias == "challenger",
            model_aliases.c.model_id == challenger_id)))
    decision_id = int(conn.execute(flywheel_decisions.insert().values(
        at=at, model_name=model_name, champion_id=champion_id, challenger_id=challenger_id,
        train_version_id=train_version_id, test_version_id=test_version_id, feedback_rows=feedback_rows,
        promoted=promoted, reason=reason, figures_json=dumps(figures),
    )).inserted_primary_key[0])
    append_event_in(conn, AUDIT_ACTION, model_name, {
        "decision_id": decision_id, "promoted": promoted, "champion_id": champion_id,
        "challenger_id": challenger_id, "train_version_id": train_version_id,
        "feedback_rows": feedback_rows, "reason": reason,
    })
    return decision_id


def list_decisions(catalog: Catalog, model_name: str | None = None, *, limit: int | None = None) -> list[RetrainDecision]:
    """Decisions (of ``model_name``, or all), newest first; at most ``limit`` when given."""
    query = sa.select(flywheel_decisions).order_by(flywheel_decisions.c.id.desc())
    if model_name is not None:
        query = query.where(flywheel_decisions.c.model_name == model_name)
    if limit is not None:
        query = query.limit(limit)
    with catalog.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        RetrainDecision(
            id=r.id, at=as_utc(r.at), model_name=r.model_name, promoted=bool(r.promoted), reason=r.reason,
            champion_id=r.champion_id, challenger_id=r.challenger_id, train_version_id=r.train_version_id,
            test_version_id=r.test_version_id, feedback_rows=r.feedback_rows, figures=json.loads(r.figures_json),
        )
        for r in rows
    ]
