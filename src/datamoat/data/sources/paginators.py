"""Paginators: from one page's request and answer to the next request (or the end).

A paginator knows only its own way of paging; the stop rules that apply to every kind
(``has_more_path``, ``stop_after_empty_page``, ``max_pages``) are applied by
:mod:`.http_fetch` before it is asked. ``total_path`` is the paginator's: the number of pages
(page_number) or of records (offset).

=================  =======================================================================
``single_page``    one request.
``page_number``    ``?page=base_page, base_page+1, ...``; stops past ``total_path`` pages.
``offset``         ``?offset=0&limit=L, L, 2L, ...``; stops when the offset reaches ``total_path``.
``cursor``         the body's ``cursor_path`` value is sent as ``cursor_param``; stops on null.
``json_link``      the body's ``next_url_path`` is the next URL (relative ones are resolved).
``header_link``    the ``Link: <...>; rel="next"`` header is the next URL.
=================  =======================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpx

from datamoat.data.sources.http_spec import PaginatorSpec
from datamoat.data.sources.json_path import find_one


@dataclass
class PageRequest:
    """url and query params of one page's request. ``params`` is None when the URL already holds
    the whole query (a next link)."""

    url: str
    params: dict[str, Any] | None = field(default_factory=dict)


def first_request(spec: PaginatorSpec, url: str, params: dict[str, Any]) -> PageRequest:
    """The first page's request: ``params`` plus the paginator's own (page, offset/limit)."""
    params = dict(params)
    if spec.type == "page_number":
        params[spec.options["page_param"]] = spec.options["base_page"]
    elif spec.type == "offset":
        params[spec.options["offset_param"]] = 0
        params[spec.options["limit_param"]] = spec.options["limit"]
    return PageRequest(url, params)


def next_request(spec: PaginatorSpec, current: PageRequest, response: httpx.Response, body: Any,
                 records: int) -> PageRequest | None:
    """The request after ``current`` (whose answer held ``records`` records), or None at the end."""
    kind, opts = spec.type, spec.options
    if kind == "single_page":
        return None
    if kind == "page_number":
        assert current.params is not None
        page = int(current.params[opts["page_param"]])
        total = _number(body, spec.total_path)
        if total is not None and page - opts["base_page"] + 1 >= total:
            return None
        return PageRequest(current.url, {**current.params, opts["page_param"]: page + 1})
    if kind == "offset":
        assert current.params is not None
        offset = int(current.params[opts["offset_param"]]) + opts["limit"]
        total = _number(body, spec.total_path)
        if total is not None and offset >= total:
            return None
        return PageRequest(current.url, {**current.params, opts["offset_param"]: offset})
    if kind == "cursor":
        cursor = find_one(body, opts["cursor_path"])
        if cursor in (None, ""):
            return None
        return PageRequest(current.url, {**(current.params or {}), opts["cursor_param"]: cursor})
    if kind == "json_link":
        link = find_one(body, opts["next_url_path"])
        if not link or not isinstance(link, str):
            return None
        return PageRequest(urljoin(str(response.url), link), None)
    link = response.links.get(opts["links_next_key"], {}).get("url")
    if not link:
        return None
    return PageRequest(urljoin(str(response.url), link), None)


def _number(body: Any, path: str | None) -> float | None:
    """The number at ``path`` in ``body`` (numbers sent as text too), or None."""
    if path is None:
        return None
    value = find_one(body, path)
    if isinstance(value, bool):
        return None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
