"""The package as implementers install it: wheel and sdist built and checked, the wheel alone in a fresh venv."""
from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import tarfile
import termios
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
    with tarfile.open(next(dist.glob("*.tar.gz"))) as sdist:  # what the sdist names, and nothing else
        tops = {name.split("/")[1] for name in sdist.getnames() if name.count("/") >= 1}
    assert tops == {"imgspec", "schemas", "examples", "README.md", "pyproject.toml", "PKG-INFO", ".gitignore"}, tops
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


@pytest.mark.parametrize("with_tqdm", [False, True], ids=["plain-line", "tqdm"])
def test_validate_1500_files_under_a_terminal(installed, tmp_path, with_tqdm):
    """A terminal makes imgspec show progress (tqdm where installed, a plain line without it, never a crash), and
    a problem line found meanwhile starts on a line of its own: the progress line is cleared first."""
    record = json.loads((ROOT / "examples/record/2.3/image/valid/active-public.json").read_text())
    folder = tmp_path / "records"
    folder.mkdir()
    for i in range(1500):
        record["id"] = f"{i:08x}-0000-4000-8000-000000000000"
        (folder / f"{i}.json").write_text(json.dumps(record))
    (folder / "5-bad.json").write_text(json.dumps({**record, "size": -1}))  # sorted near the middle of the run
    # the wheel alone has no tqdm; the project's own environment (the same code from the tree) has it
    command = ([str(ROOT / ".venv/bin/python"), "-m", "imgspec"] if with_tqdm else
               [str(installed / "bin" / "imgspec")])
    pid, fd = pty.fork()
    if pid == 0:  # the child: imgspec on a pseudo-terminal of 100 columns, as a user at a shell runs it
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        os.execv(command[0], command + ["validate", str(folder)])
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
    assert ("file/s]" in text) if with_tqdm else re.search(r"\d+/1,501 files \(\d+%\)", text), text[-2000:]
    found = re.search(re.escape(str(folder / "5-bad.json")) + r": /size: minimum: ", text)
    assert found, text[-2000:]
    before = text[max(0, found.start() - 3):found.start()]
    glued = text[max(0, found.start() - 80):found.end()]
    assert before.endswith(("\n", "\r", "\x1b[K")), f"glued onto the progress line: {glued!r}"
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


# every command, run from the installed wheel alone: it works with what the wheel ships, or says in one line
# what it needs (an extra, or a checkout for the commands that change the spec tree)
ALONE = [
    (["check"], 0, "examples: all as declared"),
    (["sizing", "--images", "1000", "--corpus", "100"], 0, "1,000 images"),
    (["vectors"], 0, "vectors: all agree"),
    (["diff", "2.2", "2.3"], 0, "warning: the proof of step 2.2-2.3 was not run"),
    (["prove", "2.2-2.3"], 2, "missing-dependency: the proof draws documents with hypothesis: pip install 'imgspec[prove]'"),
    (["export-sql", "postgresql+psycopg://u:p@127.0.0.1:1/glance", "out"], 2,
     "missing-dependency: export-sql needs SQLAlchemy: pip install 'imgspec[sql]'"),
    (["bundle"], 2, "needs-checkout: bundle changes the spec tree"),
    (["vectors", "--write"], 2, "needs-checkout"),
    (["release", "2.4"], 2, "needs-checkout"),
    (["api-release", "--note", "n"], 2, "needs-checkout"),
]


@pytest.mark.parametrize("args,status,says", ALONE, ids=lambda a: " ".join(a) if isinstance(a, list) else None)
def test_every_command_from_the_wheel_alone(installed, tmp_path, args, status, says):
    ran = subprocess.run([str(installed / "bin" / "imgspec"), *args], capture_output=True, text=True, cwd=tmp_path,
                         timeout=600)
    said = ran.stdout + ran.stderr
    assert ran.returncode == status and says in said and "Traceback" not in said, said[-1500:]


def inputs_folder(tmp_path: Path) -> Path:
    good = (ROOT / "examples/record/2.3/image/valid/active-public.json").read_text()
    (tmp_path / "UP.JSON").write_text(good)
    (tmp_path / "empty").mkdir()
    (tmp_path / "loop.json").symlink_to(tmp_path / "loop.json")
    (tmp_path / "export-report.json").write_text(json.dumps({"kind": "imgspec.export-report", "counts": {}}))
    (tmp_path / "number.json").write_text(json.dumps({**json.loads(good), "format_version": 2.3}))
    (tmp_path / "lines.jsonl").write_text(json.dumps(json.loads(good)) + "\n" + '{"format_version": "2.3",, }\n')
    draft = json.loads((ROOT / "examples/record/2.4/image/valid").joinpath(
        sorted(os.listdir(ROOT / "examples/record/2.4/image/valid"))[0]).read_text())
    (tmp_path / "draft.json").write_text(json.dumps(draft))
    (tmp_path / "bad.json").write_text(json.dumps({**json.loads(good), "size": -1}))
    return tmp_path


# (arguments, standard input, exit status, what it says: every part must be there)
INPUTS = [
    (["validate", "-"], "record", 0, ["1 record(s) checked: all valid"]),  # one document over many lines
    (["validate", "UP.JSON"], None, 0, ["1 record(s) checked: all valid"]),  # extensions read case-blind
    (["validate", "empty"], None, 2, ["empty: (root): empty-selection: no record found"]),
    (["validate", "nope.json"], None, 2, ["nope.json: (root): unreadable: No such file or directory"]),
    (["validate", "loop.json"], None, 2, ["loop.json: (root): unreadable: Too many levels of symbolic links"]),
    (["validate", "export-report.json"], None, 1, ["/kind: not-a-record: the report imgspec export-sql writes"]),
    (["validate", "--version", "7.7", "UP.JSON"], None, 2, ["argument --version: '7.7' is not a format version"]),
    (["validate", "number.json"], None, 1, ["/format_version: format_version: format_version must be a string "
                                            "such as '2.3', not float 2.3"]),
    (["validate", "lines.jsonl"], None, 2, ["lines.jsonl:2: (root): malformed-json: Expecting property name "
                                            "enclosed in double quotes (column 26)"]),
    (["validate", "draft.json"], None, 0, ["warning: 1 record(s) at a draft format version"]),
    (["validate", "bad.json", "number.json", "UP.JSON"], None, 1, ["3 record(s) checked: 2 problem(s) in 2 input(s)"]),
    (["validate", "--output-format", "github", "bad.json"], None, 1,
     ["::error file=bad.json,title=imgspec minimum::/size: -1 is less than the minimum of 0"]),
]


@pytest.mark.parametrize("args,stdin,status,says", INPUTS, ids=lambda a: " ".join(a) if isinstance(a, list) else None)
def test_inputs_and_messages_as_a_user_meets_them(installed, tmp_path, args, stdin, status, says):
    folder = inputs_folder(tmp_path)
    data = (ROOT / "examples/record/2.3/image/valid/active-public.json").read_text() if stdin == "record" else None
    ran = subprocess.run([str(installed / "bin" / "imgspec"), *args], capture_output=True, text=True, cwd=folder,
                         input=data, timeout=120)
    said = ran.stdout + ran.stderr
    assert ran.returncode == status and "Traceback" not in said, said[-1500:]
    for part in says:
        assert part in said, said[-1500:]


def test_version_and_help_as_a_user_reads_them(installed):
    """--version names the package and what it carries; --help is plain text (no reStructuredText markup), with the
    maintainers' commands grouped apart from the users', every command in exactly one group."""
    exe = str(installed / "bin" / "imgspec")
    shown = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    from imgspec import __version__
    assert shown.returncode == 0 and shown.stdout.startswith(f"imgspec {__version__}: record format 1.0, "), shown
    assert re.search(r"; Images API document \d+\.\d+", shown.stdout), shown.stdout
    helped = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "80"})
    text = helped.stdout
    assert helped.returncode == 0 and "``" not in text and ":func:" not in text, text
    assert max(map(len, text.splitlines())) <= 80, text
    groups = re.findall(r"^(\S[^\n]*):\n((?:  \S[^\n]*\n|    [^\n]*\n)+)", text, re.M)
    listed = {title: re.findall(r"^  (\S+)  ", body, re.M) for title, body in groups}
    maintainers = next(names for title, names in listed.items() if title.startswith("Maintainers"))
    assert maintainers == ["bundle", "release", "erratum", "api-correction", "api-release"], listed
    every = [name for title, names in listed.items() if title not in ("options", "positional arguments")
             for name in names]
    refused = subprocess.run([exe, "COMMAND-THAT-IS-NOT"], capture_output=True, text=True, timeout=60).stderr
    commands = re.findall(r"'([a-z-]+)'", refused.split("choose from", 1)[1])  # argparse's own list of them
    assert sorted(every) == sorted(commands) and len(every) == len(set(every)) >= 17, (every, commands)


@pytest.mark.parametrize("page,start,end", [("README.md", "## Install with pip", "## Layout"),
                                             ("docs/implementers.md", "## Install", "## Validate from Python")])
def test_the_install_sections_name_every_extra_the_package_declares(page, start, end):
    """README's and the implementers page's install tables have one row per extra of pyproject.toml, naming each
    package it adds."""
    import tomllib
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    text = (ROOT / page).read_text()
    section = text[text.index(start):text.index(end)]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z]+)` \| ([^|]+) \|", section, re.M)}
    assert sorted(rows) == sorted(extras), rows
    for name, requirements in extras.items():
        for requirement in requirements:
            package = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
            if package == "imgspec":  # imgspec[sql]: the row names the extra it builds on
                assert "`sql`" in rows[name], (name, rows[name])
            elif package.lower() not in ("sphinx-copybutton", "sphinxcontrib-openapi", "myst-parser"):
                assert package.split("-")[0].lower() in rows[name].lower(), (name, package, rows[name])


def test_an_unknown_version_asked_of_the_library_names_the_call(installed):
    code = ("import imgspec\ntry:\n    imgspec.validator('image', '9.9')\nexcept imgspec.UnusableInput as exc:\n"
            "    print(exc)")
    ran = run(installed / "bin" / "python", "-c", code)
    assert ran.stdout.startswith("imgspec.validator('image', '9.9'): (root): unknown-version: format version '9.9'")


def test_the_json_report_has_every_problem_and_the_counts(installed, tmp_path):
    folder = inputs_folder(tmp_path)
    ran = subprocess.run([str(installed / "bin" / "imgspec"), "validate", "--output-format", "json", "bad.json",
                          "UP.JSON", "nope.json"], capture_output=True, text=True, cwd=folder, timeout=120)
    report = json.loads(ran.stdout)  # stdout is the document alone
    assert ran.returncode == report["exit"] == 2 and report["status"] == "unusable"
    assert report["counts"] == {"records": 3, "problems": 2, "failing_inputs": 2, "drafts": 0}
    assert [(p["file"], p["pointer"], p["rule"], p["exit"]) for p in report["problems"]] == [
        ("bad.json", "/size", "minimum", 1), ("nope.json", "", "unreadable", 2)]


def test_the_pre_commit_hook_in_a_scratch_repository(tmp_path):
    """`pre-commit try-repo` with this repository's hook, on one good and one bad record."""
    repo = tmp_path / "repo"
    (repo / "records").mkdir(parents=True)
    good = (ROOT / "examples/record/2.3/image/valid/active-public.json").read_text()
    (repo / "records" / "good.json").write_text(good)
    (repo / "records" / "bad.json").write_text(json.dumps({**json.loads(good), "visibility": "everyone"}))
    (repo / "package.json").write_text('{"name": "not a record"}')  # the default files pattern leaves it alone
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
    assert "package.json" not in out
