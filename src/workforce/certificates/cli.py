"""``workforce cert``: verify a certificate offline, or against a running registry.

    workforce cert verify TOKEN --jwks jwks.json --status revocation.jwt --status suspension.jwt
    workforce cert verify TOKEN --url https://registry.example.cn

``TOKEN`` is the certificate ``vc+jwt`` itself, ``@FILE`` for a file holding it, or ``-`` for
standard input. With ``--jwks`` and ``--status`` nothing touches the network. ``--url`` fetches
the JWK Set and the status lists the certificate points at from a registry's public endpoints.

Exit status: 0 only for a ``valid`` verdict; 1 for any other verdict (invalid, revoked,
suspended, expired, status unknown); 2 for usage errors (unreadable files, bad options).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import click
import httpx
import msgspec

from workforce.certificates.credential import verify_vc_jwt
from workforce.certificates.status_list import MAX_STATUS_LIST_TOKEN_BYTES, index_status_lists
from workforce.certificates.verify import CertificateVerdict, verify_certificate_offline

LIST_PATH: Final = "/api/v1/status-lists/"
JWKS_PATH: Final = "/.well-known/jwks.json"
MAX_FILE_BYTES: Final = 4 * 1024 * 1024
MAX_FETCHED_LISTS: Final = 8
HTTP_TIMEOUT: Final = 10.0
VERDICT_LABELS: Final = {
    "valid": "有效 (valid)",
    "invalid": "无效 (invalid)",
    "revoked": "已撤销 (revoked)",
    "suspended": "已暂停 (suspended)",
    "expired": "已过期 (expired)",
    "status_unknown": "状态未知 (status unknown)",
}


def _read_text(path: Path, what: str) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise click.UsageError(f"{what} {path} is larger than {MAX_FILE_BYTES} bytes")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.UsageError(f"cannot read {what} {path}: {exc}") from None


def _token_argument(token: str) -> str:
    if token == "-":  # noqa: S105 - the conventional stand-in for standard input
        return sys.stdin.read(MAX_FILE_BYTES).strip()
    if token.startswith("@"):
        return _read_text(Path(token[1:]), "token file").strip()
    return token.strip()


def _jwks_file(path: Path) -> Any:
    try:
        return json.loads(_read_text(path, "JWKS file"))
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"the JWKS file {path} is not JSON: {exc.msg}") from None


def _http_client(base_url: str) -> httpx.Client:
    """The HTTP client of ``--url`` (a seam for tests)."""
    return httpx.Client(base_url=base_url, timeout=HTTP_TIMEOUT, follow_redirects=False)


def _list_ids(credential: dict[str, Any]) -> list[str]:
    entries = credential.get("credentialStatus")
    items = entries if isinstance(entries, list) else [entries]
    ids: list[str] = []
    for entry in items[:MAX_FETCHED_LISTS]:
        url = entry.get("statusListCredential") if isinstance(entry, dict) else None
        if isinstance(url, str) and LIST_PATH in url:
            list_id = url.rsplit(LIST_PATH, 1)[1]
            if list_id and all(c.isalnum() or c == "-" for c in list_id) and list_id not in ids:
                ids.append(list_id)
    return ids


def _fetch(token: str, base_url: str, now: datetime) -> tuple[Any, dict[str, str]]:
    """The JWK Set and the status lists the certificate points at, from a registry."""
    try:
        with _http_client(base_url.rstrip("/")) as client:
            response = client.get(JWKS_PATH)
            response.raise_for_status()
            jwks = response.json()
            verification = verify_vc_jwt(token, jwks, now)
            lists: list[str] = []
            if verification.signature_ok and verification.credential is not None:
                for list_id in _list_ids(verification.credential):
                    fetched = client.get(
                        f"{LIST_PATH}{list_id}", headers={"Accept": "application/vc+jwt"}
                    )
                    if fetched.status_code == httpx.codes.OK and len(fetched.content) <= (
                        MAX_STATUS_LIST_TOKEN_BYTES
                    ):
                        lists.append(fetched.text)
    except (httpx.HTTPError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"cannot fetch from {base_url}: {exc}") from None
    return jwks, index_status_lists(lists)


def _print_human(verdict: CertificateVerdict) -> None:
    click.echo(f"结论 verdict: {VERDICT_LABELS[verdict.verdict]}")
    for name in ("signature", "expiry", "revocation", "suspension"):
        check = getattr(verdict.checks, name)
        mark = {True: "ok", False: "FAILED", None: "undecided"}[check.ok]
        reason = f" ({check.reason})" if check.reason else ""
        click.echo(f"  {name:<11} {mark}{reason}")
    summary = verdict.certificate
    if summary is not None:
        level = f" {summary.level_name}" if summary.level_name else ""
        click.echo(f"证书 certificate: {summary.type_name}{level}  {summary.serial}")
        click.echo(f"持证人 holder: {summary.holder_name} {summary.holder_masked_id}")
        click.echo(f"发证机构 issuer: {summary.issuer_name} ({summary.issuer_id})")
        click.echo(f"学时 hours: {summary.hours}")
        click.echo(f"有效期 valid: {summary.valid_from} .. {summary.valid_until or '长期'}")
    if verdict.kid:
        click.echo(f"key: {verdict.kid}")


@click.group()
def cert() -> None:
    """Certificates: offline verification."""


@cert.command("verify")
@click.argument("token")
@click.option(
    "--jwks",
    "jwks_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="JWK Set file (the registry's /.well-known/jwks.json).",
)
@click.option(
    "--status",
    "status_paths",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A status-list vc+jwt file (repeat for the revocation and the suspension list).",
)
@click.option("--url", "base_url", help="Fetch the JWKS and status lists from this registry.")
@click.option(
    "--at",
    "at",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    help="Verify as of this time (UTC unless an offset is given); default now.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object.")
def verify(
    token: str,
    jwks_path: Path | None,
    status_paths: tuple[Path, ...],
    base_url: str | None,
    at: datetime | None,
    as_json: bool,
) -> None:
    """Verify a certificate TOKEN: signature, validity period, revocation and suspension.

    Exits 0 only when the verdict is ``valid``.
    """
    if at is None:
        now = datetime.now(UTC)
    else:
        now = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    if (jwks_path is None) == (base_url is None):
        raise click.UsageError("give either --jwks FILE (offline) or --url URL")
    raw = _token_argument(token)
    if jwks_path is not None:
        jwks = _jwks_file(jwks_path)
        lists = index_status_lists(_read_text(p, "status file") for p in status_paths)
    else:
        jwks, lists = _fetch(raw, str(base_url), now)
    verdict = verify_certificate_offline(raw, jwks, lists or None, now)
    if as_json:
        click.echo(msgspec.json.encode(verdict).decode())
    else:
        _print_human(verdict)
    click.get_current_context().exit(0 if verdict.verdict == "valid" else 1)
