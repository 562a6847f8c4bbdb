"""imgspec validate and the implementers' API: clear lines for every bad input, exit 0/1/2."""
import json
import re
import subprocess
import sys
import zipfile

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from support import ROOT, SPEC

import imgspec
from imgspec import jsonfile
from imgspec.format import examples, validation
from imgspec.format.generate import Generator
from imgspec.problems import ProblemError

ALL = examples.record_examples(SPEC)


def run(*args, stdin=None, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "imgspec", *args], input=stdin, capture_output=True,
                          text=True, cwd=cwd)


def good(version="2.3", name="active-public"):
    return json.loads((ROOT / f"examples/record/{version}/image/valid/{name}.json").read_text())


# -- the Python API -----------------------------------------------------------

def test_validate_finds_the_version_in_the_record():
    for v in SPEC.versions:
        imgspec.validate(good(v))
    with pytest.raises(ProblemError) as info:
        imgspec.validate(dict(good("2.1"), os_hidden=False))
    assert [(p.pointer, p.rule) for p in info.value.problems] == [("", "additionalProperties")]


def test_validator_is_a_jsonschema_validator_with_formats_checked():
    v = imgspec.validator("image", "2.2")
    assert v.is_valid(good("2.2"))
    assert not v.is_valid(dict(good("2.2"), created_at="yesterday"))


def test_unknown_version_and_non_records_are_clear():
    assert [str(p) for p in imgspec.check({"format_version": "2.9"}, "r.json")] == [
        "r.json: /format_version: unknown-version: format version '2.9' is not one of 1.0, 2.0, 2.1, 2.2, 2.3, 2.4 "
        "(newer than this reader supports)"]
    assert [p.rule for p in imgspec.check([1, 2], "r.json")] == ["format_version"]


def parses(example):
    try:
        jsonfile.load(example.path)
        return True
    except ProblemError:  # the duplicate-key examples: no validator ever sees them
        return False


PARSED = [e for e in ALL if parses(e)]
SEMANTIC_RULES = {"within-site-both", "within-site-neither", "across-sites-both", "across-sites-neither",
                  "single-site", "duplicate-store", "too-many-copies"}


@pytest.mark.parametrize("example", PARSED, ids=lambda e: SPEC.rel(e.path))
def test_fast_and_reference_validators_agree_on_every_example(example):
    assert len(PARSED) >= 190
    doc = jsonfile.load(example.path)
    fast = validation.fast_validator(SPEC, example.kind, example.version)
    reference = validation.validator(example.kind, example.version, SPEC)
    assert sure_agrees(fast.is_valid(doc), reference.is_valid(doc), doc)
    if example.valid:
        assert fast.is_valid(doc)
    else:  # invalid by the schema, or (placement rules) by meaning only
        assert fast.is_valid(doc) == (examples.expectation(SPEC, example)["rule"] in SEMANTIC_RULES)


@pytest.mark.parametrize("version", SPEC.versions)
@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_fast_and_reference_validators_agree_on_generated_and_mutated_records(version, data):
    doc = data.draw(Generator(SPEC, version).record())
    key = data.draw(st.sampled_from(sorted(doc)))
    doc[key] = data.draw(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=300), st.just([]),
                                   st.just({}), st.just(doc[key])))
    fast = validation.fast_validator(SPEC, "image", version)
    reference = validation.validator("image", version, SPEC).is_valid(doc)
    assert sure_agrees(fast.is_valid(doc), reference, doc)
    assert validation.is_valid(SPEC, doc, "image", version) == reference


def sure_agrees(fast: bool, reference: bool, doc) -> bool:
    """The fast verdict is "certainly valid" or "ask the reference": never valid where the reference says invalid,
    and valid wherever the reference is, but for a timestamp on a Feb 29 or at a leap second (the fast path's
    date-time pattern leaves those to the reference, imgspec.format.formats.SURELY_DATE_TIME)."""
    rare = re.search(r'"[0-9]{4}-02-29[Tt]|"[0-9-]{10}[Tt][0-9]{2}:[0-9]{2}:60', json.dumps(doc)) is not None
    return (not fast or reference) and (fast == reference or rare)


# -- the strict reader's fast path means the same as the strict parser -------------

JSON = st.recursive(st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
                    | st.floats(allow_nan=False, allow_infinity=False) | st.text(alphabet=st.sampled_from('a:"\\é\u2028 ')),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=3), kids, max_size=3),
                    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(doc=JSON, ascii=st.booleans(), dup=st.booleans(), compact=st.booleans(), end=st.sampled_from(["", "\n", "\r\n"]))
def test_fast_parse_agrees_with_the_strict_parser(doc, ascii, dup, compact, end):
    """Compact text (orjson's own writing, read by the fast path's first test) and spaced text, with and without
    duplicate keys, big integers and escapes, and with each line ending a JSON Lines record may have."""
    comma, colon = (",", ":") if compact else (", ", ": ")
    text = json.dumps(doc, ensure_ascii=ascii, separators=(comma, colon))
    if dup and text.startswith("{") and len(text) > 2:
        text = f'{{"\\u003a"{colon}1{comma}":"{colon}2{comma}' + text[1:]  # a duplicate hidden behind an escaped colon
    if dup and compact and isinstance(doc, dict) and doc:
        key = json.dumps(next(iter(doc)))
        text = f"{{{key}:0,{text[1:]}"  # a plain duplicate in compact text
    text += end
    def outcome(**kw):
        try:
            return "ok", json.dumps(jsonfile.loads(text.encode(), **kw), sort_keys=True)
        except ProblemError as exc:
            return "err", [(p.pointer, p.rule) for p in exc.problems]
    assert outcome() == outcome(max_depth=10**6)  # max_depth forces the strict parser


def test_escaped_colon_duplicate_is_found():
    with pytest.raises(ProblemError, match="duplicate-key"):
        jsonfile.loads(b'{"a": "\\u003a", "a": 1}')


def test_big_integers_keep_their_value():
    assert jsonfile.loads(b'{"size": 123456789012345678901234567890}')["size"] == 123456789012345678901234567890


# -- the command line ------------------------------------------------------------

def test_valid_files_exit_0(tmp_path):
    result = run("validate", *[str(e.path) for e in ALL if e.valid and e.kind == "image"])
    assert (result.returncode, result.stdout) == (0, "")
    assert "all valid" in result.stderr


def test_a_mixed_version_directory_with_problems(tmp_path):
    for v in SPEC.versions:
        (tmp_path / f"{v}.json").write_text(json.dumps(good(v)))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad.json").write_text(json.dumps(dict(good("2.0"), visibility="community")))
    result = run("validate", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{tmp_path}/sub/bad.json: /visibility: enum: 'community' is not one of ['public', 'private']"]


def test_json_lines_report_the_line(tmp_path):
    lines = [json.dumps(good("1.0")), "", json.dumps(dict(good("2.2"), name="x" * 300)), "{oops", '{"a": NaN}']
    (tmp_path / "s.jsonl").write_text("\n".join(lines) + "\n")
    result = run("validate", str(tmp_path / "s.jsonl"))
    assert result.returncode == 2
    assert result.stdout.splitlines() == [
        f"{tmp_path}/s.jsonl:3: /name: maxLength: longer than 255 characters (300)",
        f"{tmp_path}/s.jsonl:4: (root): malformed-json: Expecting property name enclosed in double quotes (column 2)",
        f"{tmp_path}/s.jsonl:5: (root): non-finite-number: NaN is not a JSON number"]


LINE = st.binary(max_size=24).map(lambda b: b.replace(b"\n", b"."))


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(LINE, max_size=12), crlf=st.booleans(), final=st.booleans(), block=st.integers(1, 40))
def test_blocks_of_lines_are_every_line_once_in_order(lines, crlf, final, block):
    """The reading process hands the workers blocks of whole lines: every line once, in order, numbered as the
    stream numbers them, and a line over the size limit cut at one byte past it in its place (a limit of 16
    bytes here), whatever the block size and the line endings."""
    import io
    from unittest import mock

    from imgspec.format import inputs
    end = b"\r\n" if crlf else b"\n"
    text = end.join(lines) + (end if final and lines else b"")
    expected = text.split(b"\n")
    if expected[-1] == b"":
        expected.pop()
    with mock.patch.object(jsonfile, "MAX_BYTES", 16):
        want = [(n, "long" if len(line) > 16 else line) for n, line in enumerate(expected, 1)]
        got, before = [], 0
        payloads = list(inputs.line_blocks(io.BytesIO(text), block))
        for i, payload in enumerate(payloads):
            if isinstance(payload, bytes):
                numbered, covered = inputs.block_lines(payload)
                assert payload.endswith(b"\n") or i == len(payloads) - 1  # whole lines: only the last may end early
            else:
                numbered, covered = payload, 1
                assert [len(piece) for _, piece in payload] == [17]  # cut at one byte past the limit
            got += [(before + n, "long" if len(line) > 16 else line) for n, line in numbered]
            before += covered
    assert got == want


def test_json_lines_over_many_blocks_are_numbered_through(tmp_path):
    """Problems in every block of a long stream carry the line number the file has, on one core and on two."""
    record = json.dumps(good("2.3"), separators=(",", ":"))
    bad = json.dumps(dict(good("2.3"), visibility="nobody"), separators=(",", ":"))
    lines = [record] * 4000
    for n in (1, 1999, 4000):
        lines[n - 1] = bad
    lines[2500 - 1] = ""  # a blank line is counted, never checked
    lines[3000 - 1] = '{"format_version": "2.3", "x": 1, "x": 2}'
    lines[3500 - 1] = json.dumps(good(SPEC.latest))  # a draft, counted once
    assert SPEC.latest not in SPEC.released
    (tmp_path / "s.jsonl").write_text("\r\n".join(lines) + "\r\n")
    assert (tmp_path / "s.jsonl").stat().st_size > 2 * (1 << 20)  # three blocks at least
    outputs = [run("validate", "-j", jobs, str(tmp_path / "s.jsonl")) for jobs in ("1", "2")]
    for result in outputs:
        assert result.returncode == 2, result.stderr
        assert [line.split(": ")[0] for line in result.stdout.splitlines()] == [
            f"{tmp_path}/s.jsonl:{n}" for n in (1, 1999, 3000, 4000)]
        assert "3999 record(s) checked" in result.stderr
        assert "warning: 1 record(s) at a draft format version" in result.stderr
    assert outputs[0].stdout == outputs[1].stdout


def test_a_format_version_that_is_no_string_is_one_line_per_record(tmp_path):
    """A list or an object where format_version should be was a traceback (unhashable) in the batch loop."""
    lines = [json.dumps({"format_version": ["2.3"]}), json.dumps({"format_version": {"a": 1}}),
             json.dumps(dict(good("2.3"), kind=["x"]))]
    (tmp_path / "s.jsonl").write_text("\n".join(lines) + "\n")
    result = run("validate", str(tmp_path / "s.jsonl"))
    assert "Traceback" not in result.stderr and result.returncode == 1
    found = [line.split(": ")[1:3] for line in result.stdout.splitlines()]
    assert found == [["/format_version", "format_version"], ["/format_version", "format_version"],
                     ["(root)", "additionalProperties"]], found


def test_stdin_is_a_json_lines_stream():
    result = run("validate", "-", stdin=json.dumps(good()) + "\n" + '{"format_version": "2.3", "x": 1, "x": 2}\n')
    assert result.returncode == 2
    assert result.stdout == "<stdin>:2: /x: duplicate-key: key 'x' appears more than once in one object\n"


@pytest.mark.parametrize("content,rule", [
    (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4, "not-json"),
    (b'{"name": "\xff\xfe"}', "not-utf8"),
    (b"[" * 50000 + b"]" * 50000, "max-depth"),
    (b'{"format_version": "2.3", "size": Infinity}', "non-finite-number"),
    (b'{"format_version": "2.3",}', "malformed-json"),
    (b"", "malformed-json"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, content, rule):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    result = run("validate", str(path))
    assert result.returncode == 2
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"{path}") and f": {rule}: " in line
    assert "Traceback" not in result.stderr


def test_huge_file_is_refused_without_reading_it(tmp_path, monkeypatch):
    path = tmp_path / "huge.json"
    with open(path, "wb") as f:
        f.truncate(jsonfile.MAX_BYTES + 1)
    result = run("validate", str(path))
    assert result.returncode == 2
    assert f"{path}: (root): max-size: file is {jsonfile.MAX_BYTES + 1} bytes" in result.stdout


def test_missing_path_is_exit_2(tmp_path):
    result = run("validate", str(tmp_path / "nope.json"))
    assert (result.returncode, result.stdout.strip()) == (
        2, f"{tmp_path}/nope.json: (root): unreadable: No such file or directory")


def test_many_files_in_parallel_give_the_same_lines_in_order(tmp_path):
    bad_names = []
    for i in range(600):
        doc = dict(good(), id=f"00000000-0000-4000-8000-{i:012d}")
        if i % 97 == 0:
            doc["size"] = -1
            bad_names.append(f"{tmp_path}/r{i:04d}.json")
        (tmp_path / f"r{i:04d}.json").write_text(json.dumps(doc))
    one = run("validate", "-j", "1", str(tmp_path))
    many = run("validate", "-j", "2", str(tmp_path))
    assert one.returncode == many.returncode == 1
    assert one.stdout == many.stdout
    assert [x.split(":")[0] for x in many.stdout.splitlines()] == bad_names
    assert "600 record(s) checked" in many.stderr


def test_a_remote_ref_is_never_fetched(spec_copy):
    path = spec_copy.schemas / "record" / "2.3" / "tag.json"
    schema = json.loads(path.read_text())
    schema["$ref"] = "https://imgspec.example/schemas/elsewhere/tag.json"
    path.write_text(json.dumps(schema))
    result = run("check", "--root", str(spec_copy.root))
    assert result.returncode == 1
    assert ("schemas/record/2.3/tag.json: /$ref: unresolvable-ref: "
            "'https://imgspec.example/schemas/elsewhere/tag.json' does not resolve to a local schema") in result.stdout


def test_pre_commit_hook_runs_the_validator(tmp_path):
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "imgspec-validate" and hook["language"] == "python"
    program, *args = hook["entry"].split()
    assert program == "imgspec"
    (tmp_path / "ok.json").write_text(json.dumps(good()))
    (tmp_path / "bad.json").write_text(json.dumps(dict(good(), status="gone")))
    assert run(*args, str(tmp_path / "ok.json")).returncode == 0
    result = run(*args, str(tmp_path / "ok.json"), str(tmp_path / "bad.json"))
    assert result.returncode == 1 and result.stderr == ""


def test_an_installed_wheel_carries_the_schemas(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps",
                            str(ROOT), "-w", str(tmp_path / "dist")], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("imgspec-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "schemas").rglob("*.json")}
    assert {f"imgspec/{n}" for n in on_disk} <= set(names)
    site = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                                str(wheel)], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    (tmp_path / "records").mkdir()
    for v in SPEC.versions:
        (tmp_path / "records" / f"{v}.json").write_text(json.dumps(good(v)))
    probe = ("import imgspec, sys; from imgspec.spec import Spec; "
             "print(imgspec.__file__); print(Spec.default().schemas); "
             "sys.exit(imgspec.cli.main(['validate', sys.argv[1]]))")
    result = subprocess.run([sys.executable, "-c", "import imgspec.cli; " + probe, str(tmp_path / "records")],
                            capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    file_line, schemas_line = result.stdout.splitlines()[:2]
    assert file_line.startswith(str(site)) and schemas_line == f"{site}/imgspec/schemas"
    assert f"{len(SPEC.versions)} record(s) checked: all valid" in result.stderr


# -- one notion of "valid": the command line gives every example the verdict of its folder ----------

FOLDERS = sorted({(e.version, e.kind) for e in ALL})


@pytest.mark.parametrize("version,kind", FOLDERS, ids=[f"{v}/{k}" for v, k in FOLDERS])
def test_the_command_line_gives_every_record_example_the_verdict_of_its_folder(version, kind):
    assert len(FOLDERS) >= 30
    out = run("validate", "-q", "--kind", kind, "--version", version, f"examples/record/{version}/{kind}")
    lines = out.stdout.splitlines()
    here = [e for e in ALL if (e.version, e.kind) == (version, kind)]
    assert out.returncode in (1, 2) and "Traceback" not in out.stderr, out.stderr
    for e in here:
        mine = [line for line in lines if line.startswith(SPEC.rel(e.path) + ":")]
        if e.valid:
            assert mine == []
            continue
        exp = examples.expectation(SPEC, e)
        assert [line.split(": ")[1:3] for line in mine] == [[exp["pointer"] or "(root)", exp["rule"]]], mine
    assert len(lines) == sum(not e.valid for e in here)


def test_validate_checks_placement_semantics_as_the_tests_and_the_site_do():
    out = run("validate", "examples/record/2.4/store/invalid/policy-both-replicate.json")
    assert out.returncode == 1
    assert out.stdout.split(": ")[1:3] == ["/placement/sites/0/stores/0/replicas", "within-site-both"]


def test_validate_a_fragment_of_one_kind():
    ok = run("validate", "--kind", "location", "--version", "2.3", "examples/record/2.3/location/valid/")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = run("validate", "--kind", "location", "--version", "2.3", "examples/record/2.3/image/valid/active-public.json")
    assert bad.returncode == 1 and "/url: required: missing" in bad.stdout
    need = run("validate", "--kind", "location", "examples/record/2.3/location/valid/")
    assert need.returncode == 2 and need.stderr.strip() == (
        "imgspec validate: --kind location needs --version: a fragment does not say its format version")
    unknown = run("validate", "--kind", "tag", "--version", "1.0", "examples/record/2.3/tag/valid/")
    assert unknown.returncode == 2 and "unknown-kind" in unknown.stderr and "Traceback" not in unknown.stderr


def test_every_argument_of_every_command_has_a_help_text():
    from imgspec import cli
    parser = cli.parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.dest != "help":
                assert action.help, (name, action.dest)


def test_readers_and_writers_default_to_the_newest_released_version(tmp_path):
    released, draft = SPEC.latest_released, SPEC.latest
    assert released != draft
    old = str(ROOT / "examples/record/1.0/image/valid/active-public.json")
    for args in (("read", old), ("upgrade", old)):
        out = run(*args)
        assert out.returncode == 0 and json.loads(out.stdout)["format_version"] == released, out.stderr
        assert "warning" not in out.stderr
    named = run("upgrade", old, "--to", draft)
    assert named.returncode == 0 and json.loads(named.stdout)["format_version"] == draft
    assert named.stderr.strip() == (f"imgspec: warning: format {draft} is a draft and may still change; services MUST "
                                    "NOT write draft records in production")


# -- quotas are deployment configuration: an optional profile, never the format ------------------------------

def test_records_over_glances_default_quotas_are_valid_and_the_profile_finds_them():
    from imgspec.format import profiles
    expect = json.loads((ROOT / "examples/profiles/glance-defaults.expect.json").read_text())
    profile = profiles.load(SPEC, expect["profile"])
    over = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "examples/record").glob("*/image/valid/over-*-quota.json"))
    assert len(over) >= 22 and over == sorted(c["example"] for c in expect["cases"] if c["rule"])
    for case in expect["cases"]:
        doc = jsonfile.load(ROOT / case["example"])
        assert validation.check(doc, case["example"], SPEC) == []  # a valid record of a deployment configured so
        found = validation.check(doc, case["example"], SPEC, profile=profile)
        want = [] if case["rule"] is None else [(case["pointer"], case["rule"])]
        assert [(p.pointer, p.rule) for p in found] == want, case["example"]


def test_a_negative_quota_is_unlimited_and_the_cli_checks_a_profile():
    from imgspec.format import profiles
    layer = profiles.layer({"name": "x", "quotas": {"image_tag_quota": -1, "image_location_quota": 2}})
    assert set(layer["properties"]) == {"locations"}
    assert layer["properties"]["locations"]["maxContains"] == 2
    out = run("validate", "-q", "--profile", "glance-defaults", "examples/record/2.2/image/valid/over-tag-quota.json")
    assert out.returncode == 1 and out.stdout.split(": ")[1:3] == ["/tags", "maxItems"]
    assert run("validate", "-q", "examples/record/2.2/image/valid/over-tag-quota.json").returncode == 0


def test_json_lines_on_every_core_report_what_one_core_reports(tmp_path):
    """Batches of lines go to a process pool; the lines, their numbers and their order stay those of one process."""
    record = json.loads((ROOT / "examples/record/2.3/image/valid/active-public.json").read_text())
    stream = tmp_path / "big.jsonl"
    with stream.open("w") as out:
        for i in range(4500):  # three batches
            out.write(json.dumps({**record, "size": -1} if i in (2, 2999, 4499) else record) + "\n")
        out.write("\n{not json\n")
    runs = [subprocess.run([sys.executable, "-m", "imgspec", "validate", "--jobs", jobs, str(stream)],
                           capture_output=True, text=True, cwd=ROOT) for jobs in ("1", "2")]
    assert runs[0].stdout == runs[1].stdout and runs[0].returncode == runs[1].returncode == 2
    lines = runs[1].stdout.splitlines()
    assert [x.split(": ")[0] for x in lines] == [f"{stream}:3", f"{stream}:3000", f"{stream}:4500", f"{stream}:4502"]
    assert "4501 record(s) checked" in runs[1].stderr
