"""Route coverage: the OpenAPI document against the routes Glance 33's v2 router serves (glance/api/v2/router.py)."""
from __future__ import annotations

import json
import re
import subprocess

import pytest

from conftest import ROOT

pytestmark = pytest.mark.glance
VERSIONS = {("GET", "/"), ("GET", "/versions")}  # served by glance/api/versions.py, before the v2 router


def norm(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)  # Glance's {tag_value} is the document's {tag}


@pytest.fixture(scope="module")
def served() -> set[tuple[str, str]]:
    from glance_live import PYTHON
    done = subprocess.run([str(PYTHON), str(ROOT / "tests/glance/served_routes.py")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1500:]
    return {(method, norm(path)) for method, path, _ in json.loads(done.stdout)}


def documented() -> set[tuple[str, str]]:
    doc = json.loads((ROOT / "schemas/api/images-v2.openapi.json").read_text())
    return {(m.upper(), norm(p)) for p, item in doc["paths"].items() for m, op in item.items()
            if isinstance(op, dict) and "operationId" in op}


def test_the_document_describes_no_route_glance_does_not_serve(served):
    assert documented() - served - VERSIONS == set()
    assert len(served) == 81  # Glance 33.0.0's v2 router (cache routes included)


def test_the_routes_left_to_describe_are_exactly_those_listed(served):
    """Until the whole API is described, what is missing is a list the router holds exactly: nothing hidden."""
    listed = {tuple(row.split(" ", 1)) for row in
              json.loads((ROOT / "tests/glance/undocumented-routes.json").read_text())["undocumented"]}
    listed = {(m, norm(p)) for m, p in listed}
    assert served - documented() == listed
