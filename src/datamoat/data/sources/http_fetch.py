"""Fetch every page of an ``http_json`` source into memory, with the fetch's provenance.

The loop, per page: GET (with retries, :mod:`.http_client`), take the records with
``data_selector`` (null or nothing there: an empty page), then stop when ``has_more_path``
says false, when the page is empty and ``stop_after_empty_page`` holds, when the paginator has
no next request, or when ``max_pages`` pages were read although the server offers more. The
last case is not an error (the records read are kept) but a warning sentence, in the manifest
and on the terminal, saying how to fetch more; it is what stops a server whose ``has_more``
never turns false.

Memory: every record of the fetch is held (APIs of the size a small team pulls, or the new
records of an incremental run); the version writer then streams them to Parquet.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from datamoat.data.readers.json_reader import json_kind
from datamoat.data.sources.http_client import FetchStats, HttpClient
from datamoat.data.sources.http_spec import HttpJsonSpec, Secrets
from datamoat.data.sources.json_path import find_one, select_records
from datamoat.data.sources.paginators import PageRequest, first_request, next_request
from datamoat.errors import InputError

FALSE_WORDS = ("false", "no", "0", "")


@dataclass
class Fetched:
    """The records of one fetch and how they were got.

    records: (page number, record) in the order received. shown_url: the URL with secrets
    masked. stopped: why paging ended. cursor_from / cursor_to: the incremental cursor sent and
    the newest value seen (None without ``incremental``). warnings: sentences for the terminal.
    """

    records: list[tuple[int, dict[str, Any]]]
    shown_url: str
    pages: int
    stopped: str
    stats: FetchStats
    cursor_from: Any = None
    cursor_to: Any = None
    warnings: list[str] = field(default_factory=list)

    def provenance(self) -> dict[str, Any]:
        """The manifest's ``source.fetch``: pages, requests, retries, records, cursor."""
        out = {"pages": self.pages, "records": len(self.records), "stopped": self.stopped, **self.stats.to_dict()}
        if self.cursor_from is not None or self.cursor_to is not None:
            out["cursor"] = {"from": self.cursor_from, "to": self.cursor_to}
        return out


def fetch(
    spec: HttpJsonSpec,
    start_value: Any = None,
    progress: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Fetched:
    """Fetch the source's records; ``start_value``: the incremental cursor to send (if any).

    Raises InputError (URL masked, page named) when a page fails for good, is not JSON, or
    holds something other than objects; nothing has been written then.
    """
    secrets = Secrets()
    url, params, headers = spec.resolve(secrets)
    inc = spec.incremental
    if inc is not None and inc.start_param and start_value is not None:
        params[inc.start_param] = start_value
    link_params = _auth_query(spec, params)
    request = first_request(spec.paginator, url, params)
    shown_url = secrets.mask(url)
    records: list[tuple[int, dict[str, Any]]] = []
    warnings: list[str] = []
    page = 0
    with HttpClient(spec, secrets, sleep=sleep) as client:
        while True:
            page += 1
            response, body = client.get(request.url, request.params if request.params is not None else link_params,
                                        headers, page)
            found = select_records(body, spec.data_selector) or []
            for i, record in enumerate(found, 1):
                if not isinstance(record, dict):
                    raise InputError(shown_url, f"page {page}, record {i} is {json_kind(record)}, not an object "
                                                f"(data_selector {spec.data_selector or '(the whole body)'!r})")
                records.append((page, record))
            if progress is not None:
                progress(len(records))
            stopped = _stop_rule(spec, body, len(found))
            if stopped:
                break
            after: PageRequest | None = next_request(spec.paginator, request, response, body, len(found))
            if after is None:
                stopped = "the paginator found no next page"
                break
            if page >= spec.max_pages:
                stopped = "max_pages"
                warnings.append(
                    f"{shown_url}: stopped after {page} pages (max_pages) although the server offers more; "
                    f"the version holds the {len(records):,} records of those pages. Raise max_pages "
                    "(in datamoat.yaml or -o max_pages=N) to fetch further."
                )
                break
            request = after
    return Fetched(
        records=records, shown_url=shown_url, pages=page, stopped=stopped, stats=client.stats,
        cursor_from=start_value if inc is not None else None,
        cursor_to=_newest(records, inc.cursor_path, start_value, shown_url) if inc is not None else None,
        warnings=warnings,
    )


def _stop_rule(spec: HttpJsonSpec, body: Any, found: int) -> str:
    """Why paging stops after this page by the spec's explicit rules ('' to go on)."""
    rules = spec.paginator
    if rules.has_more_path is not None:
        more = find_one(body, rules.has_more_path)
        if more is None or more is False or (isinstance(more, str) and more.lower() in FALSE_WORDS) or more == 0:
            return f"has_more_path {rules.has_more_path!r} is false"
    if found == 0 and rules.stop_after_empty_page:
        return "an empty page"
    return ""


def _auth_query(spec: HttpJsonSpec, params: dict[str, Any]) -> dict[str, Any]:
    """The query parameters a next-link request still needs: the api key sent in the query."""
    if spec.auth.get("type") == "api_key" and spec.auth.get("location") == "query":
        name = spec.auth.get("name", "X-API-Key")
        return {name: params[name]}
    return {}


def _newest(records: list[tuple[int, dict[str, Any]]], path: str, start: Any, shown_url: str) -> Any:
    """The largest ``path`` value among ``records`` and ``start`` (numbers or text, not mixed)."""
    newest, newest_where = start, "the stored cursor"
    for page, record in records:
        value = find_one(record, path)
        if value is None:
            continue
        if newest is None:
            newest, newest_where = value, f"page {page}"
            continue
        try:
            if value > newest:
                newest, newest_where = value, f"page {page}"
        except TypeError:
            raise InputError(
                shown_url, f"page {page}: incremental.cursor_path {path!r} is {value!r} here but {newest!r} "
                           f"on {newest_where}; cursor values must be all numbers or all text"
            ) from None
    return newest
