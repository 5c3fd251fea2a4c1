"""Roster imports: spooling, the background worker, liveness and status.

The upload is streamed to ``<var_dir>/imports/<id>.upload`` (mode 0600) and deleted as soon as
the import ends, whatever the outcome: it holds ID numbers.

**All or nothing.** The worker validates and writes the whole file in ONE transaction, chunk by
chunk (bulk lookups, bulk ``INSERT``s, running aggregates), and sets the status ``done`` in
that same transaction. A crash, a kill or an error anywhere leaves no record, total or
registration behind; the import then reads ``failed``.

**Liveness.** A worker holds an exclusive ``flock`` on ``<id>.lock`` for its whole life (the
kernel drops it when the process dies) and, on PostgreSQL, also refreshes ``heartbeat_at``
from a side connection. A ``running`` import is *lost* when its lock file exists but nobody
holds the lock any more, or, without a lock file here (another host, or a worker that never
started), when its heartbeat is older than :data:`STALE_AFTER_SECONDS`. Lost imports are
marked ``failed`` when read or when the base starts another import; their files are deleted.

**Concurrency.** SQLite: the transaction holds the database's write lock, so other writers
wait (up to the busy timeout) while an import runs. PostgreSQL: imports take an exclusive
transaction-level advisory lock and single training writes a shared one, which keeps the
daily-hours cap exact and rules out deadlocks between imports and single writes.

**Speed** (figures in ``bench/results/training.md``). Per chunk of :data:`CHUNK_ROWS` rows:
the file is read and validated (a quote-free CSV is split with ``str.split``, and cells
already proven valid — the same ID number, hours, date — are recognised by dictionary
lookups, see :meth:`rosters.Validator.prepare`); then one pass in line order applies the
checks that need the database, builds the record tuples and sums the aggregate changes per
(practitioner, category, year, mode); then a handful of statements: bulk lookups of
references, people, running totals and (only for people with hours that year) per-day hours,
and ``executemany`` inserts and upserts on native driver values
(:mod:`workforce.training.bulk`). Rule-met counts use :class:`ruleindex.RuleIndex` (rules in
force resolved once per region, positions and year).

Reading and validating runs, for a file of :data:`READER_PROCESS_MIN_BYTES` or more, in a
child process (:mod:`workforce.training.reader`: it also makes the record ids) that streams
validated chunks through a pipe while this process checks and writes the previous ones: two
cores work at once. This process reads the first :data:`HEAD_ROWS` rows itself while the child
starts. On SQLite the child also looks the chunks up in a read-only snapshot and sends the
plain ones *ready* (:class:`reader.ReadyChunk`: record parameter tuples, sums, rule-met flips),
which :meth:`Importer.process_ready` writes after checking only what this transaction alone
knows (references flagged as used by an earlier chunk; days of practitioners with hours already
written that year); then this process does little but SQLite's own work. Smaller files, or a
host where no process can be started, use the single-process path: a worker thread reads and
validates a chunk, then the chunk is written, in turns (SQLite's ``executemany`` re-takes the
GIL for every row, so a busy Python thread next to it slows it down more than the overlap
saves). All paths give the same outcome (tested, including random rosters imported both ways
into copies of one database). If the child dies the import fails (``worker_lost``) and nothing
is written. The cyclic garbage collector runs less often while imports run
(:func:`_gc_relaxed`). Memory stays bounded by the chunk size, the pipe, the per-import caches
and the child's Bloom filter (at most 8 MiB), whatever the file size.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import gc
import hashlib
import itertools
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import anyio.to_thread
import multipart  # type: ignore[import-untyped]
from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from workforce.context import AppContext
from workforce.db import begin_write, utcnow
from workforce.errors import BadRequest, Invalid, NotFound, PayloadTooLarge, Reason, RuleRefused
from workforce.practitioners import service as practitioners
from workforce.redact import redact
from workforce.security.idnumber import today_in_china
from workforce.security.principal import Principal
from workforce.settings import Settings
from workforce.training import aggregates, reader, rosters
from workforce.training import service as training
from workforce.training.bulk import SQLITE_MAX_PARAMS, Bulk
from workforce.training.models import (
    RosterImport,
    RosterImportError,
)
from workforce.training.ruleindex import RuleIndex, Subject, Totals

log = logging.getLogger("workforce.training.imports")

CHUNK_ROWS: Final = 5_000
STALE_AFTER_SECONDS: Final = 60
HEARTBEAT_SECONDS: Final = 10
ORPHAN_AFTER_SECONDS: Final = 600
"""A spooled file with no live worker is deleted once it is this old (crash leftovers)."""
MAX_LISTED_ERRORS: Final = 1_000

DUPLICATE_IN_FILE: Final = "duplicate_in_file"
NAME_MISMATCH: Final = "name_mismatch"
_DUPLICATE_DETAIL: Final = "external_ref appears earlier in the file"
WORKER_LOST: Final = "worker_lost"
INTERNAL_ERROR: Final = "internal_error"


# --------------------------------------------------------------------------- files


def imports_dir(settings: Settings) -> Path:
    """``<var_dir>/imports``, created private (0700)."""
    path = settings.var_dir / "imports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def upload_path(settings: Settings, import_id: uuid.UUID) -> Path:
    """Where the uploaded file of an import is spooled."""
    return imports_dir(settings) / f"{import_id}.upload"


def lock_path(settings: Settings, import_id: uuid.UUID) -> Path:
    """The worker's lock file of an import."""
    return imports_dir(settings) / f"{import_id}.lock"


def remove_files(settings: Settings, import_id: uuid.UUID) -> None:
    """Delete an import's spooled file and lock file (idempotent)."""
    for path in (upload_path(settings, import_id), lock_path(settings, import_id)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@dataclass
class Spooled:
    """A file written under ``<var_dir>/imports``."""

    path: Path
    size: int = 0
    sha256: str = ""
    filename: str = "roster"
    file_format: str = "csv"
    encoding: str | None = None


class SpoolWriter:
    """Writes an upload to its spool file with a size limit, hashing as it goes."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.size = 0
        self._hash = hashlib.sha256()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file = os.fdopen(fd, "wb")

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append data; 413 beyond the limit (the partial file is removed)."""
        self.size += len(data)
        if self.size > self.limit:
            self.discard()
            raise PayloadTooLarge(
                f"the file is larger than {self.limit:,} bytes", code="file_too_large"
            )
        self._hash.update(data)
        self._file.write(data)

    def close(self) -> str:
        """Finish the file; returns its SHA-256 (hex)."""
        self._file.close()
        return self._hash.hexdigest()

    def discard(self) -> None:
        """Close and delete the partial file."""
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def safe_filename(name: str | None) -> str:
    """A displayable file name: base name only, ID-number-like text masked, 200 chars."""
    base = (name or "roster").replace("\\", "/").rsplit("/", 1)[-1].strip() or "roster"
    return redact(base)[:200]


MAX_FORM_FIELD_BYTES: Final = 64 * 1024
_MULTIPART_SLACK: Final = 1 << 20


class _FormSpooler:
    """Routes the events of a multipart parser: the ``file`` part to disk, the rest dropped."""

    def __init__(self, path: Path, limit: int) -> None:
        self.spooled = Spooled(path=path)
        self.limit = limit
        self.writer: SpoolWriter | None = None
        self.found = False
        self._in_file = False
        self._field_bytes = 0

    def feed(self, event: Any) -> None:
        if isinstance(event, multipart.MultipartSegment):
            self._field_bytes = 0
            self._in_file = event.name == "file" and not self.found
            if self._in_file:
                self.found = True
                self.spooled.filename = event.filename or "roster"
                self.writer = SpoolWriter(self.spooled.path, self.limit)
        elif event:
            if self._in_file and self.writer is not None:
                self.writer.write(event)
                return
            self._field_bytes += len(event)
            if self._field_bytes > MAX_FORM_FIELD_BYTES:
                raise BadRequest("form field too large", code="malformed_multipart")
        elif self._in_file and self.writer is not None:
            self.spooled.sha256 = self.writer.close()
            self.spooled.size = self.writer.size
            self.writer, self._in_file = None, False

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.discard()


async def receive_upload(
    body: AsyncIterator[bytes],
    content_type: str,
    content_length: int | None,
    settings: Settings,
    import_id: uuid.UUID,
) -> Spooled:
    """Stream a ``multipart/form-data`` body's ``file`` part to the import's spool file.

    Nothing but the current network chunk is held in memory. The file part may have up to
    ``settings.max_upload_bytes``; other parts are read and dropped (64 KiB each at most).

    Raises:
        BadRequest: Not multipart, no boundary, malformed (400).
        Invalid: No ``file`` part (422 ``file_required``).
        PayloadTooLarge: The file exceeds the limit (413).
    """
    limit = settings.max_upload_bytes
    if content_length is not None and content_length > limit + _MULTIPART_SLACK:
        raise PayloadTooLarge(f"the file is larger than {limit:,} bytes", code="file_too_large")
    media, options = multipart.parse_options_header(content_type)
    boundary = options.get("boundary")
    if media != "multipart/form-data" or not boundary:
        raise BadRequest("send the file as multipart/form-data", code="malformed_multipart")
    form = _FormSpooler(upload_path(settings, import_id), limit)
    try:
        with multipart.PushMultipartParser(
            boundary, max_segment_count=16, max_header_size=8192
        ) as parser:
            async for chunk in _with_eof(body):
                for event in parser.parse(chunk):
                    form.feed(event)
            if not parser.closed:
                raise BadRequest("the multipart body ended early", code="malformed_multipart")
    except (multipart.MultipartError, ValueError) as exc:
        form.discard()
        remove_files(settings, import_id)
        raise BadRequest(
            f"malformed multipart body ({type(exc).__name__})", code="malformed_multipart"
        ) from None
    except BaseException:
        form.discard()
        remove_files(settings, import_id)
        raise
    if not form.found or not form.spooled.sha256:
        remove_files(settings, import_id)
        raise Invalid("the form has no 'file' part", code="file_required")
    return form.spooled


async def _with_eof(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The body's chunks, then exactly one empty chunk (the parser's end-of-input signal)."""
    async for chunk in body:
        if chunk:
            yield chunk
    yield b""


def inspect_file(spooled: Spooled) -> None:
    """Detect format and encoding (422 with a precise code when unusable)."""
    try:
        spooled.file_format, spooled.encoding = rosters.sniff(spooled.path)
    except rosters.FileRefused as exc:
        raise Invalid(exc.detail, code=exc.code) from None


# --------------------------------------------------------------------------- liveness


class WorkerLock:
    """An exclusive ``flock`` held by a live worker (released by the kernel on death)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, then publish it under its name (so nobody sees it unlocked)."""
        temp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(temp, self.path)
        self._fd = fd

    def release(self) -> None:
        """Delete the file and drop the lock."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None


def lock_held(path: Path) -> bool | None:
    """Whether a live process holds the lock file (None: there is no such file)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def worker_alive(settings: Settings, row: RosterImport, now: dt.datetime | None = None) -> bool:
    """Whether the worker of a ``running`` import is still there (see the module docstring)."""
    held = lock_held(lock_path(settings, row.id))
    if held is None:
        age = (now or utcnow()) - row.heartbeat_at
        return age.total_seconds() < STALE_AFTER_SECONDS
    return held


def sweep_orphans(settings: Settings, older_than: float = ORPHAN_AFTER_SECONDS) -> int:
    """Delete spooled files no live worker holds (left by a crash); returns how many."""
    now = time.time()
    removed = 0
    for path in imports_dir(settings).iterdir():
        try:
            if now - path.stat().st_mtime < older_than:
                continue
        except FileNotFoundError:
            continue
        if path.suffix == ".tmp":
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        if path.suffix != ".upload":
            continue
        try:
            import_id = uuid.UUID(path.stem)
        except ValueError:
            continue
        if lock_held(lock_path(settings, import_id)):
            continue
        remove_files(settings, import_id)
        removed += 1
    return removed


async def reap_stale(
    session: AsyncSession, settings: Settings, import_ids: list[uuid.UUID] | None = None
) -> int:
    """Mark ``running`` imports whose worker is gone as ``failed``; delete their files.

    Call it before writing anything in the transaction: when it has work to do, it ends the
    current (read) transaction and starts a writing one.
    """
    stmt = select(RosterImport).where(RosterImport.status == "running")
    if import_ids is not None:
        stmt = stmt.where(RosterImport.id.in_(import_ids))
    lost = [row for row in (await session.scalars(stmt)).all() if not worker_alive(settings, row)]
    if not lost:
        return 0
    ids = [row.id for row in lost]
    # Nothing was written yet: end the read so the write starts as a writer (BEGIN IMMEDIATE).
    # (This expires the session's objects; the lost rows are refreshed below.)
    await session.rollback()
    await begin_write(session)
    for import_id in ids:
        result = await session.execute(
            update(RosterImport)
            .where(RosterImport.id == import_id, RosterImport.status == "running")
            .values(
                status="failed",
                failure_code=WORKER_LOST,
                failure_detail="the import worker stopped before finishing; nothing was recorded",
                finished_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            remove_files(settings, import_id)
    for row in lost:
        await session.refresh(row)
    return len(lost)


# --------------------------------------------------------------------------- start / status


async def start_import(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    import_id: uuid.UUID,
    spooled: Spooled,
) -> RosterImport:
    """Record a new ``running`` import of a spooled, inspected file (caller's transaction)."""
    await begin_write(session)
    row = RosterImport(
        id=import_id,
        base_org_id=actor.org_id,
        client_id=actor.client_id,
        filename=safe_filename(spooled.filename),
        file_format=spooled.file_format,
        encoding=spooled.encoding,
        size_bytes=spooled.size,
        sha256=spooled.sha256,
        status="running",
        total_rows=0,
        accepted=0,
        rejected=0,
        already_recorded=0,
        registered=0,
        heartbeat_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    del ctx
    return row


async def require_accredited(session: AsyncSession, actor: Principal) -> None:
    """422 ``base_not_accredited`` for a base that was never accredited."""
    if not await training.accreditations_of(session, actor.org_id):
        raise RuleRefused(
            "your training base holds no accreditation",
            code=training.BASE_NOT_ACCREDITED,
            reasons=[
                Reason(training.BASE_NOT_ACCREDITED, "your training base holds no accreditation")
            ],
        )


async def get_import(
    session: AsyncSession, ctx: AppContext, actor: Principal, import_id: uuid.UUID
) -> tuple[RosterImport, list[RosterImportError], bool]:
    """An import of the caller's base with its first errors (and whether more exist)."""
    row = await session.get(RosterImport, import_id)
    if row is None or row.base_org_id != actor.org_id:
        raise NotFound("no such import", code="import_not_found")
    if row.status == "running":
        await reap_stale(session, ctx.settings, [row.id])
    errors = list(
        (
            await session.scalars(
                select(RosterImportError)
                .where(RosterImportError.import_id == row.id)
                .order_by(RosterImportError.line)
                .limit(MAX_LISTED_ERRORS + 1)
            )
        ).all()
    )
    return row, errors[:MAX_LISTED_ERRORS], len(errors) > MAX_LISTED_ERRORS


# --------------------------------------------------------------------------- the worker


@dataclass(slots=True)
class _Person:
    id: Any
    """Native id (see :class:`Bulk`); None until registered."""
    name: str
    region_code: str
    positions: tuple[str, ...]
    number: str = ""


@dataclass
class _Counts:
    total_rows: int = 0
    accepted: int = 0
    rejected: int = 0
    already_recorded: int = 0
    registered: int = 0


_Candidate = tuple[rosters.Prepared, _Person, Any]
"""A row that may be written: the row, its person and its day as the driver wants it."""

_PEOPLE_CACHE: Final = 200_000
_SELECT_REFS: Final = (
    "SELECT external_ref, practitioner_id, course_code, hours_tenths, completed_on, import_id "
    "FROM training_records WHERE base_org_id = {base} AND external_ref {in_}"
)
_SQLITE_DAY_SUMS: Final = (
    "SELECT r.practitioner_id, r.completed_on, SUM(r.hours_tenths) FROM (VALUES {values}) AS v "
    "CROSS JOIN training_records AS r ON r.practitioner_id = v.column1 "
    "AND r.completed_on = v.column2 WHERE r.voided_at IS NULL "
    "GROUP BY r.practitioner_id, r.completed_on"
)

_LINK_COLUMNS: Final = ("id", "practitioner_id", "org_id", "relation", "created_at")
_LINK_CONFLICT: Final = "ON CONFLICT (practitioner_id, org_id, relation) DO NOTHING"
_ERROR_COLUMNS: Final = ("import_id", "line", "code", "detail")
_PID, _CATEGORY, _MODE, _TENTHS, _DAY, _REF = (
    reader.REC_PID,
    reader.REC_CATEGORY,
    reader.REC_MODE,
    reader.REC_TENTHS,
    reader.REC_DAY,
    reader.REC_REF,
)
"""Positions in a record parameter tuple (:data:`reader.RECORD_COLUMNS`)."""


@dataclass
class Importer:
    """Processes one import inside one transaction (see the module docstring).

    Works on native driver values throughout (:class:`~workforce.training.bulk.Bulk`): a
    chunk costs a handful of statements whatever its size.
    """

    session: AsyncSession
    ctx: AppContext
    actor: Principal
    import_id: uuid.UUID
    counts: _Counts = field(default_factory=_Counts)
    rejected_refs: set[str] = field(default_factory=set)
    subjects: dict[Any, Subject] = field(default_factory=dict)
    known_people: dict[bytes, _Person] = field(default_factory=dict)
    """People seen in earlier chunks (a bounded cache: rosters repeat people)."""
    linked: set[Any] = field(default_factory=set)
    """Practitioners already given their ``trained`` link by this import."""

    def __post_init__(self) -> None:
        self.bulk = Bulk(self.session)
        self._days: dict[dt.date, Any] = {}
        self.base = self.bulk.uuid(self.actor.org_id)
        self.native_import = self.bulk.uuid(self.import_id)
        self.rules = RuleIndex(self.ctx.rules)
        # Statements are constants plus placeholders: no value is ever spliced into SQL.
        self._select_refs = _SELECT_REFS.replace("{base}", self.bulk.placeholders(1))

    def _native_day(self, day: dt.date) -> Any:
        """A date as the driver wants it (cached: rosters repeat days)."""
        found = self._days.get(day)
        if found is None:
            found = self._days[day] = self.bulk.date(day)
        return found

    async def validator(self) -> rosters.Validator:
        """The database-free checks for this base (its courses and accreditations)."""
        courses = await training.usable_courses(self.session, self.actor.org_id, self.actor.region)
        history = await training.accreditations_of(self.session, self.actor.org_id)
        return rosters.Validator(
            vault=self.ctx.vault,
            courses={
                code: rosters.CourseInfo(
                    self.bulk.uuid(c.id), c.code, c.category, c.delivery_mode, c.hours_tenths
                )
                for code, c in courses.items()
            },
            accreditations=[
                rosters.AccreditationInfo(a.valid_from, a.valid_until, frozenset(a.categories))
                for a in history
            ],
            today=today_in_china(),
        )

    async def process(  # noqa: PLR0912, PLR0915 - one flat pass over the chunk, for speed
        self, items: list[rosters.Prepared | rosters.RowError]
    ) -> None:
        """Check one chunk against the database and write what passes.

        One pass over the chunk, in line order: duplicates in the file, replays of an
        ``external_ref`` already recorded, name mismatches, the daily-hours cap; the accepted
        rows become record tuples and aggregate deltas on the way (rows of people not yet
        registered wait for their registration, at the end of the chunk).
        """
        self.counts.total_rows += len(items)
        errors: list[rosters.RowError] = []
        prepared = [item for item in items if isinstance(item, rosters.Prepared)]
        existing = await self._existing_refs([p.ref for p in prepared])
        people = await self._lookup_people({p.subject_key for p in prepared})
        known = {person.id for person in people.values()}
        before = await aggregates.load_totals(self.bulk, known)
        sums = await self._busy_day_sums(prepared, people, before)
        cap = self.ctx.settings.max_hours_per_day_tenths
        new_people: dict[bytes, _Person] = {}
        waiting: list[_Candidate] = []
        chunk_refs: set[str] = set()
        rejected_refs = self.rejected_refs
        native_day = self._native_day
        region = self.actor.region or ""
        batch = _Batch(self)
        add = batch.adder()
        days = self._days
        for item in items:
            if not isinstance(item, rosters.Prepared):
                self._reject(errors, item)
                if item.ref:
                    chunk_refs.add(item.ref)
                continue
            ref = item.ref
            if ref in chunk_refs or ref in rejected_refs:
                self._reject(errors, _err(item, DUPLICATE_IN_FILE, _DUPLICATE_DETAIL))
                continue
            chunk_refs.add(ref)
            key = item.subject_key
            person = people.get(key)
            if person is None:
                person = new_people.get(key)
            if existing:
                found = existing.get(ref)
                if found is not None:
                    self._replayed(errors, item, person, found)
                    continue
            if person is None:
                person = _Person(None, item.name, region, (), item.id_number)
                new_people[key] = person
            elif person.name != item.name:
                self._reject(
                    errors,
                    _err(
                        item,
                        NAME_MISMATCH,
                        "the name differs from the one registered under this ID number",
                    ),
                )
                continue
            # The daily cap, all bases together, in line order.
            day = days.get(item.day)
            if day is None:
                day = native_day(item.day)
            pid = person.id
            day_key = (pid if pid is not None else id(person), day)
            total = sums.get(day_key, 0) + item.tenths
            if total > cap:
                self._reject(
                    errors,
                    _err(
                        item,
                        training.DAILY_HOURS_EXCEEDED,
                        _over_cap(cap),
                    ),
                )
                continue
            sums[day_key] = total
            if pid is None:
                waiting.append((item, person, day))
            else:
                add(item, person, day)
        if waiting:
            await self._register({item.subject_key: p for item, p, _ in waiting})
            for item, person, day in waiting:
                add(item, person, day)
        await batch.write(before)
        await self._write_errors(errors)
        await asyncio.sleep(0)

    def lookups(self) -> reader.Lookups | None:
        """What the reader child needs to send ready chunks: SQLite on a file only."""
        url = self.session.get_bind().engine.url
        if self.bulk.pg or not url.database or url.database == ":memory:":
            return None
        return reader.Lookups(
            database=str(Path(url.database).resolve()),
            base=self.base,
            import_id=self.native_import,
            created_at=self.bulk.timestamp(utcnow()),
            cap=self.ctx.settings.max_hours_per_day_tenths,
            ruleset=self.ctx.rules,
        )

    async def process_ready(self, chunk: reader.ReadyChunk) -> None:
        """Check a ready chunk (see :mod:`reader`) against this transaction and write it.

        The reader checked everything against the database as the import found it; what is
        left is what only this transaction knows: references flagged as possibly used by an
        earlier chunk (checked exactly: an earlier refused row, or a record this import wrote)
        and the daily cap for practitioners with hours already written that year. When
        neither applies, which is the rule, the chunk is written as it came.
        """
        records, lines, raw_errors, cells, people, flagged, flips = chunk
        counts = self.counts
        counts.total_rows += len(records) + len(raw_errors)
        errors: list[rosters.RowError] = []
        for line, code, detail, ref in raw_errors:
            self._reject(errors, rosters.RowError(line, code, detail, ref))
        subjects = self.subjects
        positions = self.bulk.positions
        pid: Any
        for pid, region_code, raw_positions in people:
            if pid not in subjects:
                subjects[pid] = Subject(pid, region_code, positions(raw_positions))
        before = await aggregates.load_totals(self.bulk, [person[0] for person in people])
        duplicates = await self._earlier_refs(records, flagged)
        busy = _busy_years(before)
        if duplicates or busy:
            rechecked = await self._recheck(records, lines, duplicates, busy, errors)
            if rechecked is not None:
                records, cells = rechecked
                flips = None  # the reader's flips were for every row of the chunk
        batch = _Batch(self)
        batch.records = records
        deltas = aggregates.Deltas()
        for pid, category, year, mode, tenths, count in cells:  # one cell per key
            deltas.add(pid, subjects[pid].region_code, category, year, mode, tenths, count)
        met = self._met(flips, before, deltas.by_person) if flips is not None else None
        await batch.write(before, deltas, met)
        await self._write_errors(errors)
        await asyncio.sleep(0)

    def _met(
        self,
        flips: list[tuple[Any, list[tuple[tuple[str, int, str], int]], list[Any]]],
        before: dict[Any, Totals],
        by_person: dict[Any, Totals],
    ) -> dict[tuple[str, str, str], int]:
        """The rule-met count changes: the reader's flips for every practitioner whose totals
        before the chunk are the ones the reader started from, evaluated here otherwise."""
        out: dict[tuple[str, str, str], int] = {}
        rules, subjects = self.rules, self.subjects
        for pid, start, person_flips in flips:
            mine = before.get(pid)
            if (dict(start) if start else None) != (mine or None):
                # An earlier chunk of this import changed them: evaluate from ours.
                person_flips = rules.flips(subjects[pid], mine, by_person[pid])  # noqa: PLW2901
            for flip, delta in person_flips:
                out[flip] = out.get(flip, 0) + delta
        return out

    async def _earlier_refs(self, records: list[tuple[Any, ...]], flagged: list[int]) -> set[int]:
        """Which flagged records repeat a reference an earlier line of the file used."""
        if not flagged:
            return set()
        refs = {records[i][_REF] for i in flagged}
        written = {
            row[0]
            for row in await self.bulk.select_in(
                self._select_refs, (self.base,), list(refs), "text"
            )
            if row[5] == self.native_import
        }
        rejected = self.rejected_refs
        return {i for i in flagged if records[i][_REF] in written or records[i][_REF] in rejected}

    async def _recheck(
        self,
        records: list[tuple[Any, ...]],
        lines: list[int],
        duplicates: set[int],
        busy: set[tuple[Any, int]],
        errors: list[rosters.RowError],
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]] | None:
        """The rows of a ready chunk that this transaction refuses: references used earlier in
        the file, and, for practitioners with hours already written in the row's year, the
        daily cap (in line order). None when every row passes (the chunk stands as it came);
        else the accepted records and their sums.

        Rows of other practitioners need no second look: the reader checked their days within
        the chunk, they have no other hours that year, and a refusal only lowers the sums.
        """
        busy_people = {pid for pid, _ in busy}
        busy_rows = [
            index
            for index, r in enumerate(records)
            if r[_PID] in busy_people and (r[_PID], int(r[_DAY][:4])) in busy
        ]
        pairs = {(records[i][_PID], records[i][_DAY]) for i in busy_rows}
        sums: dict[tuple[Any, Any], int] = {
            (pid, day): int(total)
            for pid, day, total in await self._day_sums(sorted(pairs, key=str))
        }
        cap = self.ctx.settings.max_hours_per_day_tenths
        refused: dict[int, rosters.RowError] = {
            index: rosters.RowError(
                lines[index], DUPLICATE_IN_FILE, _DUPLICATE_DETAIL, records[index][_REF]
            )
            for index in duplicates
        }
        for index in busy_rows:
            if index in refused:
                continue
            record = records[index]
            key = (record[_PID], record[_DAY])
            total = sums.get(key, 0) + record[_TENTHS]
            if total > cap:
                refused[index] = rosters.RowError(
                    lines[index],
                    training.DAILY_HOURS_EXCEEDED,
                    _over_cap(cap),
                    record[_REF],
                )
                continue
            sums[key] = total
        if not refused:
            return None
        for index in sorted(refused):
            self._reject(errors, refused[index])
        accepted = [r for index, r in enumerate(records) if index not in refused]
        cells: dict[tuple[Any, str, int, str], list[int]] = {}
        for record in accepted:
            key4 = (record[_PID], record[_CATEGORY], int(record[_DAY][:4]), record[_MODE])
            acc = cells.get(key4)
            if acc is None:
                cells[key4] = [record[_TENTHS], 1]
            else:
                acc[0] += record[_TENTHS]
                acc[1] += 1
        return accepted, [(*key4, acc[0], acc[1]) for key4, acc in cells.items()]

    async def _busy_day_sums(
        self,
        prepared: list[rosters.Prepared],
        people: dict[bytes, _Person],
        totals: dict[Any, Totals],
    ) -> dict[tuple[Any, Any], int]:
        """Hours already recorded per (practitioner, day) for the chunk's rows that need it.

        Only practitioners with hours already recorded in the row's year (the running totals
        tell) can have hours on that day; nobody else is looked up.
        """
        busy_years = _busy_years(totals)
        if not busy_years:
            return {}
        pairs = set()
        for item in prepared:
            person = people.get(item.subject_key)
            if person is not None and (person.id, item.day.year) in busy_years:
                pairs.add((person.id, self._native_day(item.day)))
        return {
            (pid, day): int(total)
            for pid, day, total in await self._day_sums(sorted(pairs, key=str))
        }

    def _reject(self, errors: list[rosters.RowError], error: rosters.RowError) -> None:
        errors.append(error)
        self.counts.rejected += 1
        if error.ref:
            self.rejected_refs.add(error.ref)

    def _replayed(
        self,
        errors: list[rosters.RowError],
        item: rosters.Prepared,
        person: _Person | None,
        found: tuple[Any, ...],
    ) -> None:
        practitioner_id, course_code, tenths, day, import_id = found
        if import_id == self.native_import:
            self._reject(errors, _err(item, DUPLICATE_IN_FILE, _DUPLICATE_DETAIL))
        elif (
            person is not None
            and person.id == practitioner_id
            and course_code == item.course.code
            and tenths == item.tenths
            and day == self._native_day(item.day)
        ):
            self.counts.already_recorded += 1
        else:
            self._reject(
                errors,
                _err(
                    item,
                    training.EXTERNAL_REF_CONFLICT,
                    "this external_ref was already used for a different completion",
                ),
            )

    async def _existing_refs(self, refs: list[str]) -> dict[str, tuple[Any, ...]]:
        rows = await self.bulk.select_in(self._select_refs, (self.base,), refs, "text")
        return {row[0]: row[1:] for row in rows}

    async def _lookup_people(self, keys: set[bytes]) -> dict[bytes, _Person]:
        """The registered people among ``keys``, from the cache or the database."""
        cache = self.known_people
        out = {key: cache[key] for key in keys if key in cache}
        missing = keys.difference(out)
        if missing:
            found = await self._people(missing)
            if len(cache) + len(found) > _PEOPLE_CACHE:
                cache.clear()
            cache.update(found)
            out.update(found)
        return out

    async def _people(self, keys: set[bytes]) -> dict[bytes, _Person]:
        rows = await self.bulk.select_in(
            "SELECT subject_key, id, name, region_code, positions FROM practitioners "
            "WHERE subject_key {in_}",
            (),
            list(keys),
            "bytea",
        )
        return {
            bytes(key): _Person(pid, name, region, self.bulk.positions(positions))
            for key, pid, name, region, positions in rows
        }

    async def _day_sums(self, pairs: list[tuple[Any, Any]]) -> list[tuple[Any, ...]]:
        """Hours already recorded per (practitioner, day), for the given pairs only."""
        if not pairs:
            return []
        if self.bulk.pg:
            return await self.bulk.execute(
                "SELECT r.practitioner_id, r.completed_on, SUM(r.hours_tenths) "
                "FROM unnest($1::uuid[], $2::date[]) AS v(p, d) "
                "JOIN training_records r ON r.practitioner_id = v.p AND r.completed_on = v.d "
                "WHERE r.voided_at IS NULL GROUP BY r.practitioner_id, r.completed_on",
                [[p for p, _ in pairs], [d for _, d in pairs]],
            )
        out: list[tuple[Any, ...]] = []
        step = SQLITE_MAX_PARAMS // 2
        for start in range(0, len(pairs), step):
            part = pairs[start : start + step]
            values = ", ".join(["(?, ?)"] * len(part))
            # CROSS JOIN keeps SQLite probing the (practitioner_id, completed_on) index.
            sql = _SQLITE_DAY_SUMS.replace("{values}", values)
            out.extend(await self.bulk.execute(sql, [v for pair in part for v in pair]))
        return out

    async def _register(self, wanted: dict[bytes, _Person]) -> None:
        """Register the new people of accepted rows (bulk), then learn their ids."""
        if not wanted:
            return
        self.counts.registered += await practitioners.register_many(
            self.session, self.ctx, self.actor, [(p.number, p.name, []) for p in wanted.values()]
        )
        found = await self._people(set(wanted))
        self.known_people.update(found)
        for key, person in wanted.items():
            registered = found[key]
            person.id = registered.id
            person.region_code = registered.region_code
            person.positions = registered.positions

    async def _write_errors(self, errors: list[rosters.RowError]) -> None:
        await self.bulk.insert_many(
            "training_import_errors",
            _ERROR_COLUMNS,
            [(self.native_import, e.line, e.code, redact(e.detail)[:300]) for e in errors],
        )

    async def finish(self) -> None:
        """Write the outcome into the import row (same transaction as the records)."""
        c = self.counts
        await self.session.execute(
            update(RosterImport)
            .where(RosterImport.id == self.import_id)
            .values(
                status="done",
                total_rows=c.total_rows,
                accepted=c.accepted,
                rejected=c.rejected,
                already_recorded=c.already_recorded,
                registered=c.registered,
                finished_at=utcnow(),
                heartbeat_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )


class _Batch:
    """The accepted rows of one chunk: record tuples and aggregate sums, then the writes."""

    def __init__(self, importer: Importer) -> None:
        self.importer = importer
        bulk = importer.bulk
        self.records: list[tuple[Any, ...]] = []
        self.cells: dict[tuple[Any, str, int, str], list[Any]] = {}
        """(practitioner, category, year, mode) → [tenths, records, person]."""
        self._now = bulk.timestamp(utcnow())
        self._new_uuid = bulk.new_uuid
        self._base = importer.base
        self._import = importer.native_import

    def adder(self) -> Callable[[rosters.Prepared, _Person, Any], None]:
        """``add(row, person, day)``: one accepted row (its person registered).

        A closure over the batch's constants: it runs once per accepted row.
        """
        append = self.records.append
        cells = self.cells
        cell = cells.get
        new_uuid, base, import_id, now = self._new_uuid, self._base, self._import, self._now

        def add(item: rosters.Prepared, person: _Person, day: Any) -> None:
            pid = person.id
            course = item.course
            category, mode, tenths = course.category, course.mode, item.tenths
            # In reader.RECORD_COLUMNS order, as the reader child's ready pass builds it.
            append(
                (
                    item.record_id or new_uuid(),
                    base,
                    pid,
                    course.id,
                    course.code,
                    category,
                    mode,
                    tenths,
                    day,
                    item.ref,
                    import_id,
                    now,
                )
            )
            key = (pid, category, item.day.year, mode)
            acc = cell(key)
            if acc is None:
                cells[key] = [tenths, 1, person]
            else:
                acc[0] += tenths
                acc[1] += 1

        return add

    def deltas(self) -> aggregates.Deltas:
        """The sums per practitioner and per region (subjects noted for the rule counts)."""
        out = aggregates.Deltas()
        subjects = self.importer.subjects
        for (pid, category, year, mode), (tenths, records, person) in self.cells.items():
            if pid not in subjects:
                subjects[pid] = Subject(pid, person.region_code, person.positions)
            out.add(pid, person.region_code, category, year, mode, tenths, records)
        return out

    async def write(
        self,
        before: dict[Any, Totals],
        deltas: aggregates.Deltas | None = None,
        met: dict[tuple[str, str, str], int] | None = None,
    ) -> None:
        """Insert the records and links, fold the deltas into the aggregates.

        ``deltas``: the sums when the caller made them (a ready chunk), else from the cells.
        """
        if not self.records:
            return
        importer = self.importer
        bulk = importer.bulk
        await bulk.insert_many("training_records", reader.RECORD_COLUMNS, self.records)
        if deltas is None:
            deltas = self.deltas()
        unlinked = set(deltas.by_person).difference(importer.linked)
        await bulk.insert_many(
            "practitioner_links",
            _LINK_COLUMNS,
            [(self._new_uuid(), pid, self._base, "trained", self._now) for pid in unlinked],
            _LINK_CONFLICT,
        )
        if len(importer.linked) + len(unlinked) > _PEOPLE_CACHE:
            importer.linked.clear()  # bounded memory; a repeated link is a no-op insert
        importer.linked.update(unlinked)
        await aggregates.apply_deltas(
            importer.session,
            importer.ctx,
            importer.subjects,
            deltas,
            bulk=bulk,
            before=before,
            rules=importer.rules,
            met=met,
        )
        importer.counts.accepted += len(self.records)
        if len(importer.subjects) > 4 * CHUNK_ROWS:
            importer.subjects.clear()


def _busy_years(totals: dict[Any, Totals]) -> set[tuple[Any, int]]:
    """(practitioner, year) pairs with hours already recorded: the only ones whose days can
    already hold hours (others need no look-up for the daily cap)."""
    return {
        (pid, year) for pid, rows in totals.items() for (_, year, _), t in rows.items() if t > 0
    }


def _over_cap(cap: int) -> str:
    """The detail of a row refused by the daily cap."""
    return f"more than {cap / 10:g} hours on one day across all bases"


def _err(item: rosters.Prepared, code: str, detail: str) -> rosters.RowError:
    return rosters.RowError(item.line, code, detail, item.ref)


@contextlib.asynccontextmanager
async def _heartbeat(
    maker: async_sessionmaker[AsyncSession], engine: AsyncEngine, import_id: uuid.UUID
) -> AsyncIterator[None]:
    """PostgreSQL only: refresh ``heartbeat_at`` from a side connection while working."""
    if engine.dialect.name != "postgresql":
        yield
        return

    async def beat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            async with maker() as side:
                await side.execute(
                    update(RosterImport)
                    .where(RosterImport.id == import_id, RosterImport.status == "running")
                    .values(heartbeat_at=utcnow())
                )
                await side.commit()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _next_chunk(
    rows: Iterator[rosters.RawRow], validator: rosters.Validator, size: int
) -> list[rosters.Prepared | rosters.RowError] | None:
    def work() -> list[rosters.Prepared | rosters.RowError] | None:
        return validator.prepare(itertools.islice(rows, size)) or None

    return await anyio.to_thread.run_sync(work)


async def _thread_batches(
    validator: rosters.Validator, source: rosters.RowSource, chunk_rows: int
) -> AsyncIterator[reader.Batch]:
    """The single-process path: read and validate a chunk at a time in a worker thread (the
    event loop stays free), one after the other with the writes.

    On purpose: the writes are ``executemany`` calls, which re-take the GIL for every row;
    next to a busy Python thread each re-take can wait for the switch interval, so validating
    the next chunk meanwhile slowed the writes more than it saved.
    """
    iterator = source.rows()
    try:
        while (items := await _next_chunk(iterator, validator, chunk_rows)) is not None:
            yield items, source.position, source.total
    finally:
        iterator.close()


async def _pump(
    importer: Importer,
    batches: AsyncIterator[reader.Batch],
    progress: rosters.ProgressFn | None,
) -> None:
    """Check each validated chunk against the database and write it, in file order."""
    async for items, position, total in batches:
        if type(items) is reader.ReadyChunk:
            await importer.process_ready(items)
        else:
            await importer.process(items)  # type: ignore[arg-type]
        if progress is not None:
            progress(position, total)


def _batches(
    child: reader.ReaderProcess | None,
    validator: rosters.Validator,
    source: rosters.RowSource,
    chunk_rows: int,
    importer: Importer,
) -> AsyncIterator[reader.Batch]:
    """The validated chunks: from the reader child when there is one, else in-process."""
    if child is None:
        return _thread_batches(validator, source, chunk_rows)
    ctx, pg = importer.ctx, importer.bulk.pg
    head = min(chunk_rows, HEAD_ROWS)
    child.configure(
        reader.ReaderConfig(
            path=source.path,
            file_format=source.file_format,
            encoding=source.encoding,
            chunk_rows=chunk_rows,
            courses=validator.courses,
            accreditations=validator.accreditations,
            today=validator.today,
            index_key=ctx.secrets.pii_index_key,
            native_uuid=pg,
            lookups=importer.lookups(),
            first_chunk_rows=min(chunk_rows, FIRST_CHUNK_ROWS),
            skip_rows=head,
        )
    )
    return _head_then_child(validator, source, head, child)


async def _head_then_child(
    validator: rosters.Validator, source: rosters.RowSource, head: int, child: reader.ReaderProcess
) -> AsyncIterator[reader.Batch]:
    """The first ``head`` rows read here (the child is starting meanwhile), then the child's."""
    iterator = source.rows()
    try:
        items = await _next_chunk(iterator, validator, head)
    finally:
        iterator.close()
    if items is not None:
        yield items, source.position, source.total
    async for batch in child.batches():
        yield batch


HEAD_ROWS: Final = 4_000
"""Rows the import's process reads and checks itself while the reader child starts (≈ 0.1 s)."""


FIRST_CHUNK_ROWS: Final = 1_000
"""The reader child's first chunk: small, so that the writes start soon after it started."""


READER_PROCESS_MIN_BYTES: Final = 2 << 20
"""Files from this size on are read and validated in a :mod:`reader` child process."""


def _wants_reader_process(path: Path) -> bool:
    try:
        return path.stat().st_size >= READER_PROCESS_MIN_BYTES
    except OSError:
        return False


def _start_reader(path: Path) -> reader.ReaderProcess | None:
    """A reader child for a large file; None (the single-process path) when the file is small
    or processes cannot be started here."""
    if not _wants_reader_process(path):
        return None
    try:
        return reader.ReaderProcess()
    except OSError:
        log.warning("roster import: no reader process (cannot start one); reading in-process")
        return None


async def run_import(  # noqa: PLR0915 - one transaction, its failure branches side by side
    engine: AsyncEngine,
    ctx: AppContext,
    actor: Principal,
    import_id: uuid.UUID,
    *,
    file_format: str,
    encoding: str | None,
    chunk_rows: int = CHUNK_ROWS,
    progress: rosters.ProgressFn | None = None,
) -> str:
    """Run one import to its end; returns the final status (``done`` or ``failed``)."""
    path = upload_path(ctx.settings, import_id)
    lock = WorkerLock(lock_path(ctx.settings, import_id))
    maker = async_sessionmaker(engine, expire_on_commit=False)
    lock.acquire()
    child: reader.ReaderProcess | None = None
    try:
        # Started first: its interpreter starts up while this one prepares the transaction.
        child = _start_reader(path)
        async with maker() as session:
            try:
                await begin_write(session)
                await _import_cache(session, IMPORT_CACHE_KIB)
                await aggregates.lock_training_writes(session, exclusive=True)
                await aggregates.ensure_current(session, ctx)
                importer = Importer(session, ctx, actor, import_id)
                validator = await importer.validator()
                source = rosters.RowSource(path, file_format, encoding)
                batches = _batches(child, validator, source, chunk_rows, importer)
                async with _heartbeat(maker, engine, import_id):
                    with _gc_relaxed():
                        try:
                            await _pump(importer, batches, progress)
                        finally:
                            await batches.aclose()  # type: ignore[attr-defined]
                await importer.finish()
                await _import_cache(session, DEFAULT_CACHE_KIB)
                await session.commit()
            except rosters.FileRefused as exc:
                await session.rollback()
                await _mark_failed(maker, import_id, exc.code, exc.detail, exc.line)
                return "failed"
            except reader.ReaderLost as exc:
                await session.rollback()
                log.error("roster import %s failed: %s", import_id, exc)
                await _mark_failed(maker, import_id, WORKER_LOST, f"{exc}; nothing was recorded")
                return "failed"
            except asyncio.CancelledError:
                await session.rollback()
                with contextlib.suppress(Exception):
                    await asyncio.shield(_mark_failed(maker, import_id, WORKER_LOST, _CANCELLED))
                raise
            except Exception as exc:
                await session.rollback()
                log.exception("roster import %s failed", import_id)
                detail = f"the import stopped on an unexpected error ({type(exc).__name__})"
                await _mark_failed(
                    maker, import_id, INTERNAL_ERROR, f"{detail}; nothing was recorded"
                )
                return "failed"
            return "done"
    finally:
        if child is not None:
            child.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        lock.release()


_CANCELLED: Final = "the import was cancelled; nothing was recorded"

GC_THRESHOLD0: Final = 50_000
"""Allocations between young-generation collections while an import runs (default 700)."""
_gc_users = 0
_gc_saved: tuple[int, int, int] = gc.get_threshold()


@contextlib.contextmanager
def _gc_relaxed() -> Iterator[None]:
    """Fewer cyclic-GC passes while imports run (restored when the last one ends).

    An import allocates a few tuples per row that live for one chunk; with the default
    thresholds the collector runs every 700 allocations and, as the per-import caches grow,
    repeatedly walks the whole heap: ≈ 3 µs per row, measured (a fifth of the import's CPU).
    The objects alive when the first import starts are frozen (``gc.freeze``, as servers do
    after start-up) so that full collections skip them, and the young generation is collected
    every :data:`GC_THRESHOLD0` allocations. Nothing is disabled: cycles are still collected.
    """
    global _gc_users, _gc_saved  # noqa: PLW0603 - process-wide collector settings
    if _gc_users == 0:
        _gc_saved = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(max(GC_THRESHOLD0, _gc_saved[0]), *_gc_saved[1:])
    _gc_users += 1
    try:
        yield
    finally:
        _gc_users -= 1
        if _gc_users == 0:
            gc.set_threshold(*_gc_saved)
            gc.unfreeze()


IMPORT_CACHE_KIB: Final = 65_536
"""SQLite page cache of the import's connection (64 MiB): the indexes it writes are large."""
DEFAULT_CACHE_KIB: Final = 2_000


async def _import_cache(session: AsyncSession, kib: int) -> None:
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text(f"PRAGMA cache_size = -{int(kib)}"))


async def _mark_failed(
    maker: async_sessionmaker[AsyncSession],
    import_id: uuid.UUID,
    code: str,
    detail: str,
    line: int | None = None,
) -> None:
    async with maker() as session:
        await begin_write(session)
        await session.execute(
            update(RosterImport)
            .where(RosterImport.id == import_id)
            .values(
                status="failed",
                failure_code=code,
                failure_detail=redact(detail),
                finished_at=utcnow(),
            )
        )
        if line is not None:
            await session.execute(
                insert(RosterImportError),
                [
                    {
                        "import_id": import_id,
                        "line": line,
                        "code": code,
                        "detail": redact(detail)[:300],
                    }
                ],
            )
        await session.commit()


# --------------------------------------------------------------------------- background tasks

_RUNNING: set[asyncio.Task[str]] = set()


async def spawn(
    engine: AsyncEngine,
    ctx: AppContext,
    actor: Principal,
    import_id: uuid.UUID,
    file_format: str,
    encoding: str | None,
) -> None:
    """Start the worker as an asyncio task of the running loop (a reference is kept).

    Meant to run as the response's background task, i.e. after the request's transaction
    committed the ``running`` import row.
    """
    task = asyncio.get_running_loop().create_task(
        run_import(
            engine,
            ctx,
            actor,
            import_id,
            file_format=file_format,
            encoding=encoding,
            chunk_rows=CHUNK_ROWS,
        ),
        name=f"roster-import-{import_id}",
    )
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
