"""The rules that turn human answers into a record's status: pure functions, no database.

Record statuses: ``pending`` (needs a label: in the annotation queue), ``review`` (a label that
contradicts a confident prediction, or annotators who disagree: in the queue, not in training),
``ready`` (has a final label; goes into the next retrain), ``discarded`` (never used for training).

Two kinds of answers:

* **feedback** (:func:`feedback_status`, from ``/v1/feedback``): a user's label and/or vote on
  a prediction. A label equal to the suggestion, or a vote "up", makes the record ``ready``; a
  different label against a suggestion scored >= ``confident_score`` goes to ``review``; any
  other label is ``ready``; a vote "down" without a label leaves it ``pending``. When several
  users gave feedback on one prediction they must agree, otherwise it goes to ``review``.
* **annotation** (:func:`annotation_status`, from the annotation queue): a pending record
  resolves when it has ``annotators_per_item`` submitted labels (all equal -> ``ready``, else
  ``review``); a review record resolves with the first submitted label of an annotator who had
  not answered it before (a fresh pair of eyes breaks the tie or confirms the correction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

STATUSES = ("pending", "review", "ready", "discarded")
RESPONSE_STATUSES = ("draft", "submitted", "discarded")
VOTES = ("up", "down")
STRATEGIES = ("least_confidence", "margin")


@dataclass(frozen=True)
class Answer:
    """One stored response: who, the label it stands for (None for a bare "down" vote), the vote, its status."""

    user: str
    label: str | None
    vote: str | None
    status: str


@dataclass(frozen=True)
class Outcome:
    """A record's new status, its final label (for ready records) and why, in one sentence."""

    status: str
    final_label: str | None
    reason: str


def uncertainty(strategy: str, score: float | None, margin: float | None = None) -> float:
    """How unsure the model was, 0 (certain) to 1.

    least_confidence: 1 - top score. margin: 1 - (top score - second score). When the margin is
    not known (text-only feedback with a suggested label and score only) it is taken as
    ``2 * score - 1``, the largest margin that top score allows (second <= 1 - top). No score
    at all: 1.0 (nothing known, most uncertain).
    """
    if score is None:
        return 1.0
    if strategy == "margin":
        m = margin if margin is not None else max(0.0, 2.0 * score - 1.0)
        value = 1.0 - m
    else:
        value = 1.0 - score
    return min(1.0, max(0.0, float(value)))


def feedback_status(
    answers: Sequence[Answer],
    suggestion_label: str | None,
    suggestion_score: float | None,
    confident_score: float,
    has_text: bool = True,
) -> Outcome:
    """The status of a record after feedback, from all its submitted answers (see module docstring).

    A record whose prediction has no stored text (text logging off) can never be trained on or
    annotated: it is ``discarded``, keeping the agreed label as final label so live accuracy can
    still count it.
    """
    submitted = [a for a in answers if a.status == "submitted"]
    labels = [a.label for a in submitted if a.label]
    down = any(a.vote == "down" and not a.label for a in submitted)
    agreed = labels[0] if labels and len(set(labels)) == 1 else None
    if not has_text:
        return Outcome("discarded", agreed, "the prediction's text was not logged, so it cannot be used for training")
    if not labels:
        return Outcome("pending", None, "the prediction was marked wrong without a label; it waits in the annotation queue")
    if agreed is None:
        return Outcome("review", None, f"users gave different labels ({', '.join(sorted(set(labels)))})")
    if down and agreed == suggestion_label:
        return Outcome("review", None, f"one user confirmed {agreed!r} and another marked it wrong")
    if (suggestion_label is not None and agreed != suggestion_label and suggestion_score is not None
            and suggestion_score >= confident_score):
        return Outcome("review", None, f"the label contradicts a confident prediction ({suggestion_label!r}, "
                                       f"score {suggestion_score:.2f}); it goes to label-issue review first")
    return Outcome("ready", agreed, "labelled; it goes into the next retrain")


def annotation_status(
    current_status: str, answers: Sequence[Answer], annotators_per_item: int, fresh_user: str | None
) -> Outcome | None:
    """The status after an annotator's answer, or None when the record stays as it is.

    current_status: pending or review. answers: all responses of the record (in answer order),
    the new one included. fresh_user: the user who just answered when they had not submitted or
    discarded this record before (None otherwise).
    """
    by_user = {a.user: a for a in answers}
    submitted = [a.label for a in answers if a.status == "submitted" and a.label]
    if current_status == "review":
        mine = by_user.get(fresh_user) if fresh_user is not None else None
        if mine is None:
            return _review_recheck(submitted)
        if mine.status == "discarded":
            return Outcome("discarded", None, f"{fresh_user} discarded it in review")
        if mine.status == "submitted" and mine.label:
            return Outcome("ready", mine.label, f"resolved in review by {fresh_user}")
        return None
    discarded = sum(1 for a in answers if a.status == "discarded")
    if discarded >= annotators_per_item and not submitted:
        return Outcome("discarded", None, f"{discarded} annotators discarded it")
    if len(submitted) < annotators_per_item:
        return None
    if len(set(submitted)) == 1:
        return Outcome("ready", submitted[0], f"{len(submitted)} annotators agreed")
    return Outcome("review", None, f"annotators disagree ({', '.join(sorted(set(submitted)))})")


def _review_recheck(submitted: list[str]) -> Outcome | None:
    """A review record re-answered by someone who had answered before: ready only once two or more
    submitted labels all agree (nobody resolves their own disagreement alone)."""
    if len(submitted) >= 2 and len(set(submitted)) == 1:
        return Outcome("ready", submitted[0], "the annotators now agree")
    return None
