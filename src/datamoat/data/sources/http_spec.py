"""An ``http_json`` source entry: what to fetch, how to page, what is secret.

The keys follow dlt's REST API source, so its users already know them::

    tickets_api:
      format: http_json
      url: https://helpdesk.example.com/api/tickets
      data_selector: $.data                 # JSONPath to the records (default: the whole body)
      params: {per_page: 100}
      headers: {X-Org: acme}                # values may use ${ENV_NAME}
      auth: {type: bearer, token_env: HELPDESK_TOKEN}
      paginator: {type: page_number, page_param: page, total_path: $.meta.pages}
      max_pages: 1000                       # hard cap, even when the server keeps saying "more"
      primary_key: id
      incremental: {cursor_path: updated_at, start_param: updated_since, initial_value: "2024-01-01"}
      timeout_s: 30
      retry: {attempts: 5, backoff_base_s: 0.5, backoff_max_s: 30, retry_after_max_s: 60}

Credentials come only from environment variables (``${NAME}`` in ``url``, ``params`` and
``headers``; ``auth`` with ``token_env`` / ``api_key_env`` / ``password_env``). They are read
when a request is built, never stored: :meth:`HttpJsonSpec.to_manifest` keeps the templates,
and :class:`Secrets` masks every resolved value (plain and URL-encoded) in messages. A literal
value under a header or param whose name looks secret (authorization, cookie, token, key,
secret, password) and a password in the URL are masked in the manifest too.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from datamoat.data.sources.json_path import check_path
from datamoat.errors import InputError

PAGINATORS = ("single_page", "page_number", "offset", "cursor", "json_link", "header_link")
"""dlt's paginator names: no paging, ?page=N, ?offset=&limit=, a cursor from the body, a next
URL from the body, the ``Link: <...>; rel="next"`` header."""
DEFAULT_MAX_PAGES = 1000
MASK = "***"
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_HEADER = re.compile(r"authorization|cookie|token|key|secret|password", re.IGNORECASE)
_TOP_KEYS = {"format", "url", "path", "method", "data_selector", "params", "headers", "auth", "paginator",
             "max_pages", "primary_key", "incremental", "timeout_s", "retry", "roles"}
_PAGINATOR_KEYS = {
    "single_page": set(),
    "page_number": {"page_param", "base_page"},
    "offset": {"offset_param", "limit_param", "limit"},
    "cursor": {"cursor_path", "cursor_param"},
    "json_link": {"next_url_path"},
    "header_link": {"links_next_key"},
}
_STOP_KEYS = {"total_path", "has_more_path", "stop_after_empty_page"}
_AUTH_KEYS = {"bearer": {"token_env"}, "api_key": {"name", "location", "api_key_env"},
              "http_basic": {"username", "password_env"}}


class Secrets:
    """The secret values resolved for one fetch; :meth:`mask` hides them in any text."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def add(self, value: str) -> str:
        """Remember ``value`` as secret (if not empty) and return it."""
        if value:
            self.values.add(value)
        return value

    def mask(self, text: str) -> str:
        """``text`` with every secret (as is, URL-quoted, and quote_plus-ed) replaced by ``***``."""
        for value in sorted(self.values, key=len, reverse=True):
            for form in {value, quote(value, safe=""), quote_plus(value)}:
                text = text.replace(form, MASK)
        return text


@dataclass(frozen=True)
class RetrySpec:
    """attempts: tries per request (1 = no retry); waits grow as ``backoff_base_s * 2**(n-1)``
    seconds up to ``backoff_max_s``; a ``Retry-After`` header is honoured up to
    ``retry_after_max_s`` seconds."""

    attempts: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    retry_after_max_s: float = 60.0


@dataclass(frozen=True)
class PaginatorSpec:
    """type: one of :data:`PAGINATORS`; options: its own keys (``page_param`` ...); the stop rules:
    ``total_path`` (pages for page_number, records for offset), ``has_more_path`` (stop when
    false), ``stop_after_empty_page`` (default true)."""

    type: str = "single_page"
    options: dict[str, Any] = field(default_factory=dict)
    total_path: str | None = None
    has_more_path: str | None = None
    stop_after_empty_page: bool = True


@dataclass(frozen=True)
class IncrementalSpec:
    """cursor_path: the record field (JSONPath) whose newest value is kept; start_param: the
    query parameter that sends it next time; initial_value: what to send on the first run."""

    cursor_path: str
    start_param: str | None = None
    initial_value: Any = None


@dataclass(frozen=True)
class HttpJsonSpec:
    """One ``http_json`` source (see the module docstring for the keys and their defaults)."""

    url: str
    where: str
    data_selector: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    auth: dict[str, Any] = field(default_factory=dict)
    paginator: PaginatorSpec = field(default_factory=PaginatorSpec)
    max_pages: int = DEFAULT_MAX_PAGES
    primary_key: str | None = None
    incremental: IncrementalSpec | None = None
    timeout_s: float = 30.0
    retry: RetrySpec = field(default_factory=RetrySpec)

    @classmethod
    def from_dict(cls, entry: dict[str, Any], where: str) -> HttpJsonSpec:
        """Parse and check a source entry; InputError naming ``where`` and the key otherwise.

        Values may be strings (from ``-o key=value`` on the command line): numbers and booleans
        are converted where a key needs them; dotted keys (``paginator.type``) are nested.
        """
        entry = nest_dotted(entry)
        unknown = sorted(set(entry) - _TOP_KEYS)
        if unknown:
            raise InputError(where, f"unknown key {unknown[0]!r} for an http_json source "
                                    f"(keys: {', '.join(sorted(_TOP_KEYS - {'path', 'format', 'roles'}))})")
        url = entry.get("url") or entry.get("path")
        if not url or not isinstance(url, str):
            raise InputError(where, "an http_json source needs 'url'")
        if not url.startswith(("http://", "https://")) and not _ENV.match(url):
            raise InputError(where, f"url {url!r} must start with http:// or https://")
        if str(entry.get("method", "GET")).upper() != "GET":
            raise InputError(where, "only GET requests are supported (method: GET)")
        selector = entry.get("data_selector")
        if selector is not None:
            check_path(str(selector), where, "data_selector")
        inc = _incremental(entry.get("incremental"), where)
        retry = _mapping(entry.get("retry"), where, "retry")
        unknown_retry = sorted(set(retry) - set(RetrySpec.__dataclass_fields__))
        if unknown_retry:
            raise InputError(where, f"unknown retry key {unknown_retry[0]!r} "
                                    f"(keys: {', '.join(RetrySpec.__dataclass_fields__)})")
        retry_spec = RetrySpec(
            attempts=_int(retry.get("attempts", 5), where, "retry.attempts", 1),
            backoff_base_s=_float(retry.get("backoff_base_s", 0.5), where, "retry.backoff_base_s"),
            backoff_max_s=_float(retry.get("backoff_max_s", 30.0), where, "retry.backoff_max_s"),
            retry_after_max_s=_float(retry.get("retry_after_max_s", 60.0), where, "retry.retry_after_max_s"),
        )
        headers = {str(k): str(v) for k, v in _mapping(entry.get("headers"), where, "headers").items()}
        primary_key = entry.get("primary_key")
        if primary_key is not None and not isinstance(primary_key, str):
            raise InputError(where, "primary_key must be one field name (a string)")
        if inc is not None and not primary_key:
            raise InputError(where, "incremental needs primary_key (the field that says which stored record "
                                    "a re-fetched one replaces)")
        return cls(
            url=url,
            where=where,
            data_selector=None if selector is None else str(selector),
            params=dict(_mapping(entry.get("params"), where, "params")),
            headers=headers,
            auth=_auth(entry.get("auth"), where),
            paginator=_paginator(entry.get("paginator"), where),
            max_pages=_int(entry.get("max_pages", DEFAULT_MAX_PAGES), where, "max_pages", 1),
            primary_key=primary_key,
            incremental=inc,
            timeout_s=_float(entry.get("timeout_s", 30.0), where, "timeout_s"),
            retry=retry_spec,
        )

    # ------------------------------------------------------------------ requests
    def resolve(self, secrets: Secrets) -> tuple[str, dict[str, Any], dict[str, str]]:
        """(url, params, headers) with ``${ENV}`` and ``auth`` filled in; every value read from
        the environment is added to ``secrets``. InputError naming the variable when unset."""
        url = self._fill(self.url, secrets, "url")
        password = urlsplit(url).password
        if password:  # https://user:password@host/...
            secrets.add(password)
        params = {k: self._fill(v, secrets, f"params.{k}") if isinstance(v, str) else v for k, v in self.params.items()}
        headers = {k: self._fill(v, secrets, f"headers.{k}") for k, v in self.headers.items()}
        for name, value in [*params.items(), *headers.items()]:  # literal secrets: masked in messages too
            if _SECRET_HEADER.search(name) and isinstance(value, str):
                secrets.add(value.split(" ", 1)[-1])  # "Bearer abc" -> abc
        kind = self.auth.get("type")
        if kind == "bearer":
            headers["Authorization"] = "Bearer " + secrets.add(self._env(self.auth["token_env"], "auth.token_env"))
        elif kind == "api_key":
            key = secrets.add(self._env(self.auth["api_key_env"], "auth.api_key_env"))
            name = self.auth.get("name", "X-API-Key")
            if self.auth.get("location", "header") == "query":
                params[name] = key
            else:
                headers[name] = key
        elif kind == "http_basic":
            password = secrets.add(self._env(self.auth["password_env"], "auth.password_env"))
            pair = f"{self.auth.get('username', '')}:{password}".encode()
            headers["Authorization"] = "Basic " + secrets.add(base64.b64encode(pair).decode("ascii"))
        return url, params, headers

    def _env(self, name: str, option: str) -> str:
        value = os.environ.get(name)
        if value is None:
            raise InputError(self.where, f"environment variable {name} (from {option}) is not set")
        return value

    def _fill(self, text: str, secrets: Secrets, option: str) -> str:
        return _ENV.sub(lambda m: secrets.add(self._env(m.group(1), option)), text)

    # ------------------------------------------------------------------ provenance
    def to_manifest(self) -> dict[str, Any]:
        """The entry as recorded in the version's manifest: templates, never resolved secrets."""
        parts = urlsplit(self.url)
        url = self.url.replace(f":{parts.password}@", f":{MASK}@", 1) if parts.password and not _ENV.search(
            parts.password) else self.url
        out: dict[str, Any] = {"url": url, "method": "GET", "max_pages": self.max_pages,
                               "timeout_s": self.timeout_s, "retry": dict(self.retry.__dict__)}
        if self.data_selector is not None:
            out["data_selector"] = self.data_selector
        if self.params:
            out["params"] = _masked(self.params)
        if self.headers:
            out["headers"] = _masked(self.headers)
        if self.auth:
            out["auth"] = dict(self.auth)  # names of environment variables only
        p = self.paginator
        out["paginator"] = {"type": p.type, **p.options, "stop_after_empty_page": p.stop_after_empty_page,
                            **({"total_path": p.total_path} if p.total_path else {}),
                            **({"has_more_path": p.has_more_path} if p.has_more_path else {})}
        if self.primary_key:
            out["primary_key"] = self.primary_key
        if self.incremental is not None:
            out["incremental"] = dict(self.incremental.__dict__)
        return out


def _masked(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with literal values under secret-looking names (token, key ...) masked."""
    return {k: v if not _SECRET_HEADER.search(k) or (isinstance(v, str) and _ENV.search(v)) else MASK
            for k, v in values.items()}


def nest_dotted(entry: dict[str, Any]) -> dict[str, Any]:
    """``{"paginator.type": "offset", "paginator.limit": "50"}`` -> ``{"paginator": {"type": ..., "limit": ...}}``."""
    out: dict[str, Any] = {}
    for key, value in entry.items():
        head, dot, rest = str(key).partition(".")
        if not dot:
            out[key] = value if not isinstance(out.get(key), dict) else {**out[key], **(value or {})}
            continue
        inner = out.setdefault(head, {})
        if not isinstance(inner, dict):
            inner = out[head] = {"type": inner} if head in ("paginator", "auth") else {}
        inner.update(nest_dotted({rest: value}))
    return out


def _mapping(value: Any, where: str, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(where, f"{key} must be a mapping")
    return value


def _int(value: Any, where: str, key: str, minimum: int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise InputError(where, f"{key} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise InputError(where, f"{key} must be at least {minimum}, not {number}")
    return number


def _float(value: Any, where: str, key: str) -> float:
    try:
        number = float(str(value))
    except ValueError:
        raise InputError(where, f"{key} must be a number of seconds, not {value!r}") from None
    if not number >= 0:
        raise InputError(where, f"{key} must be 0 or more, not {value!r}")
    return number


def _bool(value: Any, where: str, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise InputError(where, f"{key} must be true or false, not {value!r}")


def _paginator(value: Any, where: str) -> PaginatorSpec:
    if value is None:
        return PaginatorSpec()
    if isinstance(value, str):
        value = {"type": value}
    entry = dict(_mapping(value, where, "paginator"))
    kind = str(entry.pop("type", "single_page"))
    if kind not in PAGINATORS:
        raise InputError(where, f"unknown paginator type {kind!r}; use one of {', '.join(PAGINATORS)}")
    unknown = sorted(set(entry) - _PAGINATOR_KEYS[kind] - _STOP_KEYS)
    if unknown:
        allowed = ", ".join(sorted(_PAGINATOR_KEYS[kind] | _STOP_KEYS))
        raise InputError(where, f"paginator {kind} has no key {unknown[0]!r} (keys: {allowed})")
    for key in ("total_path", "has_more_path", "cursor_path", "next_url_path"):
        if key in entry:
            check_path(str(entry[key]), where, f"paginator.{key}")
    options: dict[str, Any] = {}
    if kind == "page_number":
        options = {"page_param": str(entry.get("page_param", "page")),
                   "base_page": _int(entry.get("base_page", 1), where, "paginator.base_page", 0)}
    elif kind == "offset":
        if "limit" not in entry:
            raise InputError(where, "paginator offset needs limit (records per page)")
        options = {"offset_param": str(entry.get("offset_param", "offset")),
                   "limit_param": str(entry.get("limit_param", "limit")),
                   "limit": _int(entry["limit"], where, "paginator.limit", 1)}
    elif kind == "cursor":
        options = {"cursor_path": str(entry.get("cursor_path", "cursors.next")),
                   "cursor_param": str(entry.get("cursor_param", "after"))}
        check_path(options["cursor_path"], where, "paginator.cursor_path")
    elif kind == "json_link":
        options = {"next_url_path": str(entry.get("next_url_path", "next"))}
        check_path(options["next_url_path"], where, "paginator.next_url_path")
    elif kind == "header_link":
        options = {"links_next_key": str(entry.get("links_next_key", "next"))}
    return PaginatorSpec(
        type=kind,
        options=options,
        total_path=None if entry.get("total_path") is None else str(entry["total_path"]),
        has_more_path=None if entry.get("has_more_path") is None else str(entry["has_more_path"]),
        stop_after_empty_page=_bool(entry.get("stop_after_empty_page", True), where, "paginator.stop_after_empty_page"),
    )


def _incremental(value: Any, where: str) -> IncrementalSpec | None:
    if value is None:
        return None
    entry = _mapping(value, where, "incremental")
    unknown = sorted(set(entry) - {"cursor_path", "start_param", "initial_value"})
    if unknown:
        raise InputError(where, f"unknown incremental key {unknown[0]!r} (keys: cursor_path, start_param, initial_value)")
    if not entry.get("cursor_path"):
        raise InputError(where, "incremental needs cursor_path (the record field that says how new it is)")
    check_path(str(entry["cursor_path"]), where, "incremental.cursor_path")
    return IncrementalSpec(
        cursor_path=str(entry["cursor_path"]),
        start_param=None if entry.get("start_param") is None else str(entry["start_param"]),
        initial_value=entry.get("initial_value"),
    )


def _auth(value: Any, where: str) -> dict[str, Any]:
    entry = dict(_mapping(value, where, "auth"))
    if not entry:
        return {}
    kind = entry.get("type")
    if kind not in _AUTH_KEYS:
        raise InputError(where, f"unknown auth type {kind!r}; use one of {', '.join(_AUTH_KEYS)}")
    unknown = sorted(set(entry) - _AUTH_KEYS[kind] - {"type"})
    if unknown:
        hint = " (credentials come from environment variables: use the *_env keys)" if unknown[0] in (
            "token", "api_key", "password") else ""
        raise InputError(where, f"auth {kind} has no key {unknown[0]!r}{hint}")
    needed = {"bearer": "token_env", "api_key": "api_key_env", "http_basic": "password_env"}[kind]
    if not entry.get(needed):
        raise InputError(where, f"auth {kind} needs {needed} (the environment variable holding the secret)")
    if kind == "api_key" and entry.get("location", "header") not in ("header", "query"):
        raise InputError(where, "auth api_key location must be header or query")
    return entry
