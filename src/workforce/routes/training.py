"""Training routes: accreditation, courses, completions, roster imports, compliance, rules."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import anyio.to_thread
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Controller, Litestar, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, Schema
from litestar.openapi.spec import RequestBody as OpenAPIRequestBody
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from workforce.context import AppContext
from workforce.db import new_id
from workforce.pagination import DEFAULT_LIMIT, Page
from workforce.routes.deps import route_of
from workforce.rules.engine import RuleResult, RuleSet
from workforce.security.guards import requires_role
from workforce.security.idnumber import today_in_china
from workforce.security.principal import Principal
from workforce.training import imports, service
from workforce.training.models import Accreditation as AccreditationRow
from workforce.training.models import Course as CourseRow
from workforce.training.models import RosterImport, RosterImportError
from workforce.training.models import TrainingRecord as TrainingRecordRow
from workforce.training.schemas import (
    Accreditation,
    AccreditationCreate,
    Compliance,
    ComplianceRule,
    Course,
    CourseCreate,
    ImportError,
    ImportStarted,
    ImportStatus,
    RuleCycle,
    RuleInfo,
    RuleSetInfo,
    RuleSource,
    TrainingRecord,
    TrainingRecordCreate,
    VoidRequest,
)

# --------------------------------------------------------------------------- wire forms


def to_accreditation(row: AccreditationRow) -> Accreditation:
    """Wire form of an accreditation."""
    return Accreditation(
        accreditation_id=row.id,
        base_org_id=row.base_org_id,
        accredited_by=row.accredited_by,
        level=row.level,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        categories=list(row.categories),
        certificate_types=list(row.certificate_types),
        status=service.accreditation_status(row),  # type: ignore[arg-type]
        created_at=row.created_at,
    )


def to_course(row: CourseRow) -> Course:
    """Wire form of a course."""
    return Course(
        course_id=row.id,
        owner_org_id=row.owner_org_id,
        owner_kind=row.owner_kind,
        region_code=row.region_code,
        code=row.code,
        title=row.title,
        category=row.category,
        hours=row.hours_tenths / 10,
        delivery_mode=row.delivery_mode,
        created_at=row.created_at,
    )


def to_record(row: TrainingRecordRow) -> TrainingRecord:
    """Wire form of a completion."""
    return TrainingRecord(
        record_id=row.id,
        practitioner_id=row.practitioner_id,
        base_org_id=row.base_org_id,
        course_id=row.course_id,
        course_code=row.course_code,
        category=row.category,
        delivery_mode=row.mode,
        hours=row.hours_tenths / 10,
        completed_on=row.completed_on,
        external_ref=row.external_ref,
        import_id=row.import_id,
        created_at=row.created_at,
        voided=row.voided_at is not None,
        voided_at=row.voided_at,
        void_reason=row.void_reason,
    )


def to_import_status(
    row: RosterImport, errors: list[RosterImportError], truncated: bool
) -> ImportStatus:
    """Wire form of an import's progress and outcome."""
    failure = (
        ImportError(line=0, code=row.failure_code, detail=row.failure_detail or "")
        if row.status == "failed" and row.failure_code
        else None
    )
    return ImportStatus(
        id=row.id,
        status=row.status,  # type: ignore[arg-type]
        total_rows=row.total_rows,
        accepted=row.accepted,
        rejected=row.rejected,
        already_recorded=row.already_recorded,
        registered=row.registered,
        errors=[ImportError(line=e.line, code=e.code, detail=e.detail) for e in errors],
        errors_truncated=truncated,
        failure=failure,
        file_format=row.file_format,
        filename=row.filename,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def to_compliance_rule(result: RuleResult) -> ComplianceRule:
    """Wire form of one rule result (hours with one decimal)."""
    return ComplianceRule(
        rule_id=result.rule_id,
        title=result.title,
        period=result.period_label,
        period_start=result.period_start,
        period_end=result.period_end,
        required_hours=result.required_tenths / 10,
        earned_hours=result.earned_tenths / 10,
        met=result.met,
        online_excluded_hours=result.online_excluded_tenths / 10,
    )


def to_ruleset(ruleset: RuleSet) -> RuleSetInfo:
    """Wire form of the rule set in force."""
    return RuleSetInfo(
        version=ruleset.version,
        digest=ruleset.digest,
        rules=[
            RuleInfo(
                rule_id=rule.id,
                family=rule.family,
                title=rule.title,
                categories=list(rule.categories),
                hours=rule.min_tenths / 10,
                period=rule.period,
                cycles=[
                    RuleCycle(start_year=c.start_year, end_year=c.end_year, label=c.label)
                    for c in rule.cycles
                ],
                positions=["all"] if rule.positions == "all" else list(rule.positions),
                region=rule.region,
                effective_from=rule.effective_from,
                effective_until=rule.effective_until,
                online_cap_hours=None
                if rule.online_cap_tenths is None
                else rule.online_cap_tenths / 10,
                online_cap_percent=rule.online_cap_percent,
                source=RuleSource(
                    title=rule.source_title,
                    issuer=rule.source_issuer,
                    number=rule.source_number,
                    note=rule.source_note,
                ),
            )
            for rule in ruleset.rules
        ],
    )


def engine_of(app: Litestar) -> AsyncEngine:
    """The application's database engine (for work that outlives the request)."""
    plugin = app.plugins.get(SQLAlchemyPlugin)
    config = plugin.config[0]
    assert isinstance(config, SQLAlchemyAsyncConfig)  # noqa: S101 - wired in app.py
    return config.get_engine()


_UPLOAD_DESCRIPTION = (
    "CSV (UTF-8 or GB18030) or XLSX roster with the columns id_number, name, course_code, "
    "hours, completed_on, external_ref (or 身份证号, 姓名, 课程代码, 学时, "
    "完成日期, 外部编号)."
)


@dataclasses.dataclass
class _MultipartUploadOperation(Operation):
    """OpenAPI of the roster upload: the handler streams the body itself, so declare it here."""

    def __post_init__(self) -> None:
        self.request_body = OpenAPIRequestBody(
            required=True,
            content={
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["file"],
                        properties={
                            "file": Schema(
                                type=OpenAPIType.STRING,
                                format=OpenAPIFormat.BINARY,
                                description=_UPLOAD_DESCRIPTION,
                            )
                        },
                    )
                )
            },
        )


# --------------------------------------------------------------------------- controllers


class AccreditationController(Controller):
    """A regulator accredits training bases; bases and regulators read it."""

    path = "/training-bases/{base_id:uuid}"
    tags = ["training"]  # noqa: RUF012

    @post(
        "/accreditation",
        operation_id="accreditTrainingBase",
        guards=[requires_role("regulator")],
        status_code=201,
    )
    async def accredit(
        self,
        base_id: FromPath[uuid.UUID],
        data: JSONBody[AccreditationCreate],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
    ) -> Accreditation:
        """Accredit a base of your jurisdiction; supersedes its previous accreditation."""
        return to_accreditation(await service.accredit(db_session, ctx, principal, base_id, data))

    @get(
        "/accreditation",
        operation_id="getTrainingBaseAccreditation",
        guards=[requires_role("training_base", "regulator")],
    )
    async def get_accreditation(
        self,
        base_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Accreditation:
        """The base's current accreditation (the base itself, or a regulator covering it)."""
        return to_accreditation(await service.get_accreditation(db_session, principal, base_id))

    @get(
        "/accreditations",
        operation_id="listTrainingBaseAccreditations",
        guards=[requires_role("training_base", "regulator")],
    )
    async def list_accreditations(
        self,
        base_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        limit: FromQuery[int] = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[Accreditation]:
        """The base's accreditation history, newest first."""
        page = await service.list_accreditations(db_session, principal, base_id, limit, cursor)
        return Page(items=[to_accreditation(r) for r in page.items], next_cursor=page.next_cursor)


class CourseController(Controller):
    """Course catalogues."""

    path = "/courses"
    tags = ["training"]  # noqa: RUF012

    @post(
        "/",
        operation_id="createCourse",
        guards=[requires_role("training_base", "regulator")],
        status_code=201,
    )
    async def create_course(
        self,
        data: JSONBody[CourseCreate],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
    ) -> Course:
        """Add a course to your catalogue (a regulator's serve the bases of its jurisdiction)."""
        return to_course(await service.create_course(db_session, ctx, principal, data))

    @get(
        "/",
        operation_id="listCourses",
        guards=[requires_role("training_base", "regulator")],
    )
    async def list_courses(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        category: FromQuery[str | None] = None,
        limit: FromQuery[int] = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[Course]:
        """Courses you may use (a base) or oversee (a regulator)."""
        page = await service.list_courses(db_session, principal, category, limit, cursor)
        return Page(items=[to_course(r) for r in page.items], next_cursor=page.next_cursor)


class TrainingRecordController(Controller):
    """Completions logged by training bases, one at a time or as roster files."""

    path = "/training-records"
    tags = ["training"]  # noqa: RUF012

    @post(
        "/",
        operation_id="logTrainingRecord",
        guards=[requires_role("training_base")],
        status_code=201,
        responses={
            200: ResponseSpec(
                data_container=TrainingRecord,
                description="A retry: the record first logged under this external_ref",
            )
        },
    )
    async def log_record(
        self,
        data: JSONBody[TrainingRecordCreate],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
    ) -> Response[TrainingRecord]:
        """Log a completion; a retry with the same external_ref returns the first (200)."""
        record, created = await service.log_completion(db_session, ctx, principal, data)
        return Response(to_record(record), status_code=201 if created else 200)

    @post(
        "/{record_id:uuid}/void",
        operation_id="voidTrainingRecord",
        guards=[requires_role("training_base")],
        status_code=200,
    )
    async def void_record(
        self,
        record_id: FromPath[uuid.UUID],
        data: JSONBody[VoidRequest],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
    ) -> TrainingRecord:
        """Void one of your records (kept in the history, counts for nothing)."""
        return to_record(
            await service.void_record(db_session, ctx, principal, record_id, data.reason)
        )

    @post(
        "/imports",
        operation_id="importTrainingRecords",
        guards=[requires_role("training_base")],
        status_code=202,
        opt={"content_types": ("multipart/form-data",)},
        request_max_body_size=None,  # the file part is limited by settings.max_upload_bytes
        operation_class=_MultipartUploadOperation,
    )
    async def import_roster(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
    ) -> Response[ImportStarted]:
        """Upload a roster (CSV or XLSX, field ``file``); processed in the background."""
        await imports.require_accredited(db_session, principal)
        await imports.reap_stale(db_session, ctx.settings)
        await anyio.to_thread.run_sync(imports.sweep_orphans, ctx.settings)
        # End this transaction before a possibly long upload: on SQLite a read snapshot held
        # across it would make the write that follows fail if anyone committed meanwhile.
        await db_session.commit()
        import_id = new_id()
        spooled = await imports.receive_upload(
            request.stream(),
            request.headers.get("content-type", ""),
            request.content_length,
            ctx.settings,
            import_id,
        )
        try:
            await anyio.to_thread.run_sync(imports.inspect_file, spooled)
            row = await imports.start_import(db_session, ctx, principal, import_id, spooled)
        except BaseException:
            imports.remove_files(ctx.settings, import_id)
            raise
        return Response(
            ImportStarted(id=row.id, status="running"),
            status_code=202,
            background=BackgroundTask(
                imports.spawn,
                engine_of(request.app),
                ctx,
                principal,
                import_id,
                spooled.file_format,
                spooled.encoding,
            ),
        )

    @get(
        "/imports/{import_id:uuid}",
        operation_id="getTrainingRecordImport",
        guards=[requires_role("training_base")],
    )
    async def get_import(
        self,
        import_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
    ) -> ImportStatus:
        """Progress and outcome of one of your imports (line 1 is the header)."""
        row, errors, truncated = await imports.get_import(db_session, ctx, principal, import_id)
        return to_import_status(row, errors, truncated)


class PractitionerTrainingController(Controller):
    """A practitioner's training history and compliance."""

    path = "/practitioners/{practitioner_id:uuid}"
    tags = ["training"]  # noqa: RUF012

    @get(
        "/training-records",
        operation_id="listPractitionerTrainingRecords",
        guards=[requires_role("training_base", "institution", "regulator")],
    )
    async def list_records(
        self,
        practitioner_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
        limit: FromQuery[int] = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[TrainingRecord]:
        """The practitioner's completions, voided ones included (a base: only its own)."""
        page = await service.list_practitioner_records(
            db_session, principal, practitioner_id, limit, cursor, route_of(request)
        )
        return Page(items=[to_record(r) for r in page.items], next_cursor=page.next_cursor)

    @get(
        "/compliance",
        operation_id="getPractitionerCompliance",
        guards=[requires_role("training_base", "institution", "regulator")],
    )
    async def compliance(
        self,
        practitioner_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        ctx: NamedDependency[AppContext],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
        year: FromQuery[int | None] = None,
    ) -> Compliance:
        """Hours earned against each rule in force for the year (default: this year)."""
        wanted = year if year is not None else today_in_china().year
        results = await service.practitioner_compliance(
            db_session, ctx, principal, practitioner_id, wanted, route_of(request)
        )
        return Compliance(
            practitioner_id=practitioner_id,
            year=wanted,
            ruleset_version=ctx.rules.version,
            rules=[to_compliance_rule(r) for r in results],
        )


@get(
    "/rules",
    operation_id="getTrainingRules",
    exclude_from_auth=True,
    opt={"public_reason": "contract: the versioned training rules are public"},
    tags=["training"],
    media_type=MediaType.JSON,
)
async def get_rules(ctx: NamedDependency[AppContext]) -> RuleSetInfo:
    """The training-hour rule set in force and its version (public)."""
    return to_ruleset(ctx.rules)


ROUTES: list[Any] = [
    AccreditationController,
    CourseController,
    TrainingRecordController,
    PractitionerTrainingController,
    get_rules,
]
