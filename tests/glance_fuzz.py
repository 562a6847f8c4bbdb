"""Schemathesis against a real Glance: run it (pinned in tools/schemathesis, a venv of its own), read what it
found from its NDJSON event stream, and hold every failure to schemas/api/glance-defects.json: each failure is a
known Glance defect (its operation, its answer, and where Glance raised, read from Glance's own log by the request
id of the answer) or the test fails naming it.

tools/schemathesis/run.json states the phases, the budgets, the checks held (the answer is no server error, its
status is documented for the operation, its Content-Type and headers are the documented ones, its body is valid for
status and media type; a method a path does not have is answered 405 with its Allow header) and why each of
schemathesis' other checks is not run against this deployment.
"""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from imgspec.api import selfcontained

ROOT = Path(__file__).resolve().parent.parent
ST = ROOT / "_build" / "schemathesis" / "bin" / "st"
DOCUMENT = ROOT / selfcontained.FILE
DEFECTS = ROOT / "schemas" / "api" / "glance-defects.json"
RUN = ROOT / "tools" / "schemathesis" / "run.json"  # phases, budgets, the checks held and why the others are not
SETTINGS = json.loads(RUN.read_text())


def run(url: str, headers: dict[str, str], out: Path, max_examples: int, timeout: float = 900) -> dict:
    """Run schemathesis against ``url`` with ``headers`` on every request; its JSON run report, with "events": the
    path of the NDJSON event stream."""
    if not ST.exists():
        raise AssertionError(f"{ST} is missing: `make schemathesis` (part of `make test`) installs it")
    out.mkdir(parents=True, exist_ok=True)
    cmd = [str(ST), "run", str(DOCUMENT), "-u", url, "--max-examples", str(max_examples),
           "--generation-deterministic", "--workers", "1", "--phases", ",".join(SETTINGS["phases"]),
           "-c", ",".join(SETTINGS["checks"]), "--report", "ndjson,json", "--report-ndjson-path",
           str(out / "events.ndjson"), "--report-json-path", str(out / "run.json"),
           "--request-timeout", "30", "--no-color"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    env = dict(os.environ, SCHEMATHESIS_HOOKS="schemathesis_hooks", PYTHONPATH=str(ROOT / "tests" / "glance"))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=out, env=env)
    (out / "schemathesis.out").write_text(done.stdout + done.stderr)
    if not (out / "run.json").is_file() or done.returncode not in (0, 1):  # 1: it found failures; else it did not run
        raise AssertionError(f"schemathesis exited with {done.returncode}: {(done.stdout + done.stderr)[-3000:]}")
    return {**json.loads((out / "run.json").read_text()), "events": out / "events.ndjson"}


@dataclass(frozen=True)
class Failure:
    code: str  # schemathesis' failure code (ST101 server error, ST103 undocumented status, ...)
    title: str
    operation: str  # "METHOD /path/template" as the document names it
    method: str
    target: str  # path and query, percent-decoded
    headers: tuple[tuple[str, str], ...]  # the request's, but the identity headers every request carries
    body: str
    status: int
    request_id: str

    @property
    def request(self) -> str:
        """The request as one text the defects' ``request`` patterns read."""
        return "".join([f"{self.method} {self.target}\n", *(f"{k}: {v}\n" for k, v in self.headers), "\n", self.body])

    def __str__(self) -> str:
        body = self.body if len(self.body) < 300 else self.body[:300] + "..."
        return (f"{self.code} {self.title}: {self.operation}: {self.method} {self.target} "
                f"{dict(self.headers)} {body} -> {self.status} ({self.request_id or 'no request id'})")


IDENTITY = {"x-identity-status", "x-project-id", "x-user-id", "x-roles", "x-auth-token"}


def _body(request: dict) -> str:
    body = request.get("body")
    if isinstance(body, dict) and "$base64" in body:
        return base64.b64decode(body["$base64"]).decode("utf-8", "replace")
    return body or ""


def failures(report: Path) -> list[Failure]:
    """Every failed check of the run, one per (check, exchange)."""
    out: list[Failure] = []
    for line in report.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished or finished.get("status") != "failure":
            continue
        recorder = finished["recorder"]
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                failure = check["failure_info"]["failure"]
                exchange = recorder["interactions"].get(case_id) or {}
                request, response = exchange.get("request", {}), exchange.get("response", {})
                parts = urlsplit(request.get("uri", ""))
                headers = tuple(sorted((k, v[0]) for k, v in request.get("headers", {}).items()
                                       if k.lower() not in IDENTITY))
                out.append(Failure(failure["code"], failure["title"], failure["operation"], request.get("method", ""),
                                   unquote(parts.path) + (f"?{unquote(parts.query)}" if parts.query else ""),
                                   headers, _body(request),
                                   int(response.get("status_code", 0)),
                                   (response.get("headers", {}).get("x-openstack-request-id") or [""])[0]))
    return out


_CAUGHT = re.compile(r"^\S+ \S+ \d+ ERROR glance\.common\.wsgi \[(?:None )?(req-[0-9a-f-]+)[^\]]*\] Caught error")
_LOGGED = re.compile(r"^\S+ \S+ \d+ ERROR glance\.common\.wsgi (?:\[[^\]]*\] )?(.*)$")
_FRAME = re.compile(r'File "[^"]*?/(glance/[^"]+\.py)", line \d+, in (\w+)')


def raised(log: str) -> dict[str, tuple[str, str]]:
    """Per request id, where Glance raised what it did not handle: (its last frame in Glance's own code as
    "glance/file.py:function", the exception's type), from the tracebacks of glance/common/wsgi.py's Resource."""
    out: dict[str, tuple[str, str]] = {}
    current: list[str] | None = None
    request_id = ""

    def close():
        if current is None:
            return
        frames = [m.group(1) + ":" + m.group(2) for m in map(_FRAME.search, current) if m]
        last = next((t for t in reversed(current) if t), "")  # the exception: "module.Type: message"
        error = re.match(r"[\w.]+", last)
        out[request_id] = (frames[-1] if frames else "", error.group(0).rsplit(".", 1)[-1] if error else "")

    for line in log.splitlines():
        caught = _CAUGHT.match(line)
        if caught:
            close()
            current, request_id = [], caught.group(1)
            continue
        logged = _LOGGED.match(line)
        if logged and current is not None:
            current.append(logged.group(1).strip())
        elif current is not None:
            close()
            current = None
    close()
    return out


def defects() -> list[dict]:
    return json.loads(DEFECTS.read_text())["defects"]


def known(failure: Failure, where: dict[str, tuple[str, str]], table: list[dict]) -> str | None:
    """The id of the defect of glance-defects.json that ``failure`` is, or None."""
    for defect in table:
        match = defect["match"]
        if not (re.search(match["operation"], failure.operation) and re.fullmatch(defect["answer"], str(failure.status))):
            continue
        if "request" in match and not re.search(match["request"], failure.request, re.S):
            continue
        if "raised" in match:
            at, error = where.get(failure.request_id, ("", ""))
            if not (re.fullmatch(match["raised"]["at"], at) and re.fullmatch(match["raised"]["error"], error)):
                continue
        return defect["id"]
    return None
