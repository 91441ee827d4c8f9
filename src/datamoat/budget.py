"""Time budgets: ``--budget 10m`` parsed once at the edge, then one :class:`Deadline` everywhere.

A command parses the user's budget when it starts (:func:`parse_budget` raises a one-sentence
:class:`~datamoat.errors.DatamoatError` for ``10min`` before anything is written) and turns it
into a :class:`Deadline` that is passed down: model selection, the winner's refit, fine-tuning's
``max_seconds``, the learning curve and a retrain all read the same clock, so the budget is a
promise a user can plan with. Work that is estimated not to fit in what is left is not started
(and is reported with its estimate); work already running may overrun by at most one unit
(one fold, one training step).

Clock: :func:`time.monotonic` seconds. This module depends on nothing else in datamoat but
its errors.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from datamoat.errors import DatamoatError

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?")


def parse_budget(text: str | float | int) -> float:
    """Seconds from ``"10m"``, ``"90s"``, ``"1h"``, ``"1h30m"``, ``"90"`` or a number of seconds.

    Raises DatamoatError with one sentence for anything else (``"10min"``, ``""``, ``"0"``).
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        s = str(text).strip().lower()
        parts = _DURATION.fullmatch(s)
        if not s or parts is None or not any(parts.groups()):
            raise DatamoatError(f"budget {text!r} is not a duration; write e.g. 10m, 90s or 1h30m.")
        h, m, sec = (float(g) if g else 0.0 for g in parts.groups())
        seconds = h * 3600 + m * 60 + sec
    if not seconds > 0:
        raise DatamoatError(f"budget {text!r} must be more than 0 seconds.")
    return seconds


@dataclass
class Deadline:
    """A wall-clock budget of ``budget_s`` seconds that started at ``started`` (monotonic s).

    Pass one Deadline down a whole command; ask it :meth:`left` before starting work and
    :meth:`fits` with an estimate of the work's seconds.
    """

    budget_s: float
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def parse(cls, budget: str | float | int | Deadline) -> Deadline:
        """A Deadline starting now from a budget text or seconds (a Deadline is returned as is)."""
        if isinstance(budget, Deadline):
            return budget
        return cls(parse_budget(budget))

    def used(self) -> float:
        """Seconds since the deadline started."""
        return time.monotonic() - self.started

    def left(self) -> float:
        """Seconds left (negative once the deadline has passed)."""
        return self.budget_s - self.used()

    def expired(self) -> bool:
        """True once no time is left."""
        return self.left() <= 0

    def fits(self, estimate_s: float) -> bool:
        """True when work estimated at ``estimate_s`` seconds ends before the deadline."""
        return estimate_s <= self.left()

    def share(self, fraction: float) -> Deadline:
        """A sub-deadline ending after ``fraction`` of the time left now (never after this one)."""
        return Deadline(max(self.left(), 0.0) * fraction)

    def summary(self) -> dict[str, float]:
        """``{"budget_s", "used_s"}`` rounded to 0.1 s, for results and reports."""
        return {"budget_s": round(self.budget_s, 1), "used_s": round(self.used(), 1)}
