"""``workforce serve --workers N``: every worker gets connections; a dead worker is replaced.

The server runs as a real process tree on a free port (embedded database in a temporary
directory).  Which worker holds which connection is read from ``/proc`` (Linux only).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not Path("/proc/net/tcp").exists() or not hasattr(socket, "SO_REUSEPORT"),
    reason="needs Linux /proc and SO_REUSEPORT",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


def _workers(pid: int) -> list[int]:
    """The supervisor's worker processes (multiprocessing's resource tracker excluded)."""
    out = []
    for child in _children(pid):
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"resource_tracker" not in cmdline:
            out.append(child)
    return out


def _established_inodes(port: int) -> set[str]:
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01":  # ESTABLISHED, server side
            inodes.add(fields[9])
    return inodes


def _sockets_of(pid: int, inodes: set[str]) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            count += 1
    return count


def _get_health(conn: socket.socket) -> bytes:
    conn.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(4096)
    return data


def _wait_ready(port: int, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                if b" 200 " in _get_health(conn):
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not become ready")


@pytest.fixture
def server(tmp_path: Path) -> object:
    port = _free_port()
    env = {
        **os.environ,
        "WORKFORCE_VAR_DIR": str(tmp_path / "var"),
        "WORKFORCE_KEYS_DIR": str(tmp_path / "keys"),
        "WORKFORCE_ENVIRONMENT": "test",
    }
    env.pop("WORKFORCE_DATABASE_URL", None)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "workforce.cli", "serve", "--port", str(port)),
            *("--workers", "2", "--no-access-log", "--log-level", "warning"),
        ],
        env=env,
        start_new_session=True,
    )
    try:
        _wait_ready(port)
        yield proc, port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_every_worker_gets_connections_and_a_dead_one_is_replaced(server: object) -> None:
    proc, port = server  # type: ignore[misc]
    workers = _workers(proc.pid)
    assert len(workers) == 2
    conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(32)]
    try:
        for conn in conns:
            assert b" 200 " in _get_health(conn)
        inodes = _established_inodes(port)
        held = {pid: _sockets_of(pid, inodes) for pid in workers}
        # 32 connections hashed over two sockets: all on one would happen once in 2^31 runs.
        assert sum(held.values()) == 32
        assert all(n > 0 for n in held.values()), held
    finally:
        for conn in conns:
            conn.close()
    os.kill(workers[0], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = _workers(proc.pid)
        if len(now) == 2 and workers[0] not in now:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the dead worker was not replaced")
    _wait_ready(port)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=40) == 0
    assert _workers(proc.pid) == []


def test_an_address_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            "WORKFORCE_VAR_DIR": str(tmp_path / "var"),
            "WORKFORCE_KEYS_DIR": str(tmp_path / "keys"),
        }
        env.pop("WORKFORCE_DATABASE_URL", None)
        result = subprocess.run(
            [sys.executable, "-m", "workforce.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
