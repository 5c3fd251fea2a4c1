"""Serving with several worker processes, each accepting on its own ``SO_REUSEPORT`` socket.

``uvicorn --workers N`` forks N processes that share one listening socket; whichever process is
awake accepts, so under a burst of new connections one worker often takes nearly all of them
and the others idle (seen here: 64 of 64 keep-alive connections on one of two workers).  With
``SO_REUSEPORT`` each worker binds a socket of its own to the same address and the kernel spreads
incoming connections over them by a hash of the connection, so every worker gets its share.

The supervisor (:func:`serve`) starts the workers, restarts one that dies (giving up when a
worker keeps dying at start-up, e.g. on a bad configuration), and stops them all on SIGINT or
SIGTERM.  Where ``SO_REUSEPORT`` does not exist it falls back to uvicorn's own workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from typing import Any, Final

import uvicorn

__all__ = ["serve"]

log = logging.getLogger(__name__)

APP: Final = "workforce.app:create_app"
RESTART_WINDOW: Final = 10.0
"""A worker that dies within this many seconds of its start counts as a failed start."""
MAX_FAILED_STARTS: Final = 5
"""After this many failed starts in a row the supervisor stops and reports the failure."""
BACKLOG: Final = 2048


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    """One worker process: its own listening socket, one uvicorn server."""
    sock = _bind(host, port)
    sock.listen(BACKLOG)
    config = uvicorn.Config(APP, factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve(host: str, port: int, workers: int, **options: Any) -> None:
    """Serve the application on ``host:port`` with ``workers`` processes (see the module)."""
    options = {"proxy_headers": False, "server_header": False, **options}
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, **options)
        return
    # Fail early and clearly when the address is taken by a socket without SO_REUSEPORT.
    _bind(host, port).close()
    spawn = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        log.info("received signal %d, stopping the workers", signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def start() -> tuple[Any, float]:
        process = spawn.Process(target=_worker, args=(host, port, options), daemon=False)
        process.start()
        return process, time.monotonic()

    running = [start() for _ in range(workers)]
    failed_starts = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for i, (process, started) in enumerate(running):
                if process.is_alive() or stopping:
                    continue
                quick = time.monotonic() - started < RESTART_WINDOW
                failed_starts = failed_starts + 1 if quick else 0
                log.warning("worker %d exited with %s; restarting", process.pid, process.exitcode)
                if failed_starts >= MAX_FAILED_STARTS:
                    msg = f"workers keep exiting at start-up (last exit code {process.exitcode})"
                    raise SystemExit(msg)
                running[i] = start()
    finally:
        for process, _ in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        deadline = time.monotonic() + 30
        for process, _ in running:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
