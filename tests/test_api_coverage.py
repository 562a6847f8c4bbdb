"""Route coverage: the OpenAPI document against the routes Glance 33's v2 router serves (glance/api/v2/router.py)."""
from __future__ import annotations

import json
import re
import subprocess

import pytest
from support import ROOT

pytestmark = pytest.mark.glance
VERSIONS = {("GET", "/"), ("GET", "/versions")}  # served by glance/api/versions.py, before the v2 router


def norm(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)  # Glance's {tag_value} is the document's {tag}


@pytest.fixture(scope="module")
def served() -> set[tuple[str, str]]:
    from glance_live import PYTHON
    done = subprocess.run([str(PYTHON), str(ROOT / "tests/glance/served_routes.py")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1500:]
    return {(method, norm(path)) for method, path, _, _ in json.loads(done.stdout)}


def documented() -> set[tuple[str, str]]:
    doc = json.loads((ROOT / "schemas/api/images-v2.openapi.json").read_text())
    return {(m.upper(), norm(p)) for p, item in doc["paths"].items() for m, op in item.items()
            if isinstance(op, dict) and "operationId" in op}


def test_the_document_describes_no_route_glance_does_not_serve(served):
    assert documented() - served - VERSIONS == set()
    assert len(served) == 81  # Glance 33.0.0's v2 router (cache routes included)


def test_every_route_glance_serves_is_an_operation_of_the_document(served):
    assert served - documented() == set()
    assert len(documented() - VERSIONS) == 81
