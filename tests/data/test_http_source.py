"""http_json sources against a real HTTP server on 127.0.0.1 that misbehaves on purpose: paging
styles, stop rules, retries (429 + Retry-After, a 503 burst, a timeout), secrets kept out of
manifests and messages, and incremental runs merged on the primary key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from json_api_server import JsonApi

FAST_RETRY = {"attempts": 4, "backoff_base_s": 0.01, "backoff_max_s": 0.05, "retry_after_max_s": 0.05}


def tickets_source(api: JsonApi, **extra: Any) -> dict[str, Any]:
    return {
        "url": f"{api.url}/tickets",
        "data_selector": "$.data",
        "params": {"per_page": 10},
        "paginator": {"type": "page_number", "total_path": "meta.total_pages"},
        "primary_key": "id",
        "timeout_s": 0.3,
        "retry": FAST_RETRY,
        **extra,
    }


def ingest(ws, api: JsonApi, name: str = "tickets", **extra: Any):
    return ws.ingest(f"{api.url}/tickets", name=name, format="http_json",
                     **{k: v for k, v in tickets_source(api, **extra).items() if k != "url"})


def test_retries_on_429_503_and_a_timeout_then_every_page_is_read(workspace) -> None:
    with JsonApi(n=25) as api:
        api.plan[("/tickets", 1)] = ["sleep"]          # longer than timeout_s: retried
        api.plan[("/tickets", 2)] = ["429"]            # Retry-After: 1, capped at 0.05 s
        api.plan[("/tickets", 3)] = ["503", "503"]     # a burst
        v = ingest(workspace, api)
    assert v.num_rows == 25 and v.created
    assert sorted(v.to_pandas()["id"].tolist()) == list(range(1, 26))
    fetch = v.manifest()["source"]["fetch"]
    assert fetch["pages"] == 3 and fetch["stopped"] == "the paginator found no next page"
    assert fetch["requests"] == 3 + 4 and fetch["retries"] == 4
    reasons = {(r["page"], r["reason"]) for r in fetch["retry_log"]}
    assert reasons == {(1, "timed out"), (2, "HTTP 429 Too Many Requests"), (3, "HTTP 503 Service Unavailable")}
    waits = {r["page"]: r["wait_s"] for r in fetch["retry_log"]}
    assert waits[2] == 0.05  # Retry-After honoured but capped by retry_after_max_s
    # the primary key is the row id: stable across versions
    assert v.roles.get("id") == "id" and set(v.to_arrow().column("_dm_row_id").to_pylist()) == {str(i) for i in range(1, 26)}


def test_has_more_that_never_turns_false_stops_at_max_pages_with_a_sentence(workspace, caplog) -> None:
    with JsonApi() as api:
        v = workspace.ingest(f"{api.url}/forever", name="endless", format="http_json", data_selector="data",
                             paginator={"type": "page_number", "has_more_path": "has_more"}, max_pages=4,
                             retry=FAST_RETRY)
    assert v.num_rows == 8
    source = v.manifest()["source"]
    assert source["fetch"]["stopped"] == "max_pages" and source["fetch"]["pages"] == 4
    (warning,) = source["warnings"]
    assert "stopped after 4 pages (max_pages) although the server offers more" in warning
    assert "max_pages" in caplog.text


def test_a_null_item_list_on_the_last_page_ends_paging(workspace) -> None:
    with JsonApi(n=20) as api:  # 2 full pages; page 3 answers {"data": null}
        v = ingest(workspace, api, paginator={"type": "page_number"})
    fetch = v.manifest()["source"]["fetch"]
    assert v.num_rows == 20 and fetch["pages"] == 3 and fetch["stopped"] == "an empty page"


@pytest.mark.parametrize(
    ("path", "entry", "pages"),
    [  # 23 records: 7+7+7+2 by offset (the total then says stop), 10+10+3 with no next cursor / link
        ("/offset", {"data_selector": "items", "paginator": {"type": "offset", "limit": 7, "total_path": "total"}}, 4),
        ("/cursor", {"data_selector": "items", "paginator": {"type": "cursor", "cursor_path": "next_cursor",
                                                             "cursor_param": "after"}}, 3),
        ("/links", {"data_selector": "results", "paginator": {"type": "json_link", "next_url_path": "next"}}, 3),
        ("/links", {"data_selector": "$.results[*]", "paginator": "header_link"}, 3),
    ],
)
def test_each_paginator_reads_every_record_once(workspace, path: str, entry: dict[str, Any], pages: int) -> None:
    with JsonApi(n=23) as api:
        v = workspace.ingest(f"{api.url}{path}", name="t", format="http_json", primary_key="id", **entry)
        asked = [q for p, q in api.requests if p == path]
    assert v.num_rows == 23 and sorted(v.to_pandas()["id"].tolist()) == list(range(1, 24))
    assert len(asked) == v.manifest()["source"]["fetch"]["pages"] == pages


def test_incremental_run_gives_exactly_the_added_and_edited_rows_and_no_change_makes_no_version(
    workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datamoat.catalog.source_cursors import load_cursor

    monkeypatch.setenv("TICKETS_TOKEN", "s3cret-token-value")
    config = Path(workspace.config.path)
    with JsonApi(n=20) as api:
        api.require_token = "s3cret-token-value"
        entry = {"format": "http_json", **tickets_source(api), "auth": {"type": "bearer", "token_env": "TICKETS_TOKEN"},
                 "incremental": {"cursor_path": "updated_at", "start_param": "updated_since",
                                 "initial_value": "2000-01-01T00:00:00Z"},
                 "roles": {"text": "body", "label": "category"}}
        config.write_text(json.dumps({"name": "p", "sources": {"tickets_api": entry}}))
        from datamoat.workspace import Workspace

        ws = Workspace.open(config.parent)
        v1 = ws.ingest_source("tickets_api")
        assert v1.num_rows == 20 and load_cursor(ws.catalog, "tickets_api").value == "2024-01-01T00:20:00Z"
        for i in range(21, 31):  # 10 new records
            api.records[i] = {"id": i, "title": f"ticket {i}", "body": f"a new message {i} about a refund",
                              "category": "refund", "updated_at": f"2024-01-02T00:{i:02d}:00Z",
                              "meta": {"channel": "chat"}}
        for i in (3, 7, 11):  # 3 edits
            api.records[i] = {**api.records[i], "category": "delivery", "updated_at": f"2024-01-03T00:{i:02d}:00Z"}
        api.requests.clear()
        v2 = ws.ingest_source("tickets_api")
        assert api.requests[0][1]["updated_since"] == "2024-01-01T00:20:00Z"  # only what is new was asked for
        api.requests.clear()
        v3 = ws.ingest_source("tickets_api")  # the server re-sends the newest record: nothing changed
        assert api.requests[0][1]["updated_since"] == "2024-01-03T00:11:00Z"
    assert v2.created and v2.num_rows == 30 and v2.ordinal == 2
    d = ws.diff(v1.ref, v2.ref)
    assert (d.added, d.changed, d.removed, d.unchanged) == (10, 3, 0, 17)
    assert {c["_dm_row_id"] for c in d.samples["changed"]} == {"3", "7", "11"}
    excluded = v2.excluded().to_pylist()
    assert sorted(r["_dm_row_id"] for r in excluded) == ["11", "3", "7"]
    assert {r["_dm_reason"] for r in excluded} == {"superseded"}
    assert json.loads(next(r for r in excluded if r["_dm_row_id"] == "3")["_dm_row"])["category"] == "card"
    merge = v2.manifest()["source"]["fetch"]["merge"]
    assert merge == {"into": v1.ref, "added": 10, "updated": 3, "unchanged": 1, "superseded": 3,
                     "fetched_twice_identical": 0}
    assert not v3.created and v3.hash == v2.hash
    assert [v.ordinal for v in ws.versions("tickets_api")] == [1, 2]
    cursor = load_cursor(ws.catalog, "tickets_api")
    assert cursor.value == "2024-01-03T00:11:00Z" and cursor.version_id == v2.id
    fetch = v2.manifest()["source"]["fetch"]
    assert fetch["cursor"] == {"from": "2024-01-01T00:20:00Z", "to": "2024-01-03T00:11:00Z"}
    stored = json.dumps(v2.manifest()) + json.dumps(ws.catalog.list_runs())
    assert "s3cret-token-value" not in stored and "TICKETS_TOKEN" in stored
    ws.close()


def test_a_failed_fetch_names_url_and_page_masks_the_secret_and_writes_nothing(workspace, monkeypatch) -> None:
    from datamoat.catalog.source_cursors import load_cursor
    from datamoat.errors import InputError

    monkeypatch.setenv("API_KEY", "k-e-y/42")
    with JsonApi(n=30) as api:
        extra = {"params": {"per_page": 10, "key": "${API_KEY}"},
                 "incremental": {"cursor_path": "updated_at", "start_param": "updated_since"}}
        v1 = ingest(workspace, api, **extra)
        api.records[1] = {**api.records[1], "updated_at": "2025-01-01T00:00:00Z"}
        api.records[99] = {"id": 99, "body": "new", "updated_at": "2025-01-01T00:00:01Z"}
        api.per_page = 1
        api.plan[("/tickets", 2)] = ["503*"]
        before = {p.name for p in (workspace.state / "objects").rglob("*")}
        with pytest.raises(InputError) as err:
            ingest(workspace, api, **{**extra, "params": {"per_page": 1, "key": "${API_KEY}"}})
    msg = str(err.value)
    assert msg.startswith(f"{api.url}/tickets?per_page=1&key=***&updated_since=") and "&page=2" in msg
    assert "page 2 failed after 4 tries (last: HTTP 503 Service Unavailable)" in msg
    assert "k-e-y" not in msg and "k-e-y%2F42" not in msg
    assert [v.ordinal for v in workspace.versions("tickets")] == [1]
    assert load_cursor(workspace.catalog, "tickets").version_id == v1.id
    assert {p.name for p in (workspace.state / "objects").rglob("*")} == before
    assert not any((workspace.state / "tmp").iterdir())


def test_bad_source_entries_are_one_sentence(workspace, monkeypatch) -> None:
    from datamoat.errors import InputError

    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    cases = [
        ({"paginator": {"type": "pages"}}, "unknown paginator type 'pages'"),
        ({"incremental": {"cursor_path": "updated_at"}, "primary_key": None}, "incremental needs primary_key"),
        ({"auth": {"type": "bearer", "token": "abc"}}, "credentials come from environment variables"),
        ({"auth": {"type": "bearer", "token_env": "NOPE_TOKEN"}}, "environment variable NOPE_TOKEN"),
        ({"data_selector": "$[["}, "data_selector '$[[' is not a JSONPath"),
        ({"max_pages": "many"}, "max_pages must be a whole number"),
    ]
    with JsonApi(n=3) as api:
        for extra, expected in cases:
            with pytest.raises(InputError, match=expected.replace("[", r"\[").replace("$", r"\$")):
                ingest(workspace, api, **extra)
        with pytest.raises(InputError, match="page 1: HTTP 404 Not Found") as err:
            workspace.ingest(f"{api.url}/missing".replace("//", "//me:pw-secret@"), name="m", format="http_json")
        assert "pw-secret" not in str(err.value) and "me:***@" in str(err.value)
        with pytest.raises(InputError, match=r"missing\?api_key=\*\*\*: page 1: HTTP 404") as err:
            workspace.ingest(f"{api.url}/missing", name="m", format="http_json", params={"api_key": "lit-secret"})
        with pytest.raises(InputError, match="page 1, record 1 is a string, not an object"):
            workspace.ingest(f"{api.url}/tickets", name="m", format="http_json", data_selector="data[*].title")
    assert workspace.datasets() == []


def test_the_manifest_keeps_env_templates_and_masks_literal_secrets() -> None:
    from datamoat.data.sources.http_spec import HttpJsonSpec

    spec = HttpJsonSpec.from_dict({
        "url": "https://me:pw-lit@api.example.com/v1", "params": {"api_key": "lit-1", "q": "open", "token": "${T}"},
        "headers": {"Authorization": "Bearer lit-2", "X-Org": "acme"}, "auth": {"type": "bearer", "token_env": "T"},
    }, "datamoat.yaml")
    shown = json.dumps(spec.to_manifest())
    assert "lit-" not in shown and "pw-lit" not in shown
    manifest = spec.to_manifest()
    assert manifest["params"] == {"api_key": "***", "q": "open", "token": "${T}"}
    assert manifest["headers"] == {"Authorization": "***", "X-Org": "acme"}
    assert manifest["auth"] == {"type": "bearer", "token_env": "T"} and manifest["url"] == "https://me:***@api.example.com/v1"
