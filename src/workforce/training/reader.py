"""The roster reader process: reads and validates a roster file next to the import.

A roster import does two kinds of work per row: the database-free part (decoding the CSV or
XLSX, GB 11643 checksum, normalisation, the HMAC subject key, hours / date / course / scope
checks: :meth:`rosters.Validator.prepare`) and the part that needs the database (people,
``external_ref`` replays, the daily cap, the writes: :class:`imports.Importer`). For a large
file the first part runs in this child process while the import's own process does the
second, so the two overlap on two cores.

Protocol (:mod:`multiprocessing.connection` framing over two private pipes, fds passed with
``pass_fds``; nothing secret on the command line or in the environment):

* parent → child, once: a pickled :class:`ReaderConfig` (it holds the index key, so it only
  ever travels through the pipe; neither side logs it);
* child → parent, in file order: ``("rows", items, position, total)`` per chunk, where each
  item is a :class:`rosters.Prepared` *as a plain tuple* (cheaper to unpickle), its
  ``record_id`` made here, or a :class:`rosters.RowError`; then ``("end", position,
  total)``, or ``("refused", code, detail, line)`` for a :class:`rosters.FileRefused`, or
  ``("error", type name)``.

The pipe is the bounded queue: the child blocks on a full pipe (1 MiB when the kernel allows,
a chunk or two), so memory stays bounded whatever the file size. If the parent dies, the
child's next write fails and it exits; if the child dies, the parent reads end-of-file and
the import fails (:class:`ReaderLost`) with nothing written. The child's standard streams are
closed: a traceback could quote a cell.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import itertools
import os
import pickle
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

import uuid_utils

from workforce.security.pii import PiiVault
from workforce.training import rosters

PIPE_BYTES: Final = 1 << 20
"""Pipe buffer asked for (``F_SETPIPE_SZ``): room for a chunk or two, the queue's bound."""
_F_SETPIPE_SZ: Final = 1031
READER_ID_CACHE: Final = 10_000
"""ID numbers the reader remembers (see :attr:`rosters.Validator.id_cache`)."""
_PROTOCOL: Final = pickle.HIGHEST_PROTOCOL

Batch = tuple[list[rosters.Prepared | rosters.RowError], int, int]
"""A chunk of validated rows, with the reading position and total (progress units)."""


class ReaderLost(Exception):
    """The reader process ended without finishing the file (killed, crashed, or an error)."""


@dataclass(frozen=True)
class ReaderConfig:
    """What the child needs: the file, the validator's inputs and the index key."""

    path: Path
    file_format: str
    encoding: str | None
    chunk_rows: int
    courses: dict[str, rosters.CourseInfo]
    accreditations: list[rosters.AccreditationInfo]
    today: Any
    index_key: bytes
    native_uuid: bool = False
    """Record ids as :class:`uuid.UUID` (PostgreSQL) rather than 32 hex digits (SQLite)."""

    def __repr__(self) -> str:  # never print the key
        return f"ReaderConfig(path={self.path!r}, file_format={self.file_format!r})"


# --------------------------------------------------------------------------- parent side


class ReaderProcess:
    """The parent's handle on one reader child (see the module docstring)."""

    def __init__(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        with contextlib.suppress(OSError):
            fcntl.fcntl(from_child_w, _F_SETPIPE_SZ, PIPE_BYTES)
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - our interpreter, our module, fds only
                [sys.executable, "-m", __name__, str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=True,
            )
        except BaseException:
            for fd in (to_child_r, to_child_w, from_child_r, from_child_w):
                os.close(fd)
            raise
        os.close(to_child_r)
        os.close(from_child_w)
        self._outbox = Connection(to_child_w, readable=False)
        self._inbox = Connection(from_child_r, writable=False)

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._proc.pid

    def configure(self, config: ReaderConfig) -> None:
        """Send the file and validator settings (once); the child starts reading."""
        try:
            self._outbox.send_bytes(pickle.dumps(config, _PROTOCOL))
        except OSError:
            raise ReaderLost("the reader process is gone") from None
        finally:
            self._outbox.close()

    async def batches(self) -> AsyncIterator[Batch]:
        """The validated chunks in file order; ends at the end of the file.

        Raises:
            rosters.FileRefused: The file is unreadable from some line on (as in-process).
            ReaderLost: The child died or failed.
        """
        inbox = self._inbox
        fd = inbox.fileno()
        loop = asyncio.get_running_loop()
        new = tuple.__new__
        prepared = rosters.Prepared
        while True:
            if not inbox.poll(0):
                await _readable(loop, fd)
            try:
                message = pickle.loads(inbox.recv_bytes())  # noqa: S301 - our own child
            except (EOFError, OSError):
                raise ReaderLost("the reader process stopped before the end of the file") from None
            kind = message[0]
            if kind == "rows":
                items = [new(prepared, x) if type(x) is tuple else x for x in message[1]]
                yield items, message[2], message[3]
            elif kind == "end":
                return
            elif kind == "refused":
                raise rosters.FileRefused(message[1], message[2], message[3])
            else:
                raise ReaderLost(f"the reader process failed ({message[1]})")

    def close(self) -> None:
        """Stop the child (if still running) and reap it."""
        for conn in (self._outbox, self._inbox):
            with contextlib.suppress(OSError):
                conn.close()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()


async def _readable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    waiter = loop.create_future()

    def ready() -> None:
        if not waiter.done():
            waiter.set_result(None)

    loop.add_reader(fd, ready)
    try:
        await waiter
    finally:
        loop.remove_reader(fd)


# --------------------------------------------------------------------------- child side


def serve(inbox: Connection, outbox: Connection) -> None:
    """The child's whole life: read the config, then stream the validated chunks."""
    config: ReaderConfig = pickle.loads(inbox.recv_bytes())  # noqa: S301 - our own parent
    inbox.close()
    send = outbox.send_bytes
    dumps = pickle.dumps
    try:
        for kind, *rest in _validated(config):
            send(dumps((kind, *rest), _PROTOCOL))
    except rosters.FileRefused as exc:
        send(dumps(("refused", exc.code, exc.detail, exc.line), _PROTOCOL))
    except (BrokenPipeError, EOFError):
        raise
    except Exception as exc:  # reported by its type only: a message could quote a cell
        send(dumps(("error", type(exc).__name__), _PROTOCOL))


def _validated(config: ReaderConfig) -> Iterator[tuple[Any, ...]]:
    """The messages for the file: ``("rows", …)`` per chunk, then ``("end", …)``."""
    # A vault used for subject keys only: its encryption key is a throwaway, never used.
    vault = PiiVault(config.index_key, secrets.token_bytes(32))
    validator = rosters.Validator(
        vault=vault,
        courses=config.courses,
        accreditations=config.accreditations,
        today=config.today,
        # Smaller than in-process: this process has CPU to spare (a forgotten ID number costs
        # its checksum and HMAC again, ≈ 7 µs) and its memory adds to the import's.
        id_cache=READER_ID_CACHE,
    )
    source = rosters.RowSource(config.path, config.file_format, config.encoding)
    rows = source.rows()
    prepared = rosters.Prepared
    new_id = _uuid_object if config.native_uuid else _uuid_hex
    try:
        while items := validator.prepare(itertools.islice(rows, config.chunk_rows)):
            # Each accepted row comes with its record id (UUIDv7, as workforce.db.new_id).
            payload = [(*x[:8], new_id()) if type(x) is prepared else x for x in items]
            yield "rows", payload, source.position, source.total
    finally:
        rows.close()
    yield "end", source.position, source.total


def _uuid_hex() -> str:
    return str(uuid_utils.uuid7().hex)


def _uuid_object() -> uuid.UUID:
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)


def main(argv: list[str]) -> int:
    """``python -m workforce.training.reader IN_FD OUT_FD`` (started by :class:`ReaderProcess`)."""
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)
    inbox = Connection(int(argv[1]), writable=False)
    outbox = Connection(int(argv[2]), readable=False)
    try:
        serve(inbox, outbox)
    except (BrokenPipeError, EOFError):
        return 1  # the parent is gone: nothing to report to
    finally:
        outbox.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
