"""`datamoat ingest` with HTTP JSON APIs: a URL with --format http_json and -o keys, a named
incremental source from datamoat.yaml, the max_pages sentence and a failure that changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from json_api_server import JsonApi

FAST = ["-o", "retry.attempts=3", "-o", "retry.backoff_base_s=0.01", "-o", "retry.backoff_max_s=0.02"]


def test_url_with_format_http_json_and_dotted_options(cli) -> None:
    assert cli("init")[0] == 0
    with JsonApi(n=12, per_page=5) as api:
        args = ["ingest", f"{api.url}/tickets", "--format", "http_json", "-o", "data_selector=data",
                "-o", "paginator.type=page_number", "-o", "paginator.total_path=meta.total_pages",
                "-o", "params.per_page=5", "-o", "primary_key=id", *FAST]
        code, out, err = cli(*args, "--json")
        assert code == 0, err
        first = json.loads(out)
        assert first["dataset"] == "tickets" and first["rows"] == 12 and first["created"] is True
        assert first["source"]["format"] == "http_json" and first["source"]["fetch"]["pages"] == 3
        code, out, err = cli(*args)  # the same content again: no new version
    assert code == 0, err
    assert f"already stored as tickets@1 ({first['ref']}): 12 rows" in out
    assert "fetched 12 records from 3 pages (3 requests, 0 retries)" in out


def test_named_incremental_source_then_a_failure_that_writes_nothing(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HELPDESK_TOKEN", "tok-123456")
    ws = tmp_path / "ws"
    assert cli("init")[0] == 0
    with JsonApi(n=8, per_page=5) as api:
        api.require_token = "tok-123456"
        spec = yaml.safe_load((ws / "datamoat.yaml").read_text())
        spec["sources"] = {"tickets_api": {
            "format": "http_json", "url": f"{api.url}/tickets", "data_selector": "$.data",
            "auth": {"type": "bearer", "token_env": "HELPDESK_TOKEN"}, "params": {"per_page": 5},
            "paginator": {"type": "page_number", "has_more_path": "meta.has_more"}, "primary_key": "id",
            "incremental": {"cursor_path": "updated_at", "start_param": "updated_since"},
            "retry": {"attempts": 2, "backoff_base_s": 0.01}, "roles": {"text": "body", "label": "category"}}}
        (ws / "datamoat.yaml").write_text(yaml.safe_dump(spec))
        code, out, err = cli("ingest", "--source", "tickets_api")
        assert code == 0, err
        assert "new version tickets_api@1" in out and "fetched 8 records from 2 pages" in out
        api.records[2] = {**api.records[2], "category": "refund", "updated_at": "2024-02-01T00:00:00Z"}
        api.records[50] = {"id": 50, "body": "a brand new ticket about my card", "category": "card",
                           "updated_at": "2024-02-01T00:00:01Z"}
        code, out, err = cli("ingest", "--source", "tickets_api")
        assert code == 0, err
        first_ref = json.loads(cli("versions", "tickets_api", "--json")[1])[0]["ref"]
        assert "new version tickets_api@2" in out and f"merged into {first_ref}: +1 added, ~1 updated" in out
        assert "fetched 3 records from 1 page (1 request, 0 retries)" in out  # 2 changed + the re-sent newest
        assert "1 superseded or unparseable rows kept in `datamoat excluded" in out
        api.plan[("/tickets", 1)] = ["503*"]
        code, out, err = cli("ingest", "--source", "tickets_api")
    assert code != 0
    assert "page 1 failed after 2 tries (last: HTTP 503 Service Unavailable); nothing was written." in err
    assert "Traceback" not in err and "tok-123456" not in err
    code, out, _ = cli("versions", "tickets_api", "--json")
    assert [v["version"] for v in json.loads(out)] == [1, 2]


def test_max_pages_sentence_on_the_terminal(cli) -> None:
    assert cli("init")[0] == 0
    with JsonApi() as api:
        code, out, err = cli("ingest", f"{api.url}/forever", "--format", "http_json", "-o", "data_selector=data",
                             "-o", "paginator.type=page_number", "-o", "paginator.has_more_path=has_more",
                             "-o", "max_pages=3", *FAST)
    assert code == 0, err
    assert "new version forever@1" in out and ": 6 rows" in out
    assert "stopped after 3 pages (max_pages) although the server offers more" in " ".join(err.split())
