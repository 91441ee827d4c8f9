"""GET one page, with retries: httpx for the request, tenacity for the retry loop.

Retried: HTTP 429 and 5xx answers, timeouts (the spec's ``timeout_s`` for connecting and for
each read) and connection errors. The wait before try ``n + 1`` is ``backoff_base_s * 2**(n-1)``
seconds, at most ``backoff_max_s``; when the answer has a ``Retry-After`` header (seconds or an
HTTP date) that wait is used instead, capped at ``retry_after_max_s`` so a server cannot park
the fetch for an hour. Other 4xx answers and a body that is not JSON fail at once. When the
tries run out, the InputError names the URL (secrets masked), the page and the last status or
error. Every retry is counted in :class:`FetchStats` for the manifest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from datamoat.data.sources.http_spec import HttpJsonSpec, Secrets
from datamoat.errors import InputError


@dataclass
class FetchStats:
    """What fetching took: requests sent, retries (page, reason, wait in seconds), seconds waited."""

    requests: int = 0
    retries: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: counts, the seconds waited and the first 20 retries."""
        return {"requests": self.requests, "retries": len(self.retries),
                "retry_wait_s": round(sum(r["wait_s"] for r in self.retries), 3), "retry_log": self.retries[:20]}


class RetryableStatus(Exception):
    """An answer worth asking again for (429, 5xx)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code} {response.reason_phrase}".strip())
        self.response = response


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, (RetryableStatus, httpx.TimeoutException, httpx.TransportError))


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (from seconds or an HTTP date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def describe(exc: BaseException) -> str:
    """A short phrase for the last failure: ``HTTP 503 Service Unavailable``, ``timed out`` ..."""
    if isinstance(exc, RetryableStatus):
        return str(exc)
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.TransportError):
        return f"connection failed ({type(exc).__name__})"
    return type(exc).__name__


class HttpClient:
    """Sends the GET requests of one fetch. Use as a context manager (closes the connections).

    sleep: how to wait between tries (``time.sleep``; tests keep the waits tiny through the
    spec's backoff settings, not by replacing it).
    """

    def __init__(self, spec: HttpJsonSpec, secrets: Secrets, sleep: Callable[[float], None] = time.sleep) -> None:
        self.spec = spec
        self.secrets = secrets
        self.stats = FetchStats()
        self._sleep = sleep
        self._client = httpx.Client(timeout=httpx.Timeout(spec.timeout_s), follow_redirects=True)
        self._backoff = wait_exponential(multiplier=spec.retry.backoff_base_s, max=spec.retry.backoff_max_s)
        self._page = 0

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, RetryableStatus):
            after = retry_after_seconds(exc.response)
            if after is not None:
                return min(after, self.spec.retry.retry_after_max_s)
        return float(self._backoff(state))

    def _note_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        self.stats.retries.append({"page": self._page, "reason": describe(exc) if exc else "?", "wait_s": round(wait, 3)})

    def get(self, url: str, params: dict[str, Any], headers: dict[str, str], page: int) -> tuple[httpx.Response, Any]:
        """GET ``url`` (page number ``page``, 1-based, for messages); returns the response and its
        decoded JSON body. InputError with the masked URL, the page and the reason otherwise."""
        self._page = page
        retrying = Retrying(
            stop=stop_after_attempt(self.spec.retry.attempts),
            wait=self._wait,
            retry=retry_if_exception(_retryable),
            before_sleep=self._note_retry,
            sleep=self._sleep,
            reraise=True,
        )
        request = self._client.build_request("GET", url, params=params or None, headers=headers)
        shown = self.secrets.mask(str(request.url))
        try:
            response = retrying(self._send, request)
        except (RetryableStatus, httpx.TimeoutException, httpx.TransportError) as exc:
            tries = self.spec.retry.attempts
            raise InputError(shown, f"page {page} failed after {tries} {'try' if tries == 1 else 'tries'} "
                                    f"(last: {self.secrets.mask(describe(exc))}); nothing was written") from None
        except httpx.HTTPError as exc:  # an invalid URL and the like: not worth retrying
            raise InputError(shown, f"page {page}: {self.secrets.mask(str(exc))}; nothing was written") from None
        if response.status_code >= 400:
            raise InputError(shown, f"page {page}: HTTP {response.status_code} {response.reason_phrase}; "
                                    "nothing was written")
        try:
            body = response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content type")
            raise InputError(shown, f"page {page}: the answer is not JSON ({kind}); nothing was written") from None
        return response, body

    def _send(self, request: httpx.Request) -> httpx.Response:
        self.stats.requests += 1
        response = self._client.send(request)
        if response.status_code == 429 or response.status_code >= 500:
            response.read()
            raise RetryableStatus(response)
        return response
