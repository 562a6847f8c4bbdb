"""Failing resources, every command (issue 30): each case is data (the command line, how its resources fail, the
exit status and the rule it must say) and must end in one line naming the resource, exit 2 (or 1 where the
input was read and is what is wrong), no traceback, no hang, and nothing changed that a failed command named.

Read-only cases run the command as an unprivileged user when the tests run as root (root writes anywhere);
a full disk is a file-size limit (RLIMIT_FSIZE: the write fails with EFBIG, as it would with ENOSPC)."""
# ruff: noqa: E501 - the cases are a table, one case a line
from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_server import closed_port, hostile
from support import ROOT, SPEC
from test_hostile_arguments import CASES as ARGUMENT_CASES
from test_sql_binding import LAYOUTS, build_db, fill

from imgspec import cli, resources
from imgspec.format import contract
from imgspec.problems import Problem, exit_status
from imgspec.sizing import corpus

NOBODY = 65534


# -- set-ups: each makes what a case needs in a private folder and returns the names its arguments use -------------

def store(tmp: Path) -> dict:
    return {"store": str(corpus.write_store(tmp / "store", 4, seed=2))}


def store_fifo_record(tmp: Path) -> dict:
    names = store(tmp)
    os.mkfifo(tmp / "store" / "records" / "zz-fifo.json")
    return names


def store_fifo_manifest(tmp: Path) -> dict:
    names = store(tmp)
    (tmp / "store" / "manifest.json").unlink()
    os.mkfifo(tmp / "store" / "manifest.json")
    return names


def store_report_folder(tmp: Path) -> dict:
    names = store(tmp)
    (tmp / "store" / "upgrade-report.jsonl").mkdir()
    return names


def store_lock_folder(tmp: Path) -> dict:
    names = store(tmp)
    (tmp / "store" / ".imgspec-lock").mkdir()
    return names


def store_read_only(tmp: Path) -> dict:
    names = store(tmp)
    for p in [tmp / "store", *(tmp / "store").rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    return names


def store_unlistable(tmp: Path) -> dict:
    names = store(tmp)
    (tmp / "store").chmod(0o777)  # the lock files can be made: only the records cannot be listed
    (tmp / "store" / "manifest.json").chmod(0o666)
    (tmp / "store" / "records").chmod(0o311)  # enter, never list
    return names


def record_files(tmp: Path) -> dict:
    (tmp / "fifo.json").parent.mkdir(exist_ok=True)
    os.mkfifo(tmp / "fifo.json")
    (tmp / "loop.json").symlink_to(tmp / "loop.json")
    (tmp / "folder.json").mkdir()
    shutil.copy(ROOT / "examples/record/2.3/image/valid/active-public.json", tmp / "record.json")
    with open(tmp / "huge.json", "wb") as f:  # sparse: its size is told without a byte written or read
        f.truncate(67108865)
    (tmp / "binary.json").write_bytes(b'{"a": "\x00"}')
    (tmp / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    ro = tmp / "ro"
    ro.mkdir()
    shutil.copy(ROOT / "examples/record/1.0/image/valid/" / sorted(os.listdir(ROOT / "examples/record/1.0/image/valid"))[0],
                ro / "old.json")
    ro.chmod(0o555)
    (ro / "old.json").chmod(0o444)
    return {"dir": str(tmp)}


def tree(tmp: Path) -> dict:
    """A copy of the spec tree (schemas, examples) to break."""
    out = tmp / "t"
    shutil.copytree(ROOT / "schemas", out / "schemas")
    shutil.copytree(ROOT / "examples", out / "examples")
    return {"tree": str(out)}


def tree_broken_ref(tmp: Path) -> dict:
    names = tree(tmp)
    image = Path(names["tree"]) / "schemas/record/2.3/image.json"
    image.write_text(image.read_text().replace('"location.json"', '"nope.json"', 1))
    return names


def tree_missing_schema(tmp: Path) -> dict:
    names = tree(tmp)
    (Path(names["tree"]) / "schemas/record/2.3/location.json").unlink()
    return names


def tree_symlink_loop(tmp: Path) -> dict:
    names = tree(tmp)
    (Path(names["tree"]) / "schemas/record/2.3/loop.json").symlink_to("loop.json")
    return names


def tree_read_only_bundles(tmp: Path) -> dict:
    names = tree(tmp)
    bundled = Path(names["tree"]) / "schemas/bundled"
    for p in [bundled, *bundled.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    return names


def fan_out(tmp: Path) -> dict:
    """An OpenAPI document whose 41 schemas each name the one before twice: 2^40 ways through."""
    schemas = {"d0": {"type": "string"}}
    for i in range(1, 41):
        schemas[f"d{i}"] = {"anyOf": [{"$ref": f"#/components/schemas/d{i - 1}"}] * 2}
    doc = {"openapi": "3.1.0", "info": {"title": "fan", "version": "1"}, "paths": {}, "components": {"schemas": schemas}}
    (tmp / "fan.json").write_text(json.dumps(doc))
    return {"fan": str(tmp / "fan.json")}


def glance_db(tmp: Path, sql: str = "") -> dict:
    layout = LAYOUTS[-1]
    db = build_db(tmp / "glance.sqlite", layout)
    fill(db, layout)
    if sql:
        db.execute(sql)
    db.commit()
    db.close()
    ro = tmp / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    return {"db": f"sqlite:///{tmp / 'glance.sqlite'}", "out": str(tmp / "out"), "ro": str(ro),
            "file": str(tmp / "glance.sqlite")}


def db_blob(tmp: Path) -> dict:
    return glance_db(tmp, "UPDATE image_properties SET value = X'fffe00' WHERE id = 1")


def db_not_a_date(tmp: Path) -> dict:
    return glance_db(tmp, "UPDATE images SET created_at = 'yesterday'")


def not_a_database(tmp: Path) -> dict:
    (tmp / "text.sqlite").write_text("not a database, only text " * 100)
    return {"db": f"sqlite:///{tmp / 'text.sqlite'}", "out": str(tmp / "out")}


def no_setup(tmp: Path) -> dict:
    return {"closed": str(closed_port())}


SETUPS = {f.__name__: f for f in (store, store_fifo_record, store_fifo_manifest, store_report_folder,
                                   store_lock_folder, store_read_only, store_unlistable, record_files, tree,
                                   tree_broken_ref, tree_missing_schema, tree_symlink_loop, tree_read_only_bundles,
                                   fan_out, glance_db, db_blob, db_not_a_date, not_a_database, no_setup)}

# (set-up, arguments, how it runs, exit status, a part of what it says, what must be left unchanged)
# how: "" as it is; "nobody": as an unprivileged user; "full": with a file-size limit of 256 bytes;
# "server:MODE": with a hostile server on loopback, its port as {port}
CASES = [
    # validate and read: files that are not files
    ("record_files", ["validate", "{dir}/fifo.json"], "", 2, "fifo.json: (root): unreadable: not a regular file (a FIFO)", ""),
    ("record_files", ["validate", "{dir}/loop.json"], "", 2, "loop.json: (root): unreadable: Too many levels of symbolic links", ""),
    ("record_files", ["read", "{dir}/fifo.json"], "", 2, "unreadable: not a regular file (a FIFO)", ""),
    ("record_files", ["read", "{dir}/folder.json"], "", 2, "folder.json: (root): unreadable: not a regular file (a folder)", ""),
    ("record_files", ["upgrade", "{dir}/fifo.json"], "", 2, "unreadable: not a regular file (a FIFO)", ""),
    ("record_files", ["upgrade", "--in-place", "--to", "2.3", "{dir}/ro/old.json"], "nobody", 2,
     "ro/old.json: (root): unwritable: Permission denied", "{dir}/ro"),
    ("record_files", ["upgrade", "--in-place", "--to", "2.3", "{dir}/record.json"], "full", 2,
     "record.json: (root): unwritable: File too large", "{dir}"),
    ("no_setup", ["validate", "/dev/zero"], "", 2, "/dev/zero: (root): unreadable: not a regular file (a character device)", ""),
    ("record_files", ["validate", "{dir}/huge.json"], "", 2, "huge.json: (root): max-size: file is 67108865 bytes; the limit is 67108864", ""),
    ("record_files", ["validate", "{dir}/binary.json"], "", 2, "binary.json: (root): not-json: binary data (NUL byte)", ""),
    ("record_files", ["read", "{dir}/deep.json"], "", 2, "deep.json: (root): max-depth: nesting deeper than 1024 levels", ""),
    ("record_files", ["validate", "--jobs", "-1", "{dir}/record.json"], "", 2, "argument -j/--jobs: -1 is not a number of processes", ""),
    ("record_files", ["upgrade", "--setting", "novalue", "{dir}/record.json"], "", 2, "--setting: (root): usage: 'novalue' is not NAME=VALUE", ""),
    # upgrade-store: a store that cannot be read or written
    ("store_unlistable", ["upgrade-store", "--no-fsync", "{store}"], "nobody", 2, "records: (root): unreadable: Permission denied", "{store}"),
    ("store_fifo_record", ["upgrade-store", "{store}"], "", 2, "zz-fifo.json: (root): unreadable: not a regular file (a FIFO)", ""),
    ("store_fifo_manifest", ["upgrade-store", "{store}"], "", 2, "manifest.json: (root): unreadable: not a regular file (a FIFO)", "{store}"),
    ("store_fifo_manifest", ["upgrade-store", "--first-use", "--to", "2.0", "{store}"], "", 2, "manifest.json: (root): unreadable", "{store}"),
    ("store_report_folder", ["upgrade-store", "{store}"], "", 2, "upgrade-report.jsonl: (root): unwritable", ""),
    ("store_lock_folder", ["upgrade-store", "{store}"], "", 2, ".imgspec-lock: (root): unwritable: cannot open the store's lock file", ""),
    ("store_read_only", ["upgrade-store", "{store}"], "nobody", 2, "(root): unwritable: cannot open the store's lock file: Permission denied", "{store}"),
    ("store_read_only", ["upgrade-store", "--first-use", "--to", "2.0", "{store}"], "nobody", 2, "(root): unwritable: cannot open the store's lock file: Permission denied", "{store}"),
    ("store", ["upgrade-store", "--no-fsync", "{store}"], "full", 2, "unwritable: File too large", ""),
    ("store", ["upgrade-store", "{store}/nope"], "", 2, "nope/manifest.json: (root): unreadable: No such file or directory", ""),
    ("store", ["validate", "{store}/nope"], "", 2, "unreadable", ""),
    ("store", ["validate", "{store}/records/"], "", 0, "4 record(s) checked: all valid", ""),
    ("record_files", ["validate", "{dir}/folder.json"], "", 2, "empty-selection: no record found to check", ""),
    # placement: the same store failures
    ("store_fifo_manifest", ["placement", "{store}"], "", 2, "manifest.json: (root): unreadable: not a regular file (a FIFO)", ""),
    ("record_files", ["placement", "{dir}/fifo.json"], "", 2, "fifo.json: (root): unreadable: not a regular file (a FIFO)", ""),
    ("store", ["placement", "{store}/nope.json"], "", 2, "nope.json: (root): unreadable", ""),
    # bundle and check: a spec tree with broken parts, read-only bundles
    ("tree_broken_ref", ["bundle", "--root", "{tree}"], "", 2, "unresolvable-ref: 'nope.json' does not resolve", "{tree}/schemas/bundled"),
    ("tree_missing_schema", ["bundle", "--root", "{tree}"], "", 2, "unresolvable-ref", "{tree}/schemas/bundled"),
    ("tree_symlink_loop", ["bundle", "--root", "{tree}"], "", 2, "loop.json: (root): unreadable: Too many levels of symbolic links", "{tree}/schemas/bundled"),
    ("tree_read_only_bundles", ["bundle", "--root", "{tree}"], "nobody", 2, "unwritable: Permission denied", "{tree}/schemas/bundled"),
    ("tree", ["check", "--root", "t"], "", 0, "all as declared", ""),  # a relative --root, from the folder that holds it
    ("tree", ["bundle", "--root", "t"], "", 0, "self-contained schemas under schemas/bundled", "{tree}/schemas/bundled"),
    ("tree", ["vectors", "--root", "t"], "", 0, "vectors: all agree", ""),
    ("tree_symlink_loop", ["check", "--root", "{tree}"], "", 2, "loop.json: (root): unreadable: Too many levels of symbolic links", ""),
    ("tree_broken_ref", ["prove", "--root", "{tree}", "2.2-2.3"], "", 1, "unresolvable-ref", ""),  # the tree breaks a rule
    ("tree_broken_ref", ["vectors", "--root", "{tree}"], "", 1, "unresolvable-ref", ""),
    # diff: documents whose references never end
    ("fan_out", ["diff", "--api", "{fan}", "{fan}"], "", 2, "fan.json: (root): max-size: inlining its references makes more than", ""),
    ("fan_out", ["diff", "{fan}", "2.3"], "", 2, "not-a-version", ""),
    # conformance: servers that fail in every way
    ("no_setup", ["conformance", "--endpoint", "http://127.0.0.1:{closed}"], "", 2, "unreachable: Connection refused", ""),
    ("no_setup", ["conformance", "--endpoint", "http://[::1"], "", 2, "usage: Invalid IPv6 URL", ""),
    ("no_setup", ["conformance", "--endpoint", "http://127.0.0.1:{closed}", "--header", "X-A: b\r\nX-B: c"], "", 2,
     "argument --header: 'X-A: b\\r\\nX-B: c' holds a line break", ""),
    ("no_setup", ["conformance", "--endpoint", "http://127.0.0.1:{closed}", "--timeout", "0"], "", 2,
     "argument --timeout: 0 is not a time bound", ""),
    ("no_setup", ["conformance", "--endpoint", "http://127.0.0.1:{port}"], "server:garbage", 2, "bad-response: not an HTTP response: BadStatusLine", ""),
    ("no_setup", ["conformance", "--endpoint", "http://127.0.0.1:{port}"], "server:html", 2, "bad-response: not an Images API: answered 200 text/html", ""),
    ("no_setup", ["conformance", "--endpoint", "http://127.0.0.1:{port}"], "server:array", 2, "bad-response: not an Images API", ""),
    ("no_setup", ["conformance", "--endpoint", "http://127.0.0.1:{port}"], "server:deep", 2, "max-depth: nesting deeper than 1024 levels", ""),
    ("no_setup", ["conformance", "--endpoint", "http://127.0.0.1:{port}"], "server:headers", 2, "bad-response: not an HTTP response: HTTPException: got more than 100 headers", ""),
    ("no_setup", ["conformance", "--endpoint", "http://127.0.0.1:{port}"], "server:huge", 2, "bad-response: a body of 5000000000 bytes is larger than 67108864", ""),
    ("no_setup", ["conformance", "--timeout", "1.5", "--endpoint", "http://127.0.0.1:{port}"], "server:trickle", 2, "timeout: the response took longer than 1.5 s", ""),
    ("no_setup", ["conformance", "--timeout", "1", "--endpoint", "http://127.0.0.1:{port}"], "server:silent", 2, "timeout: no answer within the time bound", ""),
    ("no_setup", ["conformance", "--endpoint", "http://127.0.0.1:{port}"], "server:close", 2, "unreachable: the server closed the connection", ""),
    ("no_setup", ["conformance", "--endpoint", "https://127.0.0.1:{port}"], "server:plain", 2, "unreachable: TLS failed", ""),
    # export-sql: databases that cannot be reached or read, rows that are no record, OUT_DIR that cannot be written
    ("no_setup", ["export-sql", "mysql+pymysql://u:p@127.0.0.1:{closed}/glance", "{closed}-out"], "", 2,
     "unusable-database: (2003, \"Can't connect to MySQL server", ""),
    ("no_setup", ["export-sql", "postgresql+psycopg://u:p@127.0.0.1:{closed}/glance", "{closed}-out"], "", 2,
     "unusable-database: connection failed", ""),
    ("no_setup", ["export-sql", "--connect-timeout", "1", "mysql+pymysql://u:p@127.0.0.1:{port}/glance", "out"],
     "server:mute", 2, "timeout: (2013, 'Lost connection to MySQL server during query (timed out)')", ""),
    ("no_setup", ["export-sql", "--connect-timeout", "1", "postgresql+psycopg://u:p@127.0.0.1:{port}/glance", "out"],
     "server:mute", 2, "timeout: connection timeout expired", ""),
    ("no_setup", ["export-sql", "postgresql+psycopg://u:p@127.0.0.1:{port}/glance", "out"], "server:close", 2,
     "unusable-database: connection failed", ""),
    ("no_setup", ["export-sql", "--connect-timeout", "0", "sqlite:///x", "out"], "", 2, "argument --connect-timeout", ""),
    ("no_setup", ["export-sql", "not a url", "out"], "", 2, "not a url: (root): unusable-database: not a database URL", ""),
    ("glance_db", ["export-sql", "{db}", "{file}"], "", 2, "out-not-empty: OUT_DIR exists and is not an empty folder", ""),
    ("store", ["upgrade-store", "--to", "9.9", "{store}"], "", 2, "argument --to: '9.9' is not a format version", "{store}"),
    ("not_a_database", ["export-sql", "{db}", "{out}"], "", 2, "unusable-database: file is not a database", ""),
    ("glance_db", ["export-sql", "sqlite:///{out}.sqlite", "{out}"], "", 2, "unusable-database: no SQLite database file", ""),
    ("glance_db", ["export-sql", "{db}", "{ro}/out"], "nobody", 2, "ro/out: (root): unwritable: Permission denied", "{ro}"),
    ("glance_db", ["export-sql", "{db}", "{out}"], "full", 2, "out: (root): unwritable: File too large", ""),
    ("db_blob", ["export-sql", "--strict", "{db}", "{out}"], "", 1,
     "/properties/os_distro: type: image_properties.value holds bytes that are not UTF-8 text", ""),
    ("db_not_a_date", ["export-sql", "--strict", "{db}", "{out}"], "", 1,
     "/created_at: format: images.created_at holds 'yesterday', not a date and time", ""),
    # the commands that record releases refuse before writing (their argument cases are in test_hostile_arguments)
    ("no_setup", ["release", "9.9"], "", 2, "unknown-version", ""),
    ("no_setup", ["api-release", "--note", " "], "", 2, "argument --note", ""),
    ("no_setup", ["sizing", "--engine", "oracle"], "", 2, "argument --engine: invalid choice", ""),
]


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (256, 256))


def unprivileged() -> list[str]:
    """The prefix that runs a command as an unprivileged user (util-linux setpriv), when the tests run as root."""
    if os.geteuid() != 0:
        return []
    assert shutil.which("setpriv"), "running as root, the read-only cases need setpriv (util-linux) to drop privileges"
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def snapshot(folder: Path) -> dict:
    if not folder.exists():
        return {}
    if folder.is_file():
        return {folder.name: folder.read_bytes()}
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.name in (".imgspec-lock", ".imgspec-upgrade-lock"):  # a store's lock files: its layout, not its data
            continue
        if p.is_symlink() or not (p.is_file() or p.is_dir()):
            out[str(p)] = "special"
        elif p.is_file():
            out[str(p)] = p.read_bytes()
        else:
            out[str(p)] = "folder"
    return out


@pytest.mark.parametrize("case", CASES, ids=[f"{n:02d}-{c[1][0]}-{c[0]}-{c[2] or 'plain'}" for n, c in enumerate(CASES)])
def test_a_failing_resource_is_one_line_and_changes_nothing(tmp_path, case):
    setup, args, how, status, says, unchanged = case
    if how == "nobody":  # the unprivileged user reaches its private folder
        tmp_path.chmod(0o755)
        for parent in tmp_path.parents:
            if parent == Path("/tmp"):
                break
            parent.chmod(parent.stat().st_mode | 0o005)
    names = SETUPS[setup](tmp_path)
    preexec = _limit_file_size if how == "full" else None
    prefix = unprivileged() if how == "nobody" else []
    server = hostile(how.split(":", 1)[1]) if how.startswith("server:") else None
    with server or _nothing() as port:
        names["port"] = str(port)
        argv = [a.format(**names) for a in args]
        kept = Path(unchanged.format(**names)) if unchanged else None
        before = snapshot(kept) if kept else None
        started = time.monotonic()
        ran = subprocess.run([*prefix, sys.executable, "-m", "imgspec", *argv], capture_output=True, cwd=tmp_path,
                             preexec_fn=preexec, timeout=120, stdin=subprocess.DEVNULL)
        took = time.monotonic() - started
    said = ran.stdout.decode(errors="replace") + ran.stderr.decode(errors="replace")
    assert "Traceback" not in said, said[-2000:]
    assert ran.returncode == status, (ran.returncode, said[-1500:])
    assert says in said, said[-1500:]
    assert took < 60, f"took {took:.0f} s"
    if kept is not None:
        assert snapshot(kept) == before, "a failed command changed what it named"
    if args[0] == "export-sql" and status == 2:
        out = tmp_path / "out"
        assert not out.exists() or not any(out.iterdir()), "a refused export left a store behind"


@__import__("contextlib").contextmanager
def _nothing():
    yield 0


def test_every_command_has_its_failing_cases():
    """A new command cannot ship without cases here or among the arguments' (tests/test_hostile_arguments.py)."""
    commands = set(cli.parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    covered = {c[1][0] for c in CASES} | {c[0][0] for c in ARGUMENT_CASES}
    assert commands - covered == set(), sorted(commands - covered)
    assert len(CASES) + len(ARGUMENT_CASES) >= 90


def test_the_resources_table_is_the_code_s():
    """Every rule of the contract's resources table is raised by the code with its exit status, and each bound it
    names is a constant of imgspec.resources (the page shows the value from there)."""
    import ast
    raised = set()
    for path in (ROOT / "imgspec").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                raised.add(node.value)
    rows = contract.load(SPEC)["resources"]["rows"]
    for row in rows:
        assert row["rule"] in raised, row["rule"]
        assert exit_status([Problem("x", "", row["rule"], "")]) == row["exit"] == 2, row["rule"]
        assert row["bound"] is None or isinstance(getattr(resources, row["bound"]), int | float), row["bound"]
    import http.client
    assert resources.HTTP_MAX_HEADERS == http.client._MAXHEADERS  # the bound http.client enforces
    resource_rules = {"unreadable", "unwritable", "timeout", "unreachable", "bad-response", "command-not-found",
                      "usage"}
    tree = ast.parse((ROOT / "imgspec" / "resources.py").read_text())
    in_module = {n.args[2].value for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and getattr(n.func, "id", None) == "Problem" and isinstance(n.args[2], ast.Constant)}
    assert in_module <= resource_rules and in_module - {"usage"} <= {r["rule"] for r in rows}


def test_an_atomic_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    from imgspec import atomic
    from imgspec.problems import ProblemError
    target = tmp_path / "f.json"
    target.write_text("old")
    code = ("import resource, signal, sys; from pathlib import Path; from imgspec import atomic\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN); resource.setrlimit(resource.RLIMIT_FSIZE, (10, 10))\n"
            f"atomic.write_text(Path({str(target)!r}), 'x' * 100)")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert ran.returncode == 1 and "unwritable: File too large" in ran.stderr
    assert target.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["f.json"]
    (tmp_path / "d.json").mkdir()
    (tmp_path / "e.json").mkdir()
    (tmp_path / "e.json" / "inside").write_text("kept")
    for folder in ("d.json", "e.json"):  # an empty folder and one with a file in it: neither is replaced
        with pytest.raises(ProblemError) as info:
            atomic.write_text(tmp_path / folder, "x")
        assert [(p.file, p.rule, p.message) for p in info.value.problems] == [
            (str(tmp_path / folder), "unwritable", "is a folder, not a file")]
    assert sorted(os.listdir(tmp_path)) == ["d.json", "e.json", "f.json"] and (tmp_path / "d.json").is_dir()
    assert (tmp_path / "e.json" / "inside").read_text() == "kept"


def test_a_command_under_test_that_prints_without_end_is_killed_and_disagrees():
    from imgspec.upgrade import vectors
    started = time.monotonic()
    got = vectors.run_command("yes", b"{}", "2.3", max_output=1_000_000)
    assert (got.status, got.reading) == (-1, None) and "printed more than 1000000 bytes" in got.stderr
    assert time.monotonic() - started < 10


def test_a_database_that_refuses_the_credentials_is_one_line(tmp_path):
    """SQLite has no credentials: a file that cannot be opened read-only stands for it here; the engines' own
    refusals are in tests/test_db_engines.py."""
    db = tmp_path / "g.sqlite"
    sqlite3.connect(db).close()
    db.chmod(0)
    tmp_path.chmod(0o755)
    for parent in tmp_path.parents:
        if parent == Path("/tmp"):
            break
        parent.chmod(parent.stat().st_mode | 0o005)
    ran = subprocess.run([*unprivileged(), sys.executable, "-m", "imgspec", "export-sql", f"sqlite:///{db}",
                          str(tmp_path / "o")], capture_output=True, text=True)
    assert ran.returncode == 2 and "unusable-database" in ran.stderr and "Traceback" not in ran.stderr, ran.stderr


def test_an_engine_driver_that_is_missing_names_its_extra(tmp_path):
    """SQLAlchemy installed, psycopg not: the extra to install, in one line (the driver hidden from this run)."""
    code = ("import sys; sys.modules['psycopg'] = None; sys.modules['psycopg2'] = None\n"
            "from imgspec.cli import main\n"
            f"sys.exit(main(['export-sql', 'postgresql+psycopg://u:p@127.0.0.1:1/glance', {str(tmp_path / 'o')!r}]))")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert ran.returncode == 2 and "Traceback" not in ran.stderr, ran.stderr[-800:]
    assert "missing-dependency" in ran.stderr and "pip install 'imgspec[postgresql]'" in ran.stderr, ran.stderr
