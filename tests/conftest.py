"""Shared fixtures: the repository's spec tree, and throw-away copies of it to break."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imgspec.spec import Spec

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def spec() -> Spec:
    return Spec(ROOT)


@pytest.fixture
def spec_copy(tmp_path) -> Spec:
    """A private copy of schemas/ and examples/ that a test may break."""
    for name in ("schemas", "examples"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return Spec(tmp_path)


def sphinx_build(outdir: Path, root: Path | None = None, *extra: str) -> subprocess.CompletedProcess:
    """Build the site the way `make html` does, optionally reading files from another spec tree."""
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-c", str(ROOT),
           "-d", str(outdir.with_name(outdir.name + ".doctrees")), str(ROOT / "docs"), str(outdir)]
    if root is not None:
        cmd[4:4] = ["-D", f"imgspec_root={root}"]
    return subprocess.run(cmd + list(extra), capture_output=True, text=True, cwd=ROOT)


def built_site(tmp_path_factory) -> Path:
    """The site as `make html` builds it, built once per test run and shared by every xdist worker."""
    from filelock import FileLock
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "site-shared"
    shared.mkdir(exist_ok=True)
    out, verdict = shared / "html", shared / "verdict.json"
    with FileLock(str(shared / ".lock")):
        if not verdict.exists():
            result = sphinx_build(out)
            verdict.write_text(json.dumps({"returncode": result.returncode, "stderr": result.stderr}))
    found = json.loads(verdict.read_text())
    assert found["returncode"] == 0, found["stderr"]
    assert found["stderr"].strip() == ""  # zero warnings, nitpicky
    return out


@pytest.fixture(scope="session")
def glance(tmp_path_factory):
    """A real Glance API server on loopback, for the whole session, with the image cache enabled (so it serves the
    cache API and answers API 2.18; tests/glance/serve.py adds the cache middleware to its pipeline)."""
    from glance_live import GlanceServer
    work = tmp_path_factory.mktemp("glance") / "server"
    server = GlanceServer(work, (f"image_cache_dir = {work / 'cache'}",))
    server.workdir.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def glance_delayed(tmp_path_factory):
    """A second real Glance server, with delayed_delete = True: a deleted image waits for the scrubber."""
    from glance_live import GlanceServer
    server = GlanceServer(tmp_path_factory.mktemp("glance-delayed") / "server", ("delayed_delete = True",))
    server.workdir.mkdir()
    server.start()
    yield server
    server.stop()


MIN_TESTS = 1200  # the whole suite; a collection that silently lost modules or parameters fails


def pytest_collection_finish(session):
    config = session.config
    whole = not config.option.keyword and not config.option.markexpr and \
        all(Path(a).resolve() == ROOT / "tests" for a in config.args)
    if whole and len(session.items) < MIN_TESTS:
        raise pytest.UsageError(f"only {len(session.items)} tests collected; the whole suite has at least {MIN_TESTS}")
