"""Who may add a new class through the API: only an admin key, with ``new_class: true``.

A typo (``"refnud"``) or a pasted sentence would otherwise become a class of its own at the next
retrain. The rule itself (a label must be one the model knows unless a new class is allowed, and
a new class must hold no personal data) is the feedback store's
(:class:`datamoat.feedback.records.FeedbackStore`); the API passes ``allow_new_class`` and only
decides who may set it.
"""

from __future__ import annotations

from fastapi import HTTPException

from datamoat.feedback.records import known_labels_text

__all__ = ["check_new_class_role", "known_labels_text"]


def check_new_class_role(new_class: bool, role: str) -> None:
    """A 403 (one sentence) when a key other than an admin's asks for ``new_class``."""
    if new_class and role != "admin":
        raise HTTPException(403, f"only an admin key may add a new class; the role {role!r} may not.")
