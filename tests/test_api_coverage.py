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


LEFT_OUT = json.loads((ROOT / "schemas/api/api-ref-differences.json").read_text())["left_out"]


@pytest.fixture(scope="module")
def paste():
    """Glance 33's own shipped paste file (etc/glance-api-paste.ini of its source package)."""
    import configparser

    from apiref import SOURCE
    found = sorted(SOURCE.glob("glance-*/etc/glance-api-paste.ini"))
    assert found, f"{SOURCE} has no glance source package: `make glance-src` (part of `make test`) unpacks it"
    ini = configparser.ConfigParser(interpolation=None, delimiters=("=", ":"))
    ini.optionxform = str  # keys such as /healthcheck and keystone+cachemanagement keep their case
    ini.read(found[-1])
    return ini


def left_out(served_by: str) -> dict:
    entry, = (e for e in LEFT_OUT if e["served_by"].startswith(served_by))
    return entry


def test_the_cachemanage_routes_the_document_leaves_out_are_the_filters_routes_in_its_flavors(paste):
    """schemas/api/api-ref-differences.json's left_out names exactly the routes of Glance's deprecated cachemanage
    filter (built by Glance's own code) and exactly the paste flavors whose pipeline mounts it."""
    from glance_live import PYTHON
    done = subprocess.run([str(PYTHON), str(ROOT / "tests/glance/served_routes.py"), "cachemanage"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1500:]
    routes = {f"{method} {path}" for method, path, _, _ in json.loads(done.stdout)}
    entry = left_out("the cachemanage filter")
    assert set(entry["routes"]) == routes and len(routes) == 7
    pipelines = {flavor: value.split() for flavor, value in paste["composite:api"].items() if flavor != "use"}
    assert sorted(entry["flavors"]) == sorted(f for f, filters in pipelines.items() if "cachemanage" in filters)
    assert paste["filter:cachemanage"]["paste.filter_factory"].startswith("glance.api.middleware.cache_manage:")
    assert {(r.split()[0], norm(r.split()[1])) for r in routes} & documented() == set()


def test_the_healthcheck_the_document_leaves_out_is_oslo_middlewares_in_every_composite(paste):
    entry = left_out("oslo.middleware's Healthcheck")
    assert entry["routes"] == ["GET /healthcheck"] and entry["flavors"] == ["every composite"]
    composites = [s for s in paste.sections() if s.startswith("composite:glance-api")]
    assert len(composites) >= 6 and all(paste[s].get("/healthcheck") == "healthcheck" for s in composites)
    assert paste["app:healthcheck"]["paste.app_factory"] == "oslo_middleware:Healthcheck.app_factory"
    assert ("GET", "/healthcheck") not in documented()
