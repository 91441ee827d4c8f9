"""Refuse every network connection that does not go to this machine.

Imported automatically by Python in test subprocesses (this folder is put on PYTHONPATH by
tests/conftest.py) and installed in the test process itself. Any attempt to reach a
non-loopback address raises ``ConnectionRefusedError`` and is appended to the file named by
``DATAMOAT_NETGUARD_LOG``, which the test session checks at the end: a code path that tries to
go online fails the suite even if it swallowed the error.
"""

from __future__ import annotations

import ipaddress
import os
import socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _is_local(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]")
    if host in _LOCAL_NAMES:
        return True
    try:
        addr = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return addr.is_loopback or addr.is_unspecified


def _record(what: str) -> None:
    log = os.environ.get("DATAMOAT_NETGUARD_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {what}\n")


def _check(address: object, what: str) -> None:
    if isinstance(address, tuple) and address:
        host = address[0]
    elif isinstance(address, str | bytes):  # AF_UNIX path
        return
    else:
        host = address
    if not _is_local(host):
        _record(f"{what} {address!r}")
        raise ConnectionRefusedError(f"network access to {address!r} is blocked in tests")


def install() -> None:
    """Patch socket so that only loopback and unix sockets can be reached."""
    if getattr(socket, "_datamoat_guard", False):
        return
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo

    def connect(self, address):  # type: ignore[no-untyped-def]
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _check(address, "connect")
        return real_connect(self, address)

    def connect_ex(self, address):  # type: ignore[no-untyped-def]
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _check(address, "connect_ex")
        return real_connect_ex(self, address)

    def sendto(self, data, *args):  # type: ignore[no-untyped-def]
        if args and self.family in (socket.AF_INET, socket.AF_INET6):
            _check(args[-1], "sendto")
        return real_sendto(self, data, *args)

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        _check((host,), "getaddrinfo")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket._datamoat_guard = True  # type: ignore[attr-defined]


if os.environ.get("DATAMOAT_NETGUARD_LOG"):
    install()
