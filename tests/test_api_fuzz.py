"""Schemathesis against a real Glance, beside the hand-written scenarios: every operation of the self-contained
document exercised with generated valid and invalid requests within a fixed budget, every answer held to the
document, and every failure one of Glance's own defects that schemas/api/glance-defects.json states and a replay
reproduces (tests/glance_fuzz.py has the harness, tools/schemathesis/run.json the settings)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.error
import urllib.request

import pytest
from glance_fuzz import DEFECTS, DOCUMENT, SETTINGS, ST, Failure, defects, failures, known, raised
from support import ROOT

from imgspec.api import conformance

pytestmark = pytest.mark.glance
GLANCE_SRC = ROOT / "_build" / "glance-src" / "glance-33.0.0"
HEADERS = conformance.default_headers()
CACHE = {"OpenStack-API-Version": "image 2.18"}


@pytest.fixture(scope="module")
def glance(tmp_path_factory):
    """A Glance of the fuzz run's own (it leaves behind what thousands of requests make), cache API served."""
    from glance_live import GlanceServer
    work = tmp_path_factory.mktemp("fuzz-glance") / "server"
    server = GlanceServer(work, (f"image_cache_dir = {work / 'cache'}",))
    work.mkdir()
    server.start()
    yield server
    server.stop()


def budget() -> int:
    """--max-examples: IMGSPEC_SCHEMATHESIS_EXAMPLES, else run.json's budget named by IMGSPEC_SCHEMATHESIS_BUDGET
    (`make fuzz` names "make fuzz"), else the budget of "make test"."""
    if os.environ.get("IMGSPEC_SCHEMATHESIS_EXAMPLES"):
        return int(os.environ["IMGSPEC_SCHEMATHESIS_EXAMPLES"])
    return SETTINGS["budget"][os.environ.get("IMGSPEC_SCHEMATHESIS_BUDGET") or "make test"]


@pytest.fixture(scope="module")
def fuzzed(glance, tmp_path_factory):
    from glance_fuzz import run
    report = run(glance.url, HEADERS, tmp_path_factory.mktemp("schemathesis"), budget())
    found = failures(report["events"])
    where = raised((glance.workdir / "glance-api.log").read_text(errors="replace"))
    return report, found, where


def test_every_operation_is_exercised_in_every_phase(fuzzed):
    report, _, _ = fuzzed
    doc = json.loads(DOCUMENT.read_text())
    operations = sum(1 for item in doc["paths"].values() for op in item.values()
                     if isinstance(op, dict) and "operationId" in op)
    assert report["operations"] | {"skip_reasons": []} == {
        "total": operations, "selected": operations, "tested": operations, "errored": 0, "skipped": 0,
        "skip_reasons": []}
    assert report["errors"] == [] and report["complete"] and report["stop_reason"] == "completed"
    assert {name: p["status"] != "skip" for name, p in report["phases"].items() if name in SETTINGS["phases"]} == \
        dict.fromkeys(SETTINGS["phases"], True)
    assert report["test_cases"]["generated"] >= 1000 * budget() // 5


def test_every_failure_is_a_glance_defect_the_defects_file_states(fuzzed):
    _, found, where = fuzzed
    table = defects()
    unknown = [f"{f} raised {where.get(f.request_id, 'nothing in Glance log')}" for f in found
               if known(f, where, table) is None]
    assert unknown == [], "answers the document does not allow and glance-defects.json does not explain:\n" + \
        "\n".join(unknown)


def test_a_failure_no_defect_states_is_no_known_defect():
    table = defects()
    crash = Failure("ST101", "Server error", "GET /v2/images", "GET", "/v2/images?limit=1", (), "", 500, "req-1")
    assert known(crash, {}, table) is None
    assert known(crash, {"req-1": ("glance/api/v2/images.py:index", "TypeError")}, table) is None
    assert known(crash, {"req-1": ("glance/db/sqlalchemy/api.py:_make_conditions_from_filters", "AttributeError")},
                 table) == "image-list-properties-parameter"
    assert known(Failure("ST101", "Server error", "POST /v2/images", "POST", "/v2/images", (("Content-Type",
                 "multipart/form-data; boundary=x"),), "", 500, ""), {}, table) is None


def test_the_checks_held_and_left_out_are_all_of_schemathesis_checks():
    done = subprocess.run([str(ST), "run", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{ST} is missing or broken: `make schemathesis` installs it: {done.stderr[-500:]}"
    words = " ".join(done.stdout.split())
    offered = set(re.search(r"-c, --checks .*?\[possible values: ([^\]]+)\]", words)[1].replace(" ", "").split(","))
    held, left_out = set(SETTINGS["checks"]), set(SETTINGS["left_out"])
    assert held & left_out == set()
    assert held | left_out == offered - {"all"}
    assert all(len(reason) > 40 for reason in SETTINGS["left_out"].values())


def test_the_defects_file_cites_glance_33s_files_and_its_patterns_compile():
    data = json.loads(DEFECTS.read_text())
    assert data["glance"] == "33.0.0"
    ids = [d["id"] for d in data["defects"]]
    assert len(ids) == len(set(ids)) >= 10
    for d in data["defects"]:
        assert d["evidence"] and all((GLANCE_SRC / f).is_file() for f in d["evidence"]), d["id"]
        for key in ("operation", "request"):
            if key in d["match"]:
                re.compile(d["match"][key])
        assert ("raised" in d["match"]) != ("wsgi_server" in d) or not re.fullmatch(d["answer"], "500"), \
            f"{d['id']}: a 500 states where Glance raised (raised) or what the WSGI server printed (wsgi_server)"


# The replay: each defect's request against the module's Glance, with an image and a namespace of its own.

@pytest.fixture(scope="module")
def places(glance):
    def call(method, path, body=None, media="application/json", headers=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(glance.url + path, data=data, method=method,
                                     headers={**HEADERS, **({"Content-Type": media} if data else {}), **(headers or {})})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")
    image = call("POST", "/v2/images", {"name": "imgspec defects replay"})
    namespace = "imgspec-defects-replay"
    call("POST", "/v2/metadefs/namespaces", {
        "namespace": namespace, "display_name": "defects replay",
        "properties": {"watchdog": {"title": "Watchdog", "type": "string", "enum": ["disabled", "reset"]}},
        "objects": [{"name": "CPU", "properties": {"threads": {"title": "Threads", "type": "integer"}}}],
        "tags": [{"name": "gpu"}]})
    return {"image_id": image["id"], "namespace": namespace}


def operation_of(method: str, path: str) -> str:
    """The operation a request is for as schemathesis names it ("METHOD /template"); a method the path does not
    have (TRACE, say) is named by the path's first operation, the one schemathesis sent it for."""
    doc = json.loads(DOCUMENT.read_text())
    for template, item in doc["paths"].items():
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), path):
            methods = [m.upper() for m, op in item.items() if isinstance(op, dict) and "operationId" in op]
            return f"{method if method in methods else methods[0]} {template}"
    raise AssertionError(f"no path of the document takes {path}")


def replay(glance, defect: dict, places: dict) -> tuple[Failure, str]:
    """Send the defect's request; the exchange as the fuzz run would report it, and what the WSGI server printed."""
    spec = defect["reproduce"]
    path = spec["path"].format(**places)
    body = None if spec["body"] is None else spec["body"].encode()
    out = glance.workdir.parent / f"{glance.workdir.name}.out"
    before = out.stat().st_size
    req = urllib.request.Request(glance.url + path, data=body, method=spec["method"], headers={**HEADERS, **spec["headers"]})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, request_id = r.status, r.headers.get("x-openstack-request-id", "")
    except urllib.error.HTTPError as e:
        status, request_id = e.code, e.headers.get("x-openstack-request-id", "")
    operation = operation_of(spec["method"], path.split("?", 1)[0])
    failure = Failure("replay", "replay", operation, spec["method"], path, tuple(sorted(spec["headers"].items())),
                      spec["body"] or "", status, request_id)
    with open(out, "rb") as f:
        f.seek(before)
        printed = f.read().decode(errors="replace")
    return failure, printed


@pytest.mark.parametrize("defect", defects(), ids=lambda d: d["id"])
def test_each_defect_reproduces_against_a_real_glance_as_stated(glance, places, defect):
    failure, printed = replay(glance, defect, places)
    assert re.fullmatch(defect["answer"], str(failure.status)), f"{defect['id']}: Glance answered {failure.status}: fixed?"
    where = raised((glance.workdir / "glance-api.log").read_text(errors="replace"))
    if "raised" in defect["match"]:
        assert failure.request_id in where, f"{defect['id']}: Glance logged no traceback for {failure.request_id}"
    if "wsgi_server" in defect:
        assert defect["wsgi_server"] in printed, printed[-2000:]
    assert known(failure, where, [defect]) == defect["id"], \
        f"{defect['id']}: its match does not take its own reproduce request ({failure}, raised {where.get(failure.request_id)})"
