"""The annotation page: one queue item at a time, labelled with the keyboard.

The page's script reads the queue from ``/v1/queue`` and answers through ``/v1/annotations``
(the login cookie authenticates both). For models with many classes it asks
``/ui/annotate/ranking`` for the current model's most likely labels of each item, so the
digit shortcuts pick among the likeliest ones.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from datamoat.errors import NotFoundError
from datamoat.serve.api_keys import ApiKey
from datamoat.serve.auth import require
from datamoat.serve.web.session import AnnotateKey
from datamoat.serve.web.templating import render

router = APIRouter(include_in_schema=False)
SHOWN_LABELS = 9
"""Labels offered per item when a model has more classes than digits (1-9)."""
MAX_RANKED_ITEMS = 50


@router.get("/ui/annotate", response_class=HTMLResponse)
def annotate_page(request: Request, key: AnnotateKey) -> HTMLResponse:
    """The annotation page; its script loads the queue."""
    dm = request.app.state.dm
    classes = dm.holder.current().classes
    return render(request, "annotate.html.j2", {
        "classes": classes, "many": len(classes) > SHOWN_LABELS, "shown": SHOWN_LABELS,
        "annotators_per_item": dm.settings.annotators_per_item,
    }, page="annotate")


@router.get("/ui/annotate/ranking")
def ranking(request: Request, key: Annotated[ApiKey, Depends(require("annotate"))],
            ids: Annotated[str, Query(max_length=1000)]) -> dict[str, Any]:
    """The served model's most likely labels (best first, at most 9) for queue records ``ids`` (comma-separated).

    Returns ``{"model": ref, "rankings": {record_id: [{"label", "score"}, ...]}}``; unknown ids are left out.
    A JSON route for the page's script: a missing key is 401 and a role without ``annotate`` 403.
    """
    try:
        wanted = [int(part) for part in ids.split(",") if part.strip()]
    except ValueError:
        raise HTTPException(422, "ids must be comma-separated record ids.") from None
    if len(wanted) > MAX_RANKED_ITEMS:
        raise HTTPException(422, f"at most {MAX_RANKED_ITEMS} ids per request.")
    if any(not 1 <= rid < 2**63 for rid in wanted):
        raise HTTPException(422, "record ids are positive 64-bit integers.")
    dm = request.app.state.dm
    texts: dict[int, str] = {}
    for rid in wanted:
        try:
            rec = dm.feedback.record(rid)
        except NotFoundError:
            continue
        if rec and rec.get("model_name", dm.model_name) == dm.model_name and rec.get("text"):
            texts[rid] = str(rec["text"])
    model = dm.holder.current()
    out: dict[str, list[dict[str, Any]]] = {}
    if texts:
        proba = model.predict_proba(list(texts.values()))
        classes = model.classes
        for rid, row in zip(texts, proba, strict=True):
            top = np.argsort(-row, kind="stable")[:SHOWN_LABELS]
            out[str(rid)] = [{"label": classes[i], "score": round(float(row[i]), 4)} for i in top]
    return {"model": model.record.ref, "rankings": out}
