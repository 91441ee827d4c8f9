"""Which labels feedback and annotations may carry: the served model's, or a new class on purpose.

A typo (``"refnud"``) or a pasted sentence would otherwise become a class of its own at the next
retrain, and anything typed into a label field would be stored, personal data included. So a
label must be one the served model knows; an admin key may send ``new_class: true`` to add a
class deliberately (the label must then still hold no personal data).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import HTTPException

from datamoat.privacy.pii.identifiers import pii_in_identifier

SHOWN = 20
"""At most this many known labels are named in an error."""


def known_labels_text(classes: Sequence[str], shown: int = SHOWN) -> str:
    """``'a', 'b', 'c'`` or ``'a', 'b' and 41 more`` (the first ``shown`` labels, sorted)."""
    ordered = sorted(classes)
    head = ", ".join(repr(c) for c in ordered[:shown])
    return f"{head} and {len(ordered) - shown} more" if len(ordered) > shown else head


def check_label(label: str | None, classes: Sequence[str], *, new_class: bool, role: str) -> None:
    """Nothing when ``label`` may be stored; else an HTTPException (403 or 422, one sentence).

    label: the label sent (None: none). classes: the served model's labels. new_class: the caller
    says the label is a new class on purpose. role: the caller key's role (only ``admin`` may).
    """
    if new_class and role != "admin":
        raise HTTPException(403, f"only an admin key may add a new class; the role {role!r} may not.")
    if label is None or label.strip() in classes:
        return
    if not new_class:
        raise HTTPException(422, f"'label' is not one the model knows ({known_labels_text(classes)}); "
                                 "an admin can add a new class with \"new_class\": true.")
    found = pii_in_identifier(label)
    if found:
        raise HTTPException(422, f"the new label looks like personal data ({found}); labels are stored and shown "
                                 "to every annotator, so use a class name.")
