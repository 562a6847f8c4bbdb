"""The package as implementers install it: wheel and sdist built and checked, the wheel alone in a fresh venv."""
from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from support import ROOT

README = (ROOT / "README.md").read_text()


def run(*cmd, **kw):
    ran = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert ran.returncode == 0, f"{cmd}: {ran.stdout[-1500:]}{ran.stderr[-1500:]}"
    return ran


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("package")
    dist = out / "dist"
    run(sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", dist, ROOT)
    built = sorted(p.name for p in dist.iterdir())
    assert len(built) == 2 and sum(n.endswith(".whl") for n in built) == sum(n.endswith(".tar.gz") for n in built) == 1
    run(sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir()))
    env = out / "venv"
    venv.create(env, with_pip=True)
    wheel = next(dist.glob("*.whl"))
    run(env / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
    return env


def test_the_wheel_declares_every_runtime_import(installed):
    """Only the declared dependencies are there: no tqdm, no hypothesis, no jsonschema-rs, no SQLAlchemy."""
    listed = run(installed / "bin" / "python", "-m", "pip", "list", "--format=json").stdout
    names = {p["name"].lower() for p in json.loads(listed)}
    assert "imgspec" in names and "jsonschema" in names
    assert not names & {"tqdm", "hypothesis", "jsonschema-rs", "sqlalchemy", "orjson"}


def test_validate_1500_files_under_a_terminal(installed, tmp_path):
    """A terminal makes imgspec show progress; without tqdm it must be a plain line, never a crash."""
    record = json.loads((ROOT / "examples/record/2.3/image/valid/active-public.json").read_text())
    folder = tmp_path / "records"
    folder.mkdir()
    for i in range(1500):
        record["id"] = f"{i:08x}-0000-4000-8000-000000000000"
        (folder / f"{i}.json").write_text(json.dumps(record))
    (folder / "bad.json").write_text(json.dumps({**record, "size": -1}))
    pid, fd = pty.fork()
    if pid == 0:  # the child: imgspec on a pseudo-terminal, as a user at a shell runs it
        os.execv(str(installed / "bin" / "imgspec"), ["imgspec", "validate", str(folder)])
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    text = b"".join(chunks).decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 1, text[-2000:]
    assert "Traceback" not in text
    assert re.search(r"bad\.json: /size: minimum: ", text), text[-2000:]
    assert "1501 record(s) checked" in text


def test_read_and_the_python_api_of_the_readme(installed, tmp_path):
    old = ROOT / "examples/record/1.0/image/valid/active-public.json"
    read = run(installed / "bin" / "imgspec", "read", old)
    assert json.loads(read.stdout)["format_version"] == "2.3"
    block = README.split("```python\n", 1)[1].split("```", 1)[0]  # the README's own example, as written
    example = ROOT / "examples/record/2.3/image/valid/active-public.json"
    script = (f"import json\nrecord = json.load(open({str(example)!r}))\n" + block
              + "print('api ok', type(imgspec.validator('image', '2.3')).__name__)\n")
    ran = run(installed / "bin" / "python", "-c", script, cwd=tmp_path)
    assert "api ok" in ran.stdout


def test_the_pre_commit_hook_in_a_scratch_repository(tmp_path):
    """`pre-commit try-repo` with this repository's hook, on one good and one bad record."""
    repo = tmp_path / "records"
    repo.mkdir()
    good = (ROOT / "examples/record/2.3/image/valid/active-public.json").read_text()
    (repo / "good.json").write_text(good)
    (repo / "bad.json").write_text(json.dumps({**json.loads(good), "visibility": "everyone"}))
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for cmd in (["git", "init", "-q"], ["git", "add", "."]):
        run(*cmd, cwd=repo, env=env)
    pre_commit = Path(sys.executable).parent / "pre-commit"
    ran = subprocess.run([str(pre_commit), "try-repo", str(ROOT), "imgspec-validate", "--all-files"], cwd=repo,
                         env=env, capture_output=True, text=True, timeout=600)
    out = ran.stdout + ran.stderr
    assert ran.returncode == 1, out
    assert "bad.json: /visibility: enum: " in out and "good.json" not in out.split("Failed", 1)[-1].replace(
        "bad.json", "")
