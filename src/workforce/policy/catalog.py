"""Certificate types and positions: versioned policy data and pure evaluators.

Two TOML files hold the data, each with a ``version`` and an ``effective_from`` date:

* ``certificate_types.toml``: each type's Chinese name, levels (listed lowest first), validity,
  who may issue it, and its prerequisites as data;
* ``positions.toml``: each position's accepted certificates and the universal requirements
  (``not_banned``, ``no_credit_joint_punishment``) that services evaluate for every position.

Prerequisite kinds and the reason code each produces when unmet (a prerequisite's ``code`` key
may override the default):

* ``hours`` with ``rule_family``: the family's rule result passed in the facts is met;
  default code ``<family>_hours_short`` (``caregiver_round_hours_short``), and
  ``hours_rule_not_in_force`` when no result of that family is in the facts;
* ``hours`` with ``categories``, ``min_hours`` and optionally ``within_months``: enough hours
  in those categories completed in the window ending on ``facts.as_of``; default code
  ``<categories joined by _>_hours_short`` (``skills_hours_short``);
* ``assessment``: the request says an assessment was passed (``assessment_not_passed``) and
  names it (``assessment_ref_missing``);
* ``holds``: a valid certificate of ``type`` at ``level`` or above is held
  (``lower_level_not_held``).

Position evaluation codes: ``no_valid_certificate``, and ``certificate_revoked``,
``certificate_suspended`` or ``certificate_expired`` when every accepted certificate held is in
that one state. Reason details are English and carry the figures.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Final, Literal, TypeVar

import msgspec

from workforce.errors import Reason
from workforce.rules.engine import (
    HoursError,
    RecordHours,
    RuleResult,
    format_hours,
    parse_hours,
)

__all__ = [
    "ASSESSMENT_NOT_PASSED",
    "ASSESSMENT_REF_MISSING",
    "CERTIFICATE_EXPIRED",
    "CERTIFICATE_REVOKED",
    "CERTIFICATE_SUSPENDED",
    "DEFAULT_CERTIFICATE_TYPES",
    "DEFAULT_POSITIONS",
    "HOURS_RULE_NOT_IN_FORCE",
    "LOWER_LEVEL_NOT_HELD",
    "NO_VALID_CERTIFICATE",
    "UNIVERSAL_REQUIREMENTS",
    "Catalog",
    "CatalogError",
    "CertRequirement",
    "CertStatus",
    "CertificateType",
    "HeldCert",
    "Issuer",
    "Level",
    "LevelRequiredError",
    "Position",
    "Prerequisite",
    "PrerequisiteFacts",
    "Reason",
    "UnknownCertificateTypeError",
    "UnknownLevelError",
    "UnknownPositionError",
    "add_months",
    "evaluate_position",
    "evaluate_prerequisites",
    "load_catalog",
    "records_needed_since",
    "valid_until",
]

DEFAULT_CERTIFICATE_TYPES: Final = Path(__file__).parent / "certificate_types.toml"
DEFAULT_POSITIONS: Final = Path(__file__).parent / "positions.toml"

ASSESSMENT_NOT_PASSED: Final = "assessment_not_passed"
ASSESSMENT_REF_MISSING: Final = "assessment_ref_missing"
LOWER_LEVEL_NOT_HELD: Final = "lower_level_not_held"
HOURS_RULE_NOT_IN_FORCE: Final = "hours_rule_not_in_force"
NO_VALID_CERTIFICATE: Final = "no_valid_certificate"
CERTIFICATE_REVOKED: Final = "certificate_revoked"
CERTIFICATE_SUSPENDED: Final = "certificate_suspended"
CERTIFICATE_EXPIRED: Final = "certificate_expired"

UNIVERSAL_REQUIREMENTS: Final = ("not_banned", "no_credit_joint_punishment")
"""Requirements a service may list as universal (it evaluates them; the catalog only lists)."""

Issuer = Literal["training_base", "regulator"]
CertStatus = Literal["valid", "revoked", "suspended", "expired"]
PrerequisiteKind = Literal["hours", "assessment", "holds"]

_CODE_RE: Final = re.compile(r"[a-z0-9][a-z0-9_]*", re.ASCII)
_STATUS_CODES: Final[dict[str, str]] = {
    "revoked": CERTIFICATE_REVOKED,
    "suspended": CERTIFICATE_SUSPENDED,
    "expired": CERTIFICATE_EXPIRED,
}


_FileT = TypeVar("_FileT", "_TypesFile", "_PositionsFile")


class CatalogError(Exception):
    """A catalog file is invalid, or a lookup or evaluation input is."""

    code = "catalog_invalid"


class UnknownCertificateTypeError(CatalogError, LookupError):
    """No certificate type has this code."""

    code = "unknown_certificate_type"


class UnknownLevelError(CatalogError, LookupError):
    """The certificate type has no such level (or has no levels at all)."""

    code = "unknown_level"


class LevelRequiredError(CatalogError):
    """The certificate type has levels and none was given."""

    code = "level_required"


class UnknownPositionError(CatalogError, LookupError):
    """No position has this code."""

    code = "unknown_position"


# --------------------------------------------------------------------------- structs


class Prerequisite(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One condition for issuing a certificate (see the module docstring for the kinds)."""

    kind: PrerequisiteKind
    code: str
    """Reason code reported when the prerequisite is unmet."""
    rule_family: str | None = None
    categories: tuple[str, ...] = ()
    min_tenths: int | None = None
    within_months: int | None = None
    """Window ending on the evaluation day; ``None`` counts all hours ever completed."""
    cert_type: str | None = msgspec.field(default=None, name="type")
    level: str | None = None
    accepted_levels: tuple[str, ...] = ()
    """For ``holds``: ``level`` and every level above it; empty means any level."""


class Level(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One level of a certificate type."""

    code: str
    name: str
    validity_months: int | None = None
    """Overrides the type's validity when set."""
    prerequisites: tuple[Prerequisite, ...] = ()
    """In addition to the type's prerequisites."""


class CertificateType(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A kind of certificate the registry issues."""

    code: str
    name: str
    """Simplified Chinese name."""
    issuers: tuple[Issuer, ...]
    """Roles that may issue it (a training base only within its accreditation scope)."""
    levels: tuple[Level, ...] = ()
    """Lowest first; empty for a certificate without levels."""
    validity_months: int | None = None
    """``None``: no fixed term of validity."""
    prerequisites: tuple[Prerequisite, ...] = ()
    """Apply to every level."""
    source_title: str | None = None
    source_issuer: str | None = None
    source_number: str | None = None
    source_note: str | None = None

    def level(self, code: str | None) -> Level | None:
        """The level named ``code``; ``None`` for a type without levels.

        Raises:
            LevelRequiredError: The type has levels and ``code`` is ``None``.
            UnknownLevelError: The type has no such level, or no levels and ``code`` is set.
        """
        if not self.levels:
            if code is not None:
                raise UnknownLevelError(f"certificate type {self.code!r} has no levels")
            return None
        if code is None:
            codes = ", ".join(level.code for level in self.levels)
            raise LevelRequiredError(f"certificate type {self.code!r} needs a level ({codes})")
        for level in self.levels:
            if level.code == code:
                return level
        raise UnknownLevelError(f"certificate type {self.code!r} has no level {code!r}")

    def prerequisites_for(self, level: str | None) -> tuple[Prerequisite, ...]:
        """The type's prerequisites followed by the level's.

        Raises:
            LevelRequiredError: See :meth:`level`.
            UnknownLevelError: See :meth:`level`.
        """
        found = self.level(level)
        return self.prerequisites + (found.prerequisites if found else ())

    def validity_months_for(self, level: str | None) -> int | None:
        """Months of validity at ``level`` (``None``: no fixed term).

        Raises:
            LevelRequiredError: See :meth:`level`.
            UnknownLevelError: See :meth:`level`.
        """
        found = self.level(level)
        if found is not None and found.validity_months is not None:
            return found.validity_months
        return self.validity_months


class CertRequirement(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A certificate a position accepts."""

    cert_type: str = msgspec.field(name="type")
    min_level: str | None = None
    accepted_levels: tuple[str, ...] = ()
    """``min_level`` and every level above it; empty means any level."""

    def accepts(self, cert: HeldCert) -> bool:
        """Whether ``cert`` (in any status) is of an accepted type and level."""
        if cert.cert_type != self.cert_type:
            return False
        return not self.accepted_levels or cert.level in self.accepted_levels


class Position(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A job in a childcare institution."""

    code: str
    name: str
    """Simplified Chinese name."""
    requires_any_certificate: tuple[CertRequirement, ...] = ()
    """One valid certificate among these; empty: only the universal requirements."""
    note: str | None = None
    """Qualifications checked outside the registry (e.g. a security guard licence)."""
    source_title: str | None = None
    source_note: str | None = None


class Catalog(msgspec.Struct, frozen=True, kw_only=True):
    """Certificate types and positions loaded together and cross-checked."""

    version: str
    """``<certificate types version>+<positions version>``."""
    certificate_types_version: str
    certificate_types_effective_from: date
    positions_version: str
    positions_effective_from: date
    certificate_types: tuple[CertificateType, ...]
    positions: tuple[Position, ...]
    universal: tuple[str, ...]

    def certificate_type(self, code: str) -> CertificateType:
        """The certificate type with this code.

        Raises:
            UnknownCertificateTypeError: No such type.
        """
        for cert_type in self.certificate_types:
            if cert_type.code == code:
                return cert_type
        raise UnknownCertificateTypeError(f"unknown certificate type {code!r}")

    def position(self, code: str) -> Position:
        """The position with this code.

        Raises:
            UnknownPositionError: No such position.
        """
        for position in self.positions:
            if position.code == code:
                return position
        raise UnknownPositionError(f"unknown position {code!r}")


class HeldCert(msgspec.Struct, frozen=True, kw_only=True):
    """A certificate a practitioner holds, with its current status."""

    cert_type: str = msgspec.field(name="type")
    level: str | None = None
    status: CertStatus = "valid"


class PrerequisiteFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What a service knows about a practitioner when a certificate is requested."""

    as_of: date
    """The evaluation day (the issue date); hour windows end on it."""
    rule_results: Sequence[RuleResult] = ()
    """``engine.evaluate(..., positions=None)`` for the year of ``as_of``."""
    records: Sequence[RecordHours] = ()
    """Completed courses since :func:`records_needed_since` (or all of them)."""
    held: Sequence[HeldCert] = ()
    assessment_passed: bool = False
    assessment_ref: str | None = None


# --------------------------------------------------------------------------- file schema


class _PrerequisiteSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: PrerequisiteKind
    code: str | None = None
    rule_family: str | None = None
    categories: list[str] = []
    min_hours: int | float | str | None = None
    within_months: int | None = None
    cert_type: str | None = msgspec.field(default=None, name="type")
    level: str | None = None


class _LevelSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: str
    name: str
    validity_years: int | None = None
    validity_months: int | None = None
    prerequisites: list[_PrerequisiteSpec] = []


class _TypeSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: str
    name: str
    issuers: list[Issuer]
    levels: list[_LevelSpec] = []
    validity_years: int | None = None
    validity_months: int | None = None
    prerequisites: list[_PrerequisiteSpec] = []
    source_title: str | None = None
    source_issuer: str | None = None
    source_number: str | None = None
    source_note: str | None = None


class _TypesFile(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    version: str
    effective_from: date
    description: str = ""
    certificate_types: list[_TypeSpec]


class _RequirementSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    cert_type: str = msgspec.field(name="type")
    min_level: str | None = None


class _PositionSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: str
    name: str
    requires_any_certificate: list[_RequirementSpec]
    note: str | None = None
    source_title: str | None = None
    source_note: str | None = None


class _PositionsFile(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    version: str
    effective_from: date
    description: str = ""
    universal: list[str]
    positions: list[_PositionSpec]


# --------------------------------------------------------------------------- loading


def load_catalog(
    certificate_types: Path | str | None = None,
    positions: Path | str | None = None,
) -> Catalog:
    """Load, validate and cross-check the certificate-type and position files.

    Args:
        certificate_types: Path of the certificate-type file (default: the packaged one).
        positions: Path of the positions file (default: the packaged one).

    Returns:
        The catalog.

    Raises:
        CatalogError: A file is missing or malformed (unknown keys included), a code is
            duplicated, or a reference (type, level) does not resolve.
    """
    types_file = _decode(Path(certificate_types or DEFAULT_CERTIFICATE_TYPES), _TypesFile)
    positions_file = _decode(Path(positions or DEFAULT_POSITIONS), _PositionsFile)
    levels_by_type = _levels_by_type(types_file)
    types = tuple(_build_type(spec, levels_by_type) for spec in types_file.certificate_types)
    built_positions = tuple(
        _build_position(spec, levels_by_type) for spec in positions_file.positions
    )
    _check_unique("position", [position.code for position in built_positions])
    return Catalog(
        version=f"{types_file.version}+{positions_file.version}",
        certificate_types_version=types_file.version,
        certificate_types_effective_from=types_file.effective_from,
        positions_version=positions_file.version,
        positions_effective_from=positions_file.effective_from,
        certificate_types=types,
        positions=built_positions,
        universal=_check_universal(positions_file.universal),
    )


def _decode(path: Path, schema: type[_FileT]) -> _FileT:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = msgspec.toml.decode(raw, type=schema)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CatalogError(f"{path.name}: {exc}") from exc
    if not data.version.strip():
        raise CatalogError(f"{path.name}: version is empty")
    return data


def _levels_by_type(spec: _TypesFile) -> dict[str, tuple[str, ...]]:
    _check_unique("certificate type", [cert_type.code for cert_type in spec.certificate_types])
    levels: dict[str, tuple[str, ...]] = {}
    for cert_type in spec.certificate_types:
        codes = [level.code for level in cert_type.levels]
        _check_unique(f"level of {cert_type.code!r}", codes)
        levels[cert_type.code] = tuple(codes)
    return levels


def _check_unique(what: str, codes: list[str]) -> None:
    seen: set[str] = set()
    for code in codes:
        _check_code(code, what)
        if code in seen:
            raise CatalogError(f"duplicate {what} {code!r}")
        seen.add(code)


def _check_code(code: str, what: str) -> str:
    if not _CODE_RE.fullmatch(code):
        raise CatalogError(f"{what} code {code!r} must match {_CODE_RE.pattern}")
    return code


def _build_type(spec: _TypeSpec, levels_by_type: dict[str, tuple[str, ...]]) -> CertificateType:
    where = f"certificate type {spec.code!r}"
    if not spec.issuers or len(set(spec.issuers)) != len(spec.issuers):
        raise CatalogError(f"{where}: issuers must be a non-empty list without duplicates")
    return CertificateType(
        code=spec.code,
        name=_check_name(spec.name, where),
        issuers=tuple(spec.issuers),
        levels=tuple(
            Level(
                code=level.code,
                name=_check_name(level.name, f"{where} level {level.code!r}"),
                validity_months=_validity(level.validity_years, level.validity_months, where),
                prerequisites=_build_prerequisites(
                    level.prerequisites, levels_by_type, f"{where} level {level.code!r}"
                ),
            )
            for level in spec.levels
        ),
        validity_months=_validity(spec.validity_years, spec.validity_months, where),
        prerequisites=_build_prerequisites(spec.prerequisites, levels_by_type, where),
        source_title=spec.source_title,
        source_issuer=spec.source_issuer,
        source_number=spec.source_number,
        source_note=spec.source_note,
    )


def _check_name(name: str, where: str) -> str:
    if not name.strip():
        raise CatalogError(f"{where}: name is empty")
    return name


def _validity(years: int | None, months: int | None, where: str) -> int | None:
    if years is not None and months is not None:
        raise CatalogError(f"{where}: give validity_years or validity_months, not both")
    value = years * 12 if years is not None else months
    if value is not None and value <= 0:
        raise CatalogError(f"{where}: validity must be positive")
    return value


def _build_prerequisites(
    specs: list[_PrerequisiteSpec],
    levels_by_type: dict[str, tuple[str, ...]],
    where: str,
) -> tuple[Prerequisite, ...]:
    built: list[Prerequisite] = []
    for index, spec in enumerate(specs):
        context = f"{where}: prerequisite {index + 1} ({spec.kind})"
        try:
            built.append(_build_prerequisite(spec, levels_by_type))
        except CatalogError as exc:
            raise CatalogError(f"{context}: {exc}") from exc
    return tuple(built)


def _build_prerequisite(
    spec: _PrerequisiteSpec, levels_by_type: dict[str, tuple[str, ...]]
) -> Prerequisite:
    if spec.kind == "hours":
        return _build_hours(spec)
    if spec.kind == "assessment":
        _forbid(spec, ("rule_family", "categories", "min_hours", "within_months", "type", "level"))
        return Prerequisite(kind="assessment", code=_reason_code(spec, ASSESSMENT_NOT_PASSED))
    _forbid(spec, ("rule_family", "categories", "min_hours", "within_months"))
    if spec.cert_type is None:
        raise CatalogError("holds needs a type")
    return Prerequisite(
        kind="holds",
        code=_reason_code(spec, LOWER_LEVEL_NOT_HELD),
        cert_type=spec.cert_type,
        level=spec.level,
        accepted_levels=_levels_from(levels_by_type, spec.cert_type, spec.level),
    )


def _build_hours(spec: _PrerequisiteSpec) -> Prerequisite:
    _forbid(spec, ("type", "level"))
    if spec.rule_family is not None:
        _forbid(spec, ("categories", "min_hours", "within_months"))
        family = _check_code(spec.rule_family, "rule family")
        return Prerequisite(
            kind="hours", code=_reason_code(spec, f"{family}_hours_short"), rule_family=family
        )
    if not spec.categories or spec.min_hours is None:
        raise CatalogError("hours needs rule_family, or categories and min_hours")
    categories = tuple(_check_code(category, "category") for category in spec.categories)
    try:
        min_tenths = parse_hours(spec.min_hours)
    except HoursError as exc:
        raise CatalogError(f"min_hours: {exc}") from exc
    if min_tenths == 0:
        raise CatalogError("min_hours must be more than 0")
    if spec.within_months is not None and spec.within_months <= 0:
        raise CatalogError("within_months must be positive")
    return Prerequisite(
        kind="hours",
        code=_reason_code(spec, "_".join(categories) + "_hours_short"),
        categories=categories,
        min_tenths=min_tenths,
        within_months=spec.within_months,
    )


def _forbid(spec: _PrerequisiteSpec, keys: tuple[str, ...]) -> None:
    present = {
        "rule_family": spec.rule_family is not None,
        "categories": bool(spec.categories),
        "min_hours": spec.min_hours is not None,
        "within_months": spec.within_months is not None,
        "type": spec.cert_type is not None,
        "level": spec.level is not None,
    }
    extra = [key for key in keys if present[key]]
    if extra:
        raise CatalogError(f"keys not allowed here: {', '.join(extra)}")


def _reason_code(spec: _PrerequisiteSpec, default: str) -> str:
    return _check_code(spec.code if spec.code is not None else default, "reason")


def _levels_from(
    levels_by_type: dict[str, tuple[str, ...]], cert_type: str, level: str | None
) -> tuple[str, ...]:
    """``level`` and the levels listed after it (higher); ``()`` for any level."""
    if cert_type not in levels_by_type:
        raise CatalogError(f"unknown certificate type {cert_type!r}")
    levels = levels_by_type[cert_type]
    if level is None:
        return ()
    if level not in levels:
        raise CatalogError(f"certificate type {cert_type!r} has no level {level!r}")
    return levels[levels.index(level) :]


def _build_position(spec: _PositionSpec, levels_by_type: dict[str, tuple[str, ...]]) -> Position:
    where = f"position {spec.code!r}"
    requirements: list[CertRequirement] = []
    for requirement in spec.requires_any_certificate:
        try:
            accepted = _levels_from(levels_by_type, requirement.cert_type, requirement.min_level)
        except CatalogError as exc:
            raise CatalogError(f"{where}: {exc}") from exc
        requirements.append(
            CertRequirement(
                cert_type=requirement.cert_type,
                min_level=requirement.min_level,
                accepted_levels=accepted,
            )
        )
    return Position(
        code=spec.code,
        name=_check_name(spec.name, where),
        requires_any_certificate=tuple(requirements),
        note=spec.note,
        source_title=spec.source_title,
        source_note=spec.source_note,
    )


def _check_universal(values: list[str]) -> tuple[str, ...]:
    unknown = [value for value in values if value not in UNIVERSAL_REQUIREMENTS]
    if unknown:
        known = ", ".join(UNIVERSAL_REQUIREMENTS)
        raise CatalogError(f"unknown universal requirement(s) {unknown} (known: {known})")
    if len(set(values)) != len(values):
        raise CatalogError(f"duplicate universal requirement in {values}")
    return tuple(values)


# --------------------------------------------------------------------------- dates


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clamped to the month's last day.

    ``add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)``.
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def valid_until(cert_type: CertificateType, level: str | None, issued_on: date) -> date | None:
    """Last day of validity of a certificate issued on ``issued_on`` (``None``: no term).

    A 36-month certificate issued on 2026-03-15 is valid through 2029-03-14.

    Raises:
        LevelRequiredError: See :meth:`CertificateType.level`.
        UnknownLevelError: See :meth:`CertificateType.level`.
    """
    months = cert_type.validity_months_for(level)
    if months is None:
        return None
    return add_months(issued_on, months) - timedelta(days=1)


def records_needed_since(cert_type: CertificateType, level: str | None, as_of: date) -> date | None:
    """Earliest completion date the category-hour prerequisites look at.

    Returns:
        ``None`` when no prerequisite reads records, ``date.min`` when one reads all of them.

    Raises:
        LevelRequiredError: See :meth:`CertificateType.level`.
        UnknownLevelError: See :meth:`CertificateType.level`.
    """
    starts = [
        _window_start(prerequisite, as_of)
        for prerequisite in cert_type.prerequisites_for(level)
        if prerequisite.kind == "hours" and prerequisite.categories
    ]
    return min(starts) if starts else None


def _window_start(prerequisite: Prerequisite, as_of: date) -> date:
    """First day of the window of ``within_months`` months ending on ``as_of`` (inclusive).

    Twelve months to 2026-05-01 start on 2025-05-02.
    """
    if prerequisite.within_months is None:
        return date.min
    return add_months(as_of, -prerequisite.within_months) + timedelta(days=1)


# --------------------------------------------------------------------------- evaluation


def evaluate_prerequisites(
    cert_type: CertificateType, level: str | None, facts: PrerequisiteFacts
) -> list[Reason]:
    """The reasons a certificate of ``cert_type`` at ``level`` cannot be issued.

    Args:
        cert_type: From :meth:`Catalog.certificate_type`.
        level: A level code, or ``None`` for a type without levels.
        facts: What the service knows about the practitioner and the request.

    Returns:
        One reason per unmet prerequisite, type prerequisites first; empty when all are met.

    Raises:
        LevelRequiredError: The type has levels and ``level`` is ``None``.
        UnknownLevelError: ``level`` is not a level of the type.
    """
    reasons: list[Reason] = []
    for prerequisite in cert_type.prerequisites_for(level):
        reason = _check_prerequisite(prerequisite, facts)
        if reason is not None:
            reasons.append(reason)
    return reasons


def _check_prerequisite(prerequisite: Prerequisite, facts: PrerequisiteFacts) -> Reason | None:
    if prerequisite.kind == "hours" and prerequisite.rule_family is not None:
        return _check_rule_hours(prerequisite, prerequisite.rule_family, facts)
    if prerequisite.kind == "hours":
        return _check_category_hours(prerequisite, facts)
    if prerequisite.kind == "assessment":
        return _check_assessment(prerequisite, facts)
    return _check_holds(prerequisite, facts)


def _check_rule_hours(
    prerequisite: Prerequisite, family: str, facts: PrerequisiteFacts
) -> Reason | None:
    result = next((item for item in facts.rule_results if item.family == family), None)
    if result is None:
        return Reason(
            HOURS_RULE_NOT_IN_FORCE,
            f"no {family} rule is in force for the practitioner's region on "
            f"{facts.as_of.isoformat()}",
        )
    if result.met:
        return None
    return Reason(
        prerequisite.code,
        f"{family.replace('_', ' ')} {result.period_label}: "
        f"{format_hours(result.required_tenths)} hours required, "
        f"{format_hours(result.earned_tenths)} earned",
    )


def _check_category_hours(prerequisite: Prerequisite, facts: PrerequisiteFacts) -> Reason | None:
    required = prerequisite.min_tenths or 0
    start = _window_start(prerequisite, facts.as_of)
    earned = sum(
        record.hours_tenths
        for record in facts.records
        if record.category in prerequisite.categories
        and start <= record.completed_on <= facts.as_of
    )
    if earned >= required:
        return None
    names = "/".join(prerequisite.categories)
    window = (
        f"in the {prerequisite.within_months} months to {facts.as_of.isoformat()}"
        if prerequisite.within_months is not None
        else f"up to {facts.as_of.isoformat()}"
    )
    return Reason(
        prerequisite.code,
        f"{names} hours {window}: {format_hours(required)} hours required, "
        f"{format_hours(earned)} earned",
    )


def _check_assessment(prerequisite: Prerequisite, facts: PrerequisiteFacts) -> Reason | None:
    if not facts.assessment_passed:
        return Reason(prerequisite.code, "a passed assessment is required; none was reported")
    if not (facts.assessment_ref or "").strip():
        return Reason(
            ASSESSMENT_REF_MISSING, "a passed assessment must name its record (assessment_ref)"
        )
    return None


def _check_holds(prerequisite: Prerequisite, facts: PrerequisiteFacts) -> Reason | None:
    requirement = CertRequirement(
        cert_type=prerequisite.cert_type or "",
        min_level=prerequisite.level,
        accepted_levels=prerequisite.accepted_levels,
    )
    matching = [cert for cert in facts.held if requirement.accepts(cert)]
    if any(cert.status == "valid" for cert in matching):
        return None
    wanted = _describe(requirement)
    held = f"; held: {_describe_held(matching)}" if matching else ""
    return Reason(prerequisite.code, f"a valid {wanted} certificate is required{held}")


def evaluate_position(position: Position, held_certs: Sequence[HeldCert]) -> list[Reason]:
    """The certificate reasons a practitioner cannot take ``position``.

    The universal requirements (not banned, no credit joint punishment) are the services' to
    evaluate; this checks only ``requires_any_certificate``.

    Args:
        position: From :meth:`Catalog.position` (an unknown code raises there).
        held_certs: The practitioner's certificates with their current status.

    Returns:
        Empty when one accepted certificate is valid (or none is required); otherwise one
        reason: ``certificate_revoked``, ``certificate_suspended`` or ``certificate_expired``
        when every accepted certificate held is in that state, else ``no_valid_certificate``.
    """
    requirements = position.requires_any_certificate
    if not requirements:
        return []
    relevant = [cert for cert in held_certs if any(req.accepts(cert) for req in requirements)]
    if any(cert.status == "valid" for cert in relevant):
        return []
    accepted = ", ".join(_describe(requirement) for requirement in requirements)
    statuses = {cert.status for cert in relevant}
    if len(statuses) == 1:
        (status,) = statuses
        return [
            Reason(
                _STATUS_CODES[status],
                f"position {position.code} accepts {accepted}; "
                f"every one held is {status}: {_describe_held(relevant)}",
            )
        ]
    held = f"; held: {_describe_held(relevant)}" if relevant else "; none held"
    return [
        Reason(
            NO_VALID_CERTIFICATE,
            f"position {position.code} requires a valid certificate of {accepted}{held}",
        )
    ]


def _describe(requirement: CertRequirement) -> str:
    if requirement.min_level is None:
        return requirement.cert_type
    return f"{requirement.cert_type} (level {requirement.min_level} or above)"


def _describe_held(certs: Sequence[HeldCert]) -> str:
    return ", ".join(
        f"{cert.cert_type}{f' level {cert.level}' if cert.level else ''} ({cert.status})"
        for cert in certs
    )
