"""Settings, read once from ``WORKFORCE_*`` environment variables.

Every knob has a default that works on a developer's machine with no set-up: an embedded
SQLite database and key files under ``./var/``.  Production deployments point
``WORKFORCE_DATABASE_URL`` at PostgreSQL and ``WORKFORCE_KEYS_DIR`` at a protected directory.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Literal

Environment = Literal["development", "production", "test"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Runtime configuration of one deployment."""

    var_dir: Path = Path("var")
    """Working directory for the embedded database and, by default, the key files."""
    database_url: str = ""
    """SQLAlchemy async URL; empty means the embedded SQLite file ``<var_dir>/workforce.db``."""
    keys_dir: Path | None = None
    """Directory of the signing keys and PII keys; default ``<var_dir>/keys`` (mode 0700/0600)."""
    environment: Environment = "development"
    """``production`` turns on the stricter checks (e.g. webhook targets on private networks)."""
    issuer: str = "workforce"
    """``iss`` of access tokens."""
    public_base_url: str = "http://127.0.0.1:8000"
    """Base URL printed into certificates, status lists and QR codes."""
    ledger_origin: str = "registry.example.cn/workforce/bans/v1"
    """Origin line of ban-ledger checkpoints (C2SP tlog-checkpoint)."""
    access_token_ttl_seconds: int = 900
    """Lifetime of an access token."""
    scrypt_log2_n: int = 15
    """Work factor of the client-secret hash (scrypt N = 2**value, r = 8, p = 1)."""
    max_body_bytes: int = 1_000_000
    """Largest JSON request body accepted."""
    max_upload_bytes: int = 512 * 1024 * 1024
    """Largest roster file accepted by the import endpoint."""
    max_hours_per_day_tenths: int = 120
    """A practitioner cannot plausibly earn more than this many class hours (in tenths) a day."""
    rules_dir: Path | None = None
    """Extra directory of rule files (``*.toml``) layered over the packaged defaults."""
    recheck_interval_seconds: int = 0
    """When > 0, ``serve`` re-checks every current employment at this interval."""
    webhook_timeout_seconds: float = 5.0
    """Timeout of one webhook delivery attempt."""

    @property
    def effective_database_url(self) -> str:
        """The database URL in use (the embedded SQLite file when none is configured)."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'workforce.db').resolve()}"

    @property
    def effective_keys_dir(self) -> Path:
        """The directory holding the key files."""
        return self.keys_dir if self.keys_dir is not None else self.var_dir / "keys"

    @property
    def is_embedded_database(self) -> bool:
        """True when the service runs on its own default SQLite file."""
        return not self.database_url

    @property
    def is_sqlite(self) -> bool:
        """True for any SQLite database URL."""
        return self.effective_database_url.startswith("sqlite")


def _env(name: str) -> str | None:
    value = os.environ.get(f"WORKFORCE_{name}")
    return value if value not in (None, "") else None


def load_settings() -> Settings:
    """Build :class:`Settings` from the environment (``WORKFORCE_<FIELD>`` in upper case)."""
    kwargs: dict[str, object] = {}
    for field in dataclasses.fields(Settings):
        raw = _env(field.name.upper())
        if raw is None:
            continue
        default = field.default
        if field.name in {"var_dir", "keys_dir", "rules_dir"}:
            kwargs[field.name] = Path(raw)
        elif isinstance(default, bool):
            kwargs[field.name] = raw.lower() in {"1", "true", "yes"}
        elif isinstance(default, int):
            kwargs[field.name] = int(raw)
        elif isinstance(default, float):
            kwargs[field.name] = float(raw)
        else:
            kwargs[field.name] = raw
    settings = Settings(**kwargs)  # type: ignore[arg-type]
    if settings.environment not in ("development", "production", "test"):
        msg = (
            "WORKFORCE_ENVIRONMENT must be development, production or test, "
            f"not {settings.environment!r}"
        )
        raise ValueError(msg)
    return settings
