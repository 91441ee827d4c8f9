"""The merge of an incremental fetch into the stored rows, and the cursor's life in the catalog:
moved only with its version, refused when another ingest moved it meanwhile, ignored once its
version was rolled back."""

from __future__ import annotations

import pytest
from json_api_server import JsonApi

from datamoat.data.sources.incremental import merge


def test_merge_replaces_adds_and_keeps_the_superseded_rows() -> None:
    stored = [{"id": 1, "v": "a", "at": 1, "tags": '["x"]'}, {"id": 2, "v": "b", "at": 1, "tags": None}]
    fetched = [
        (1, {"id": 2, "v": "b", "at": 1}),            # re-sent unchanged (missing key = null)
        (1, {"id": 1, "v": "a2", "at": 3, "tags": ["x"]}),
        (2, {"id": 3, "v": "c", "at": 2}),
        (2, {"id": 3, "v": "c-old", "at": 1}),         # an older copy of 3 later in the fetch: loses
        (3, {"id": 3, "v": "c", "at": 2}),             # the same row twice: counted, not excluded
    ]
    out = merge(stored, fetched, "id", "at", "http://x")
    assert out.rows == [{"id": 1, "v": "a2", "at": 3, "tags": '["x"]'}, stored[1], {"id": 3, "v": "c", "at": 2}]
    assert [(k, r["v"]) for k, r in out.superseded] == [("3", "c-old"), ("1", "a")]
    assert out.counts() == {"added": 1, "updated": 1, "unchanged": 1, "superseded": 2, "fetched_twice_identical": 1}


def test_a_record_without_the_primary_key_is_named() -> None:
    from datamoat.errors import InputError

    with pytest.raises(InputError, match="http://x: page 2: record 2 of the fetch has no 'id'"):
        merge([], [(1, {"id": 1}), (2, {"name": "no id"})], "id", None, "http://x")


def test_cursor_moves_only_with_its_version_and_a_rolled_back_version_forgets_it(workspace) -> None:
    from datamoat.catalog.rollback import mark, rollback_to
    from datamoat.catalog.source_cursors import cursor_writer, load_cursor
    from datamoat.errors import ConflictError

    entry = {"data_selector": "data", "paginator": {"type": "page_number", "total_path": "meta.total_pages"},
             "primary_key": "id", "incremental": {"cursor_path": "updated_at", "start_param": "updated_since"}}
    with JsonApi(n=5) as api:
        at = mark(workspace.catalog)
        v1 = workspace.ingest(f"{api.url}/tickets", name="t", format="http_json", **entry)
    assert load_cursor(workspace.catalog, "t").version_id == v1.id
    # another ingest that started before v1 existed expected no cursor: its transaction is refused
    stale = cursor_writer("t", "updated_at", "2030-01-01", expect_version_id=None)
    with pytest.raises(ConflictError, match="another ingest of source 't'"), workspace.catalog.engine.begin() as conn:
        stale(conn, v1.id)
    assert load_cursor(workspace.catalog, "t").value == "2024-01-01T00:05:00Z"
    at.own(v1.id)
    rollback_to(workspace.catalog, at)  # a failed larger command removed the version
    assert load_cursor(workspace.catalog, "t") is None  # the next run fetches from initial_value again
