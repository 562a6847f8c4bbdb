"""Start and stop a real Glance API server (tests/glance/serve.py) for the conformance and SQL tests.

Glance runs in its own virtual environment (.venv-glance, from requirements-glance.txt,
set up by `make test`), never in the docs stack's.
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv-glance" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GlanceServer:
    def __init__(self, workdir: Path, options: tuple[str, ...] = (), database_url: str | None = None,
                 schema_image: Path | None = None, python: Path = PYTHON, sync: bool = True, env: dict[str, str] | None = None):
        self.workdir = workdir
        self.python = python  # Glance's interpreter: .venv-glance, or an era matrix release's (tests/matrix.py)
        self.sync = sync  # False: serve the database as it is, without the release's own db_sync
        self.env = env or {}  # more IMGSPEC_GLANCE_* settings for serve.py
        self.schema_image = schema_image  # a deployment's etc/schema-image.json (Glance's own, for the fuzz tests)
        self.database_url = database_url  # a MariaDB or PostgreSQL database; None: SQLite in workdir
        self.options = options  # "key = value" lines for [DEFAULT] of glance-api.conf
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    @property
    def database(self) -> Path:
        return self.workdir / "glance.sqlite"

    def start(self, timeout: float = 120) -> GlanceServer:
        if not self.python.exists():
            raise RuntimeError(f"{self.python} is missing: `make test` creates it (requirements-glance.txt, "
                               "tools/matrix/)")
        log = open(self.workdir.parent / f"{self.workdir.name}.out", "w")
        self.proc = subprocess.Popen([str(self.python), str(ROOT / "tests" / "glance" / "serve.py"), str(self.workdir),
                                      str(self.port), *self.options], stdout=log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, IMGSPEC_GLANCE_DATABASE=self.database_url or "",
                                              IMGSPEC_GLANCE_SCHEMA_IMAGE=str(self.schema_image or ""),
                                              IMGSPEC_GLANCE_NO_SYNC="" if self.sync else "1", **self.env))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Glance exited with {self.proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(self.url + "/versions", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"Glance did not answer within {timeout} s; see {log.name}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
