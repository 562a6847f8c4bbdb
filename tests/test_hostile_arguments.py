"""Arguments and trees a command cannot use end in one line and exit 2, never in a success that did not happen
(a first part of issue 30: the review gate's inputs and the recorded corrections, checked before anything is
written). Cases as data: the command line, and the line it must say."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from support import ROOT

RELEASES = ROOT / "schemas" / "releases.json"
CASES = [  # (arguments, a part of the one line it says); {tmp} is a private folder
    (["diff", "{tmp}/nope", "{tmp}/nope2"], "not-a-version: neither a format version"),
    (["diff", "{tmp}/empty", "{tmp}/empty"], "not-a-version: the folder holds no schema files"),
    (["diff", "{tmp}/array", "2.3"], "array/image.json: (root): not-a-schema: a schema is a JSON object"),
    (["diff", "{tmp}/noconst", "2.3"], "not-a-schema: format_version must state its version as a const string"),
    (["erratum", "2.3", "--id", "bad", "--what", "w", "--why", "w", "--evidence", "glance/x.py"],
     "argument --id: 'bad' is not an id like 2.1-E1"),
    (["erratum", "2.3", "--id", "2.2-E9", "--what", "w", "--why", "w", "--evidence", "glance/x.py"],
     "--id: (root): usage: '2.2-E9' is not an erratum of 2.3"),
    (["erratum", "2.3", "--id", "2.3-E9", "--what", " ", "--why", "w", "--evidence", "glance/x.py"],
     "argument --what: ' ' is not a sentence"),
    (["erratum", "2.3", "--id", "2.3-E9", "--what", "w", "--why", "w", "--evidence", "/etc/passwd"],
     "argument --evidence: '/etc/passwd' is not a file of the Glance source tree"),
    (["erratum", "2.3", "--id", "2.3-E9", "--what", "w", "--why", "w", "--evidence", "glance/../../x"],
     "argument --evidence"),
    (["api-correction", "--id", "", "--what", "w", "--why", "w", "--evidence", "glance/x.py"],
     "argument --id: '' is not an id like 2.15-C1"),
    (["sizing", "--images", "-5"], "argument --images: -5 is not positive"),
    (["sizing", "--copies", "-1"], "argument --copies: -1 is not positive"),
    (["sizing", "--corpus", "-3"], "argument --corpus: -3 is not positive"),
    (["read", "--to", "9.9", "-"], "--to: (root): unknown-version"),
    (["vectors", "--command", ""], "--command: (root): usage: the command is empty"),
    (["vectors", "--command", "'unbalanced"], "--command: (root): usage:"),
    (["vectors", "--command", "no-such-program-here --to {to} -"], "--command: (root): command-not-found"),
]


@pytest.mark.parametrize("args,says", CASES, ids=lambda c: " ".join(c)[:60] if isinstance(c, list) else None)
def test_a_command_refuses_what_it_cannot_use_in_one_line(tmp_path, args, says):
    (tmp_path / "empty").mkdir()
    (tmp_path / "array").mkdir()
    (tmp_path / "array" / "image.json").write_text("[]")
    (tmp_path / "noconst").mkdir()
    (tmp_path / "noconst" / "image.json").write_text(json.dumps({"properties": {"format_version": {"enum": ["2.3"]}}}))
    before = RELEASES.read_bytes()
    ran = subprocess.run([sys.executable, "-m", "imgspec", *[a.replace("{tmp}", str(tmp_path)) for a in args]],
                         input=b"{}", capture_output=True, cwd=ROOT)
    err = ran.stderr.decode()
    assert ran.returncode == 2, (ran.returncode, err, ran.stdout[-300:])
    assert "Traceback" not in err and says in err, err
    assert RELEASES.read_bytes() == before  # nothing recorded


def test_two_openapi_documents_are_compared_as_api_documents_without_the_flag():
    doc = str(ROOT / "schemas" / "api" / "images-v2.openapi.json")
    ran = subprocess.run([sys.executable, "-m", "imgspec", "diff", doc, doc], capture_output=True, text=True, cwd=ROOT)
    assert ran.returncode == 0 and ran.stdout.startswith("API "), (ran.stdout[:200], ran.stderr[-300:])


def test_a_command_under_test_that_hangs_is_killed_and_disagrees():
    from imgspec.upgrade import vectors
    got = vectors.run_command("sleep 30", b"{}", "2.3", timeout=0.5)
    assert (got.status, got.reading) == (-1, None) and "killed" in got.stderr
