"""The report of a conformance run that a deployment can publish (``imgspec conformance --junit F --html F``):
what was run (the endpoint, imgspec's version, the API document's version and the API release it is locked to, read
from the self-contained document's ``x-imgspec-bundle``), when, and every exchange with its verdict: JUnit XML (one
test case per exchange, as CI systems read it) and one HTML page that needs no other file."""
from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from imgspec.api import document as api
from imgspec.api import selfcontained
from imgspec.api.conformance import Report, Verdict
from imgspec.spec import Spec


@dataclass(frozen=True)
class Run:
    """What a report names besides the verdicts."""
    endpoint: str
    started: str  # RFC 3339
    seconds: float
    imgspec: str
    api_document: str  # info.version of the document
    api_release: str  # the release (and correction) whose locked files the document is, or that it is not
    identity: str  # the project and roles the requests carried (never a token)

    def properties(self) -> dict[str, str]:
        return {"endpoint": self.endpoint, "started": self.started, "imgspec": self.imgspec,
                "api document": self.api_document, "api release": self.api_release, "identity": self.identity}


def run_of(spec: Spec, endpoint: str, started: str, seconds: float, headers: dict[str, str]) -> Run:
    from imgspec import __version__
    lock = spec.load(selfcontained.FILE).get("x-imgspec-bundle", {}).get("lock", {})
    release = lock.get("api_release", "none")
    if lock.get("state") == "locked":
        release += f" (correction {lock['correction']})" if lock.get("correction") else ""
    else:
        release += f": {lock.get('state', 'no lock')}"
    identity = f"project {headers.get('X-Project-Id', '?')}, roles {headers.get('X-Roles', '?')}" + \
        (", with a token" if "X-Auth-Token" in headers else "")
    return Run(endpoint, started, seconds, __version__, api.document(spec)["info"]["version"], release, identity)


def _name(v: Verdict) -> str:
    return f"{v.number:03d} {v.method} {v.path}: expect {v.expected}"


def junit(report: Report, run: Run) -> str:
    """JUnit XML: a test suite of the run, a test case per exchange (its failure: the exchange's problems); a run
    that stopped early has one more test case, ``run``, failed with why."""
    failed = sum(1 for v in report.verdicts if not v.ok) + bool(report.stopped)
    suite = ET.Element("testsuite", name="imgspec conformance", tests=str(len(report.verdicts) + bool(report.stopped)),
                       failures=str(failed), errors="0", skipped="0", time=f"{run.seconds:.3f}",
                       timestamp=run.started, hostname=run.endpoint)
    props = ET.SubElement(suite, "properties")
    for name, value in run.properties().items():
        ET.SubElement(props, "property", name=name, value=value)
    for v in report.verdicts:
        case = ET.SubElement(suite, "testcase", classname=v.operation_id, name=_name(v), time=f"{v.seconds:.3f}")
        if v.problems:
            failure = ET.SubElement(case, "failure", message=str(v.problems[0]), type=v.problems[0].rule)
            failure.text = "\n".join(str(p) for p in v.problems)
        else:
            ET.SubElement(case, "system-out").text = f"answered {v.status}"
    if report.stopped:
        case = ET.SubElement(suite, "testcase", classname="imgspec.conformance", name="run", time="0")
        failure = ET.SubElement(case, "failure", message=str(report.stopped[0]), type=report.stopped[0].rule)
        failure.text = "\n".join(str(p) for p in report.stopped)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #1d1d1f; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
table { border-collapse: collapse; width: 100%; margin: 1em 0; }
th, td { text-align: left; vertical-align: top; padding: .3em .6em; border-bottom: 1px solid #ddd; }
th { background: #f4f4f6; }
td.n, td.s { white-space: nowrap; }
code { font: 13px/1.4 ui-monospace, monospace; overflow-wrap: anywhere; }
tr.row-fail td { background: #fff0f0; }
.pass { color: #116329; font-weight: 600; } .fail-v { color: #a40e26; font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }
dt { font-weight: 600; }
"""


def page(report: Report, run: Run) -> str:
    """One HTML page, styles inline, no script and no other file: what ran, the totals, each exchange."""
    e = html.escape
    passed = sum(1 for v in report.verdicts if v.ok)
    verdict = "conforms" if report.ok else "does not conform"
    rows = []
    for v in report.verdicts:
        problems = "<br>".join(f"<code>{e(str(p))}</code>" for p in v.problems)
        rows.append(f'<tr class="{"row-pass" if v.ok else "row-fail"}"><td class="n">{v.number}</td>'
                    f"<td><code>{e(v.operation_id)}</code></td><td><code>{e(v.method)} {e(v.path)}</code></td>"
                    f'<td class="s">{v.expected}</td><td class="s">{v.status}</td>'
                    f'<td>{"<span class=pass>pass</span>" if v.ok else "<span class=fail-v>fail</span><br>" + problems}'
                    "</td></tr>")
    stopped = "" if not report.stopped else (
        "<h2>The run stopped</h2><p>" + "<br>".join(f"<code>{e(str(p))}</code>" for p in report.stopped) + "</p>")
    props = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in run.properties().items())
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Images API v2 conformance: {e(run.endpoint)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>Images API v2 conformance of {e(run.endpoint)}</h1>"
            f'<p>The endpoint <strong class="{"pass" if report.ok else "fail-v"}">{verdict}</strong> to the Images '
            f"API document {e(run.api_document)}: {passed} of {len(report.verdicts)} exchanges pass, over "
            f"{len(report.operations)} operations, in {run.seconds:.1f} s.</p><dl>{props}</dl>{stopped}"
            "<h2>Exchanges</h2><table><thead><tr><th>#</th><th>Operation</th><th>Request</th><th>Expected</th>"
            f"<th>Answered</th><th>Verdict</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            "<p>Made by <code>imgspec conformance</code>: each exchange passes when its status is the one the "
            "scenario expects and one the operation documents, its Content-Type is documented, and its JSON body "
            "is valid for the operation, status and media type.</p></body></html>\n")
