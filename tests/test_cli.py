"""The operator's commands: db upgrade, orgs create, keys rotate, demo."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from workforce.cli import main


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith("WORKFORCE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("WORKFORCE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("WORKFORCE_SCRYPT_LOG2_N", "10")
    return tmp_path / "var"


def test_orgs_create_json_and_validation(cli_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(
        main, ["orgs", "create", "--kind", "regulator", "--name", "江苏省卫生健康委员会", "--region", "320000", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {"org_id", "client_id", "client_secret"} <= out.keys()
    assert out["client_id"].startswith("wf_")
    bad = runner.invoke(
        main, ["orgs", "create", "--kind", "institution", "--name", "某托育园", "--region", "320102", "--uscc", "91320102MAEFLCR64X"]
    )
    assert bad.exit_code != 0
    assert "credit code" in bad.output or "uscc" in bad.output.lower()


def test_keys_rotate_keeps_old_keys(cli_env: Path) -> None:
    from workforce.security.keys import Keyring

    runner = CliRunner()
    first = runner.invoke(main, ["keys", "rotate"])
    assert first.exit_code == 0, first.output
    ring = Keyring.open(cli_env / "keys")
    assert len(ring.keys) == 2
    second = runner.invoke(main, ["keys", "rotate"])
    assert second.exit_code == 0
    ring.reload()
    assert len(ring.keys) == 3
    assert len({k.kid for k in ring.keys}) == 3
    for path in (cli_env / "keys" / "signing").glob("*.pem"):
        assert path.stat().st_mode & 0o777 == 0o600
    from workforce.security.keys import Secrets

    Secrets.open(cli_env / "keys")
    assert (cli_env / "keys" / "secrets.json").stat().st_mode & 0o777 == 0o600


def test_demo_loads_once_and_prints_credentials(cli_env: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "--if-empty", "--json"])
    assert first.exit_code == 0, first.output
    creds = json.loads(first.output)
    roles = {c["role"] for k, c in creds.items() if isinstance(c, dict) and "role" in c}
    assert roles == {"admin", "regulator", "training_base", "institution"}
    again = runner.invoke(main, ["demo", "--if-empty"])
    assert again.exit_code == 0
    assert creds["admin"]["client_id"] in again.output
