"""The README walkthrough works verbatim against a freshly started server."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- walkthrough:start -->\s*```sh\n(.*?)```\s*<!-- walkthrough:end -->", text, re.S)
    assert match, "README.md has no walkthrough block"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_readme_walkthrough(tmp_path: Path) -> None:
    if os.environ.get("WORKFORCE_TEST_DATABASE_URL"):
        pytest.skip("the walkthrough runs on the embedded database (run in the SQLite pass)")
    work = tmp_path / "checkout"
    work.mkdir()
    (work / ".venv").symlink_to(BIN.parent)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFORCE_")}
    env.update({"WORKFORCE_SCRYPT_LOG2_N": "10", "WF": f"http://127.0.0.1:{port}"})
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [str(BIN / "workforce"), "serve", "--port", str(port)],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("server did not start")
        script = walkthrough().replace("export WF=http://127.0.0.1:8000", "")
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env,
            capture_output=True, text=True, timeout=300, check=False,
        )
        assert result.returncode == 0, (
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\n"
            f"server:\n{(tmp_path / 'server.log').read_text(errors='replace')[-3000:]}"
        )
        assert "WALKTHROUGH OK" in result.stdout
        out = result.stdout
        # Step 6: the roster's two good rows recorded, the two bad ones refused with their lines.
        assert '"accepted":2' in out and '"rejected":2' in out, out
        assert '"line":4' in out and '"line":5' in out, out
        # Step 7: the hiring gate refuses her for want of a certificate.
        assert "denied — ['no_valid_certificate']" in out, out
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        log.close()
        shutil.rmtree(work / "var", ignore_errors=True)
