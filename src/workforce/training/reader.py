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
  ``record_id`` made here, or a :class:`rosters.RowError`; or ``("ready", chunk, position,
  total)``, a :class:`ReadyChunk` (below); then ``("end", position, total)``, or
  ``("refused", code, detail, line)`` for a :class:`rosters.FileRefused`, or ``("error",
  type name)``.

**Ready chunks** (SQLite only, :class:`Lookups` in the config). The child also opens the
database read-only, in ONE read transaction begun after the import's process took the write
lock (``BEGIN IMMEDIATE``): as long as the import runs nobody else can commit, so this snapshot
is exactly what the import's transaction saw when it began. The child then looks up the
chunk's people (by subject key) and probes its ``external_ref`` values, and when a chunk is
*plain* — every person registered before the import, every name as registered, no reference
already recorded before the import, none repeated within the chunk, no day over the cap
within the chunk — it sends the final record parameter tuples, the aggregate sums and the
people's regions and positions (:class:`ReadyChunk`), so that the import's process has no
Python work per row left: it checks what only its own transaction can know (references that
an earlier chunk of this very file used — the child flags every row whose reference it may
have seen before, with a Bloom filter, and the importer checks those exactly — and hours the
import already wrote on a row's day) and writes. Any other chunk goes as ``"rows"`` and is
checked row by row as before (:meth:`imports.Importer.process`).

The pipe is the bounded queue: the child blocks on a full pipe (1 MiB when the kernel allows,
a chunk or two), so memory stays bounded whatever the file size. If the parent dies, the
child's next write fails and it exits; if the child dies, the parent reads end-of-file and
the import fails (:class:`ReaderLost`) with nothing written. The child's standard streams are
closed: a traceback could quote a cell.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import itertools
import json
import os
import pickle
import secrets
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple
from urllib.parse import quote

import uuid_utils

from workforce.rules.engine import RuleSet
from workforce.security.pii import PiiVault
from workforce.training import rosters
from workforce.training.ruleindex import RuleIndex, Subject, Totals

if TYPE_CHECKING:
    import asyncio

PIPE_BYTES: Final = 1 << 20
"""Pipe buffer asked for (``F_SETPIPE_SZ``): room for a chunk or two, the queue's bound."""
_F_SETPIPE_SZ: Final = 1031
READER_ID_CACHE: Final = 10_000
"""ID numbers the reader remembers (see :attr:`rosters.Validator.id_cache`)."""
_PROTOCOL: Final = pickle.HIGHEST_PROTOCOL

RECORD_COLUMNS: Final = (
    "id",
    "base_org_id",
    "practitioner_id",
    "course_id",
    "course_code",
    "category",
    "mode",
    "hours_tenths",
    "completed_on",
    "external_ref",
    "import_id",
    "created_at",
)
"""The ``training_records`` columns of a record parameter tuple, in order. Two passes build
such tuples and must stay identical: the importer's row by row (``imports._Batch.adder``) and
this child's ready pass (:meth:`_Lookup.ready`); both are inlined, one per row, for speed."""
REC_PID, REC_CATEGORY, REC_MODE, REC_TENTHS, REC_DAY, REC_REF = (
    RECORD_COLUMNS.index(name)
    for name in (
        "practitioner_id",
        "category",
        "mode",
        "hours_tenths",
        "completed_on",
        "external_ref",
    )
)
"""Positions in a record parameter tuple (:data:`RECORD_COLUMNS`)."""


class ReadyChunk(NamedTuple):
    """A plain chunk (see the module docstring), in the driver's native values (SQLite)."""

    records: list[tuple[Any, ...]]
    """The ``training_records`` parameter tuples, in line order (:data:`RECORD_COLUMNS`)."""
    lines: list[int]
    """The line of each record."""
    errors: list[tuple[int, str, str, str | None]]
    """The rows refused by the checks: ``(line, code, detail, external_ref)``."""
    cells: list[tuple[str, str, int, str, int, int]]
    """``(practitioner, category, year, mode, tenths, records)`` summed over the records."""
    people: list[tuple[str, str, str]]
    """``(practitioner, region_code, positions JSON text)`` of the chunk's practitioners."""
    flagged: list[int]
    """Indexes of the records whose reference an earlier chunk may have used (Bloom filter)."""
    met: list[tuple[str, list[tuple[tuple[str, int, str], int]], list[Any]]] | None
    """Per practitioner whose hours count for some rule: ``(practitioner, totals before the
    import, rule-met flips)`` as :meth:`RuleIndex.flips` gives them from those totals; the
    importer uses the flips when its own totals before the chunk are the same (None: no rule
    set given)."""


Batch = tuple[list[rosters.Prepared | rosters.RowError] | ReadyChunk, int, int]
"""A chunk of validated rows, with the reading position and total (progress units)."""


@dataclass(frozen=True)
class Lookups:
    """What the child needs to look rows up in the database itself (SQLite only)."""

    database: str
    """The SQLite database file."""
    base: str
    """The importing base's id (native: 32 hex digits)."""
    import_id: str
    """The import's id (native)."""
    created_at: str
    """The records' ``created_at`` (native text)."""
    cap: int
    """The daily cap in tenths (:attr:`Settings.max_hours_per_day_tenths`)."""
    ruleset: RuleSet | None = None
    """The rule set the rule-met counts follow (None: the importer evaluates the rules)."""


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
    lookups: Lookups | None = None
    """Send plain chunks ready to write (SQLite); None: every chunk as ``"rows"``."""
    first_chunk_rows: int | None = None
    """Rows of the first chunk (smaller: the import starts writing sooner); None: chunk_rows."""
    skip_rows: int = 0
    """Data rows at the head of the file that the importer reads itself while this process
    starts up: they are only read here, their references noted (see :class:`Lookups`)."""

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
        import asyncio  # noqa: PLC0415 - parent side only: the child starts faster without it

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
            if kind == "ready":
                yield new(ReadyChunk, message[1]), message[2], message[3]
            elif kind == "rows":
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
        for message in _validated(config):
            send(dumps(message, _PROTOCOL))
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
    lookups = _open_lookups(config.lookups, source)
    size = config.first_chunk_rows or config.chunk_rows
    try:
        for row in itertools.islice(rows, config.skip_rows):
            if lookups is not None:
                lookups.note(row)
        while items := validator.prepare(itertools.islice(rows, size)):
            size = config.chunk_rows
            ready = None
            if lookups is not None:
                try:
                    ready = lookups.ready(items)
                except sqlite3.Error:
                    # The snapshot became unusable (an I/O error…): the rest goes row by row,
                    # which needs nothing from this process's database connection.
                    lookups.close()
                    lookups = None
            if ready is not None:
                yield "ready", ready, source.position, source.total
                continue
            # Each accepted row comes with its record id (UUIDv7, as workforce.db.new_id).
            payload = [(*x[:8], new_id()) if type(x) is prepared else x for x in items]
            yield "rows", payload, source.position, source.total
    finally:
        rows.close()
        if lookups is not None:
            lookups.close()
    yield "end", source.position, source.total


def _open_lookups(lookups: Lookups | None, source: rosters.RowSource) -> _Lookup | None:
    """The read-only snapshot; None (every chunk row by row) when the database cannot be
    opened here."""
    if lookups is None:
        return None
    try:
        return _Lookup(lookups, source)
    except sqlite3.Error:
        return None


_PEOPLE_CACHE: Final = 20_000
_REF_CELL: Final = rosters.COLUMNS.index("external_ref")
_BLOOM_BITS_PER_ROW: Final = 32
_BLOOM_MIN_BITS: Final = 1 << 16
_BLOOM_MAX_BITS: Final = 1 << 26
_CSV_BYTES_PER_ROW: Final = 40
"""A low estimate of a roster line's size (more rows estimated: a larger, safer filter)."""


class _Bloom:
    """The references seen so far in the file: no false negatives, few false positives.

    Two bits per reference (32 bits of filter per expected row; at most 8 MiB, reached by a
    file of 2·10^6 rows) instead of the references themselves: by the end of a file at most
    about one row in 270 is flagged by mistake, which only costs the importer an exact look.
    """

    def __init__(self, expected_rows: int) -> None:
        bits = _BLOOM_MIN_BITS
        while bits < expected_rows * _BLOOM_BITS_PER_ROW and bits < _BLOOM_MAX_BITS:
            bits <<= 1
        self.mask = bits - 1
        self.bits = bytearray(bits >> 3)

    def add(self, value: str) -> bool:
        """Note ``value``; whether it may have been noted before."""
        h = hash(value)
        bits, mask = self.bits, self.mask
        a, b = h & mask, (h >> 32) & mask
        byte_a, bit_a, byte_b, bit_b = a >> 3, 1 << (a & 7), b >> 3, 1 << (b & 7)
        if bits[byte_a] & bit_a and bits[byte_b] & bit_b:
            return True
        bits[byte_a] |= bit_a
        bits[byte_b] |= bit_b
        return False


class _Lookup:
    """The child's read-only view of the database (see "Ready chunks" in the module docstring)."""

    def __init__(self, lookups: Lookups, source: rosters.RowSource) -> None:
        self.lookups = lookups
        uri = f"file:{quote(lookups.database)}?mode=ro"
        self._db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 30000")
        self._db.execute("BEGIN")
        # The snapshot is taken by the first read: the import already holds the write lock.
        self._db.execute("SELECT 1 FROM training_records LIMIT 1").fetchall()
        size = source.total if source.file_format == "csv" else source.path.stat().st_size
        self._seen = _Bloom(size // _CSV_BYTES_PER_ROW + 1)
        self._people: dict[bytes, tuple[str, str, str, str]] = {}
        self._days_text: dict[Any, str] = {}
        self._positions: dict[str, tuple[str, ...]] = {}
        self._rules = RuleIndex(lookups.ruleset) if lookups.ruleset is not None else None
        self._new_id = _uuid_hex

    def note(self, row: rosters.RawRow) -> None:
        """A row the importer reads itself: remember its reference as seen."""
        ref = rosters.ref_text(row.cells[_REF_CELL])
        if ref:
            self._seen.add(ref)

    def close(self) -> None:
        """End the read transaction."""
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("COMMIT")
        self._db.close()

    def _lookup_people(self, keys: set[bytes]) -> None:
        people = self._people
        missing = [key for key in keys if key not in people]
        if not missing:
            return
        if len(people) + len(missing) > _PEOPLE_CACHE:
            people.clear()
        for start in range(0, len(missing), 30_000):
            part = missing[start : start + 30_000]
            rows = self._db.execute(
                "SELECT subject_key, id, name, region_code, positions FROM practitioners "  # noqa: S608 - placeholders only
                f"WHERE subject_key IN ({', '.join('?' * len(part))})",
                part,
            )
            for key, pid, name, region, positions in rows:
                people[bytes(key)] = (pid, name, region, positions)

    def _recorded(self, refs: list[str]) -> bool:
        """Whether any reference was recorded by the base before the import."""
        row = self._db.execute(
            "SELECT 1 FROM training_records WHERE base_org_id = ? "
            "AND external_ref IN (SELECT value FROM json_each(?)) LIMIT 1",
            (self.lookups.base, json.dumps(refs)),
        ).fetchone()
        return row is not None

    def ready(  # noqa: PLR0912, PLR0915 - one flat pass over the chunk, for speed
        self, items: list[rosters.Prepared | rosters.RowError]
    ) -> tuple[Any, ...] | None:
        """The chunk as a :class:`ReadyChunk` tuple, or None when it is not plain."""
        error_type = rosters.RowError
        people = self._people
        missing = {
            item.subject_key
            for item in items
            if not isinstance(item, error_type) and item.subject_key not in people
        }
        if missing:
            self._lookup_people(missing)
        seen = self._seen.add
        lookups = self.lookups
        base, import_id, now, cap = lookups.base, lookups.import_id, lookups.created_at, lookups.cap
        new_id = self._new_id
        days_text = self._days_text
        chunk_refs: set[str] = set()
        flagged: list[int] = []
        errors: list[tuple[int, str, str, str | None]] = []
        records: list[tuple[Any, ...]] = []
        lines: list[int] = []
        append, add_line, add_ref = records.append, lines.append, chunk_refs.add
        cells: dict[tuple[str, str, int, str], list[int]] = {}
        day_sums: dict[tuple[str, Any], int] = {}
        chunk_people: dict[str, tuple[str, str, str]] = {}
        get_person, get_sum, get_cell = people.get, day_sums.get, cells.get
        plain = True
        for item in items:
            if isinstance(item, error_type):
                if item.ref:
                    add_ref(item.ref)
                    seen(item.ref)
                errors.append((item.line, item.code, item.detail, item.ref))
                continue
            line, key, _, name, course, tenths, day, ref, _ = item
            # Every reference is noted, also in a chunk that turns out not plain.
            if ref in chunk_refs:
                plain = False
            add_ref(ref)
            if seen(ref):
                flagged.append(len(records))
            if not plain:
                continue
            person = get_person(key)
            if person is None or person[1] != name:
                plain = False
                continue
            pid = person[0]
            total = get_sum((pid, day), 0) + tenths
            if total > cap:
                plain = False
                continue
            day_sums[(pid, day)] = total
            text = days_text.get(day)
            if text is None:
                text = days_text[day] = day.isoformat()
            category, mode = course.category, course.mode
            # In RECORD_COLUMNS order, as imports._Batch.adder builds it.
            append(
                (
                    new_id(),
                    base,
                    pid,
                    course.id,
                    course.code,
                    category,
                    mode,
                    tenths,
                    text,
                    ref,
                    import_id,
                    now,
                )
            )
            add_line(line)
            cell = (pid, category, day.year, mode)
            acc = get_cell(cell)
            if acc is None:
                cells[cell] = [tenths, 1]
                if pid not in chunk_people:
                    chunk_people[pid] = (pid, person[2], person[3])
            else:
                acc[0] += tenths
                acc[1] += 1
        if not plain or not records or self._recorded([r[REC_REF] for r in records]):
            return None
        summed = [(*cell, acc[0], acc[1]) for cell, acc in cells.items()]
        return (
            records,
            lines,
            errors,
            summed,
            list(chunk_people.values()),
            flagged,
            self._flips(summed, chunk_people) if self._rules is not None else None,
        )

    def _flips(
        self,
        cells: list[tuple[str, str, int, str, int, int]],
        chunk_people: dict[str, tuple[str, str, str]],
    ) -> list[tuple[str, list[tuple[tuple[str, int, str], int]], list[Any]]]:
        """The rule-met flips of the chunk's practitioners, from their committed totals."""
        rules = self._rules
        assert rules is not None  # noqa: S101 - the caller checked
        counted = rules.counted
        deltas: dict[str, Totals] = {}
        for pid, category, year, mode, tenths, _ in cells:
            if category in counted:
                deltas.setdefault(pid, {})[(category, year, mode)] = tenths
        if not deltas:
            return []
        before: dict[str, Totals] = {}
        for pid, category, year, mode, tenths in self._db.execute(
            "SELECT practitioner_id, category, year, mode, hours_tenths FROM training_totals "
            "WHERE practitioner_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(deltas)),),
        ):
            before.setdefault(pid, {})[(category, year, mode)] = tenths
        positions = self._positions
        out = []
        for pid, changes in deltas.items():
            _, region, raw = chunk_people[pid]
            found = positions.get(raw)
            if found is None:
                found = positions[raw] = tuple(json.loads(raw)) if raw else ()
            start = before.get(pid)
            flips = rules.flips(Subject(pid, region, found), start, changes)  # type: ignore[arg-type]
            out.append((pid, list(start.items()) if start else [], flips))
        return out


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
