"""Whatever Glance 33 accepts through its API, the format accepts and reads back (issue 25).

Plans of API calls drawn to the edges Glance allows (hypothesis: a small budget in `make test`, a long one with
`make fuzz`, IMGSPEC_FUZZ_EXAMPLES) and the plans kept in examples/differential/ run against a real Glance 33
(tests/glance/serve.py, with Glance's own etc/schema-image.json from the source package and
show_multiple_locations); then export-sql: every image Glance created is exported, validates, and equals
Glance's GET of it field by field (tests/differential.py). A failing drawn plan is written to
_build/fuzz/last-failure.json, which `make fuzz` keeps in examples/differential/.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import differential
import pytest
from apiref import SOURCE
from differential import check, run_plan
from glance_scenarios import Api
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import ROOT

pytestmark = pytest.mark.glance
KEPT = sorted((ROOT / "examples" / "differential").glob("*.json"))
EXAMPLES = int(os.environ.get("IMGSPEC_FUZZ_EXAMPLES", "6"))
FAILURE = ROOT / "_build" / "fuzz" / "last-failure.json"


@pytest.fixture(scope="module")
def glance_fuzz(tmp_path_factory):
    """A real Glance 33 with the image schema it ships (kernel_id and ramdisk_id may be null), delayed_delete (a
    deleted image with data waits for the scrubber as pending_delete) and show_multiple_locations."""
    from glance_live import GlanceServer
    shipped = sorted(SOURCE.glob("glance-*/etc/schema-image.json"))
    assert shipped, f"{SOURCE}: `make glance-src` (part of `make test`) unpacks the glance source package"
    server = GlanceServer(tmp_path_factory.mktemp("glance-fuzz") / "server",
                          ("show_multiple_locations = True", "delayed_delete = True"),
                          schema_image=shipped[-1])
    server.workdir.mkdir()
    server.start()
    differential.CONF = server.workdir / "etc" / "glance-api.conf"
    yield server
    server.stop()


def test_the_kept_plans_are_there():
    """The audit's findings are kept as plans, each replayed below (a vanished folder is a failure, not a pass)."""
    names = {p.stem for p in KEPT}
    assert {"null-property", "empty-tag", "empty-property-key", "member-over-255", "backend-beside-store"} <= names


@pytest.mark.parametrize("path", KEPT, ids=lambda p: p.stem)
def test_a_kept_plan_exports_whole_and_reads_as_glance_serves_it(glance_fuzz, path, spec, tmp_path):
    plan = json.loads(path.read_text())
    api = Api(glance_fuzz.url)
    made = run_plan(api, plan)
    assert len(made) >= plan.get("expect_created", 1), f"Glance created {len(made)} image(s) of {path.name}"
    assert check(api, glance_fuzz.database, made, spec, tmp_path) == []
    for i, image in enumerate(plan["images"]):  # what the plan says the record of its image holds
        if "expect" not in image:
            continue
        (image_id,) = [k for k, v in made.items() if v["plan"] is image]
        record = json.loads((tmp_path / "store" / "records" / f"{image_id}.json").read_text())
        for pointer, want in image["expect"].items():
            assert pointer_get(record, pointer) == want, (path.name, i, pointer)


def pointer_get(doc, pointer: str):
    for token in pointer.lstrip("/").split("/"):
        doc = doc[int(token)] if isinstance(doc, list) else doc[token]
    return doc


EDGE_TEXT = ["", "x", "ü-ñ-名前", "Upper-Case", "a" * 255, "a" * 256]
IMAGES = st.fixed_dictionaries({
    "name": st.one_of(st.none(), st.sampled_from(EDGE_TEXT)),
    "id": st.sampled_from([None, None, "upper", "hyphenless"]),
    "properties": st.dictionaries(st.sampled_from(["", "os_distro", "é-key", "Key", "k" * 255, "k" * 256,
                                                   "kernel_id", "ramdisk_id"]),
                                  st.one_of(st.none(), st.sampled_from(["", "v", "ü", "x" * 300,
                                                                        "c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"])),
                                  max_size=3),
    "tags": st.lists(st.sampled_from(EDGE_TEXT), max_size=3, unique=True),
    "min_ram": st.sampled_from([None, 0, 1, 2 ** 31 - 1, -1]),
    "min_disk": st.sampled_from([None, 0, 5, -1]),
    "visibility": st.sampled_from([None, "private", "public", "shared", "community"]),
    "protected": st.booleans(),
    "os_hidden": st.booleans(),
    "members": st.lists(st.sampled_from(["p1", "p2-ü", "P" * 300]), max_size=2, unique=True),
    "member_status": st.sampled_from(["pending", "accepted", "rejected"]),
    "add_tag": st.one_of(st.none(), st.sampled_from(["late", "ü", "t" * 300])),
    "upload": st.booleans(),
    "deactivate": st.sampled_from([None, "yes", "and-reactivate"]),
    "then": st.sampled_from(["keep", "keep", "private", "delete"]),
    # Rocky/Stein-style location metadata written through Glance's DB API, then loaded by Glance (now and then:
    # each costs a run of Glance's interpreter)
    "location_with_backend": st.sampled_from([None] * 5 + ["fs2"]),
})


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 10,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(images=st.lists(IMAGES, min_size=1, max_size=3))
def test_every_image_glance_accepts_exports_validates_and_reads_as_served(glance_fuzz, spec, images):
    plan = {"images": images}
    api = Api(glance_fuzz.url)
    made = run_plan(api, plan)
    with tempfile.TemporaryDirectory() as work:
        problems = check(api, glance_fuzz.database, made, spec, Path(work))
    if problems:
        FAILURE.parent.mkdir(parents=True, exist_ok=True)
        FAILURE.write_text(json.dumps(dict(plan, found=problems), indent=2, ensure_ascii=False) + "\n")
    assert problems == []


def test_the_differential_check_catches_a_disagreement(glance_fuzz, spec, tmp_path, monkeypatch):
    """The check is not vacuous: an export that changed a value (as the binding once read a NULL property as "")
    is a disagreement with Glance."""
    api = Api(glance_fuzz.url)
    made = run_plan(api, json.loads((ROOT / "examples/differential/null-property.json").read_text()))
    real = differential.export

    def altered(url, out, **kw):
        summary = real(url, out, **kw)
        for path in (Path(out) / "records").glob("*.json"):
            doc = json.loads(path.read_text())
            doc["properties"] = {k: ("" if v is None else v) for k, v in doc["properties"].items()}
            path.write_text(json.dumps(doc))
        return summary
    monkeypatch.setattr(differential, "export", altered)
    problems = check(api, glance_fuzz.database, made, spec, tmp_path)
    assert any("properties" in p and "None" in p for p in problems), problems
    shutil.rmtree(tmp_path / "store")
