"""The test suite runs offline, and nothing in datamoat may try to go online."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def test_offline_environment_is_set() -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_guard_blocks_non_loopback_in_this_process() -> None:
    log = Path(os.environ["DATAMOAT_NETGUARD_LOG"])
    before = log.read_text() if log.exists() else ""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(ConnectionRefusedError):
            sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never routable
    finally:
        sock.close()
    # the attempt was logged; remove it so the session check only sees real offenders
    assert "192.0.2.1" in log.read_text()
    log.write_text(before)


def test_guard_allows_loopback() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=5)
    conn, _ = server.accept()
    client.sendall(b"ok")
    assert conn.recv(2) == b"ok"
    for s in (client, conn, server):
        s.close()


def test_guard_is_active_in_subprocesses(tmp_path: Path) -> None:
    code = (
        "import socket\n"
        "try:\n"
        "    socket.getaddrinfo('example.com', 443)\n"
        "except ConnectionRefusedError:\n"
        "    print('blocked')\n"
    )
    log = tmp_path / "guard.log"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        env={**os.environ, "DATAMOAT_NETGUARD_LOG": str(log)},
    )
    assert out.stdout.strip() == "blocked"
    assert "example.com" in log.read_text()


def test_cli_help_and_demo_run_do_not_touch_the_network(tmp_path: Path) -> None:
    """A whole CLI session in a subprocess: the guard log stays empty."""
    log = tmp_path / "guard.log"
    env = {**os.environ, "DATAMOAT_NETGUARD_LOG": str(log)}
    ws = tmp_path / "ws"
    demo = tmp_path / "demo"
    for args in (
        ["--help"],
        ["demo-data", str(demo), "--tickets", "300"],
        # the bundled encoder (transformers) is the part that could reach for the hub
        ["-w", str(ws), "run", str(demo / "tickets.csv"), "--text", "text", "--label", "intent",
         "--model", "embed-linear", "--json"],
        ["-w", str(ws), "explain", "tickets", "I was charged twice"],
    ):
        proc = subprocess.run([sys.executable, "-m", "datamoat", *args], capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
    assert not log.exists() or log.read_text() == ""
