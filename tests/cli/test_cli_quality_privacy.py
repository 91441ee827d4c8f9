"""The quality and privacy commands as a user runs them, on generated data with known truth."""

from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from datamoat.demo import generate_demo_data

KEY = "5e" * 32


@pytest.fixture
def demo(tmp_path: Path) -> dict[str, Path]:
    return generate_demo_data(tmp_path / "demo", n_tickets=700, seed=9)


def _ingest_demo(cli, demo: dict[str, Path]) -> None:
    assert cli("init")[0] == 0
    code, _, err = cli("ingest", str(demo["tickets"]), "--name", "tickets", "--id", "ticket_id", "--text", "text",
                       "--label", "intent", "--role", "timestamp=created_at")
    assert code == 0, err


def test_profile_finds_the_injected_problems_and_writes_an_offline_report(cli, demo, tmp_path: Path) -> None:
    _ingest_demo(cli, demo)
    report = tmp_path / "report.html"
    code, out, err = cli("profile", "tickets", "--truth", str(demo["truth"]), "--report", str(report), "--json")
    assert code == 0, err
    prof = json.loads(out)
    truth = prof["truth"]
    assert truth["exact_duplicates"]["precision"] >= 0.99 and truth["exact_duplicates"]["recall"] >= 0.99
    assert truth["near_duplicates"]["precision"] >= 0.9 and truth["near_duplicates"]["recall"] >= 0.9
    assert truth["label_issues"]["precision"] >= 0.7 and truth["label_issues"]["recall"] >= 0.6
    assert min(truth["pii"]["per_type_recall"].values()) >= 0.95
    assert 0 < prof["score"]["value"] < 100 and "sum of weight x issue rate" in prof["score"]["formula"]
    assert prof["labels"]["classes"] >= 8 and prof["freshness"]["column"] == "created_at"
    html = report.read_text(encoding="utf-8")
    assert "Plotly.newPlot" in html and "Quality score" in html
    assert not re.search(r"<script[^>]+src=", html)  # plotly.js is inlined: no CDN, works offline
    assert prof["skipped"] == {"split_leakage": "needs a column with role 'split'"}


def test_clean_with_the_default_recipe_keeps_every_dropped_row(cli, demo) -> None:
    _ingest_demo(cli, demo)
    code, out, err = cli("clean", "tickets", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["rows_in"] == 700 and res["rows_out"] < 650
    dropped = res["dropped"]
    assert dropped["exact duplicate"] >= 15 and dropped["near duplicate"] >= 20
    assert any(r.startswith("label issue") for r in dropped)
    code, out, _ = cli("excluded", "tickets@2", "--json")
    assert json.loads(out)["excluded_rows"] == res["rows_in"] - res["rows_out"]
    truth = json.loads(demo["truth"].read_text())
    copies = {d["ticket_id"] for d in truth["exact_duplicates"]}
    code, out, _ = cli("show", "tickets@2", "--rows", "1000", "--json")
    kept = {r["ticket_id"] for r in json.loads(out)["rows"]}
    assert not copies & kept


def test_pii_scan_redact_and_reversible_pseudonyms(cli, demo, monkeypatch: pytest.MonkeyPatch) -> None:
    _ingest_demo(cli, demo)
    code, out, _ = cli("pii", "scan", "tickets", "--json")
    scan = json.loads(out)
    assert code == 0 and scan["by_type"]["EMAIL"]["findings"] > 10
    assert cli("pii", "redact", "tickets", "--mode", "redact")[0] == 0
    code, out, _ = cli("show", "tickets@2", "--rows", "1000", "--json")
    texts = [r["text"] or "" for r in json.loads(out)["rows"]]
    assert any("[EMAIL]" in t for t in texts)
    assert not any(re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", t) for t in texts)

    code, _, err = cli("pii", "redact", "tickets@1", "--mode", "reversible")
    assert code == 1 and "no encryption key" in " ".join(err.split())
    monkeypatch.setenv("DATAMOAT_KEY", KEY)
    assert cli("pii", "redact", "tickets@1", "--mode", "reversible")[0] == 0
    code, out, _ = cli("show", "tickets@3", "--rows", "1000", "--json")
    token_text = next(r["text"] for r in json.loads(out)["rows"] if r["text"] and "<EMAIL_" in r["text"])
    token = re.search(r"<EMAIL_[0-9a-f]+>", token_text).group(0)
    code, out, err = cli("pii", "reveal", token, "--reason", "customer asked")
    assert code == 0, err
    assert "@" in out
    code, out, _ = cli("audit", "log", "--json")
    assert json.loads(out)[0]["action"] == "reidentify"
    assert cli("audit", "verify")[0] == 0


def test_anonymize_reaches_k_checked_by_an_independent_count(cli, tmp_path: Path) -> None:
    rnd = random.Random(4)
    path = tmp_path / "people.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["age", "zip", "sex", "disease"])
        for _ in range(600):
            w.writerow([rnd.randint(18, 90), f"0{rnd.randint(2100, 2199)}", rnd.choice("MF"),
                        rnd.choice(["flu", "asthma", "diabetes", "none"])])
    cli("init")
    assert cli("ingest", str(path), "--name", "people", "--role", "quasi_identifier=age,zip,sex",
               "--role", "sensitive=disease")[0] == 0
    code, out, err = cli("anonymize", "people", "--k", "5", "--l", "2", "--max-suppression", "0.05", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["suppressed"] <= 30
    cli("export", "people@2", str(tmp_path / "anon.parquet"))
    rows = pq.read_table(tmp_path / "anon.parquet").to_pylist()
    classes = Counter((r["age"], r["zip"], r["sex"]) for r in rows)
    assert min(classes.values()) >= 5
    diseases: dict[tuple, set] = {}
    for r in rows:
        diseases.setdefault((r["age"], r["zip"], r["sex"]), set()).add(r["disease"])
    assert min(len(s) for s in diseases.values()) >= 2
    assert len(rows) + res["suppressed"] == 600


def test_dp_budget_is_enforced(cli, tmp_path: Path) -> None:
    (tmp_path / "n.csv").write_text("x\n" + "\n".join(str(i % 50) for i in range(2000)) + "\n")
    cli("init")
    cli("ingest", str(tmp_path / "n.csv"), "--name", "n")
    assert cli("dp", "budget", "n", "--epsilon", "1")[0] == 0
    code, out, err = cli("dp", "release", "n", "--stat", "count", "--column", "x", "--epsilon", "0.8", "--json")
    assert code == 0, err
    assert abs(json.loads(out)["value"] - 2000) < 100
    code, _, err = cli("dp", "release", "n", "--stat", "mean", "--column", "x", "--epsilon", "0.5", "--bounds", "0,50")
    assert code == 1 and "only ε=0.2" in " ".join(err.split())
    code, out, _ = cli("dp", "status", "n", "--json")
    assert len(json.loads(out)["releases"]) == 1


def test_encrypt_and_decrypt_a_sensitive_column(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "p.csv").write_text("name,salary\nann,52000\nbob,61000\n")
    cli("init")
    cli("ingest", str(tmp_path / "p.csv"), "--name", "p", "--role", "sensitive=salary")
    monkeypatch.setenv("DATAMOAT_KEY", KEY)
    assert cli("encrypt", "p")[0] == 0
    cli("export", "p@2", str(tmp_path / "enc.parquet"))
    stored = pq.read_table(tmp_path / "enc.parquet").column("salary").to_pylist()
    assert all(b"61000" not in (v if isinstance(v, bytes) else str(v).encode()) for v in stored)
    out_file = tmp_path / "dec.csv"
    assert cli("decrypt", "p@2", "--column", "salary", "--out", str(out_file))[0] == 0
    assert "61000" in out_file.read_text()
    monkeypatch.setenv("DATAMOAT_KEY", "11" * 32)
    code, _, err = cli("decrypt", "p@2", "--column", "salary")
    assert code == 1 and "key" in err
