"""What the tests share that is not a fixture: the repository's root, its spec tree (one, read once per process;
a test that changes files uses the ``spec_copy`` fixture instead), and building the site as `make html` does."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from imgspec.spec import Spec

ROOT = Path(__file__).resolve().parent.parent
SPEC = Spec(ROOT)


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
