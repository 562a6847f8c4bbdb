"""Every constraint of every record schema states a check Glance enforces, and the pages show it (issue 25).

schemas/evidence/record-constraints.json names, for each constraint keyword at each place of each record schema
(released and draft), the column, API schema, controller check or domain rule of Glance that states it, or
imgspec's own definition for the objects Glance does not have. A constraint someone wrote because it seemed
reasonable has no such entry, and fails here."""
import json
import re

import pytest
from apiref import SOURCE
from support import ROOT, SPEC

from imgspec.format import evidence
from imgspec.spec import Spec

DATA = json.loads((ROOT / evidence.FILE).read_text())


def test_every_constraint_has_its_glance_evidence_and_every_entry_covers_one():
    assert evidence.problems(SPEC) == []
    sites = evidence.all_sites(SPEC)
    assert len(sites) >= 600 and {s.version for s in sites} == set(SPEC.versions)
    assert {s.kind for s in sites} == {"image", "location", "member", "tag", "store", "placement"}


def test_a_constraint_added_without_evidence_fails(spec_copy):
    path = spec_copy.schemas / "record" / "2.3" / "image.json"
    doc = json.loads(path.read_text())
    doc["properties"]["owner"]["minLength"] = 1  # reasonable-looking; Glance checks no such thing
    path.write_text(json.dumps(doc, indent=2))
    (problem,) = evidence.problems(Spec(spec_copy.root))
    assert (problem.file, problem.pointer, problem.rule) == ("schemas/record/2.3/image.json", "/owner",
                                                             "constraint-without-evidence")
    assert "minLength" in problem.message


def test_evidence_for_a_constraint_that_is_gone_fails(spec_copy):
    path = spec_copy.schemas / "record" / "2.0" / "image.json"
    doc = json.loads(path.read_text())
    del doc["properties"]["name"]["maxLength"]
    path.write_text(json.dumps(doc, indent=2))
    rules = {(p.rule, p.file) for p in evidence.problems(Spec(spec_copy.root))}
    assert rules == set()  # the other versions still have it: the entry still covers something
    for version in SPEC.versions:
        path = spec_copy.schemas / "record" / version / "image.json"
        doc = json.loads(path.read_text())
        doc["properties"]["name"].pop("maxLength", None)
        path.write_text(json.dumps(doc, indent=2))
    (problem,) = evidence.problems(Spec(spec_copy.root))
    assert problem.rule == "evidence-for-nothing" and "maxLength" in problem.message


def test_sites_are_walked_without_recursion():
    deep: dict = {"type": "object"}
    node = deep
    for _ in range(5000):
        node["properties"] = {"x": {"type": "object"}}
        node = node["properties"]["x"]
    assert len(evidence.sites(deep, "image", "2.3")) == 5001


@pytest.mark.parametrize("entry", DATA["constraints"], ids=lambda e: f"{e['kind']}{e['path'] or '-root'}")
def test_each_entry_names_a_kind_of_enforcement_and_real_glance_files(entry):
    source = sorted(SOURCE.glob("glance-*/"))
    assert source, f"{SOURCE}: `make glance-src` (part of `make test`) unpacks the glance source package"
    for by in entry["enforced_by"]:
        assert by["by"] in DATA["by"], by
        assert by["what"].strip()
        if by["by"] == "imgspec":
            assert "glance" not in by and entry["kind"] in ("store", "placement") or entry["path"] in (
                "/format_version", "/metadata_before_2_3", "/site", ""), entry
            continue
        assert "glance" in by, f"{by['by']} evidence names the Glance file that states it: {entry}"
        path = by["glance"]
        assert (source[-1] / path).is_file() or re.fullmatch(
            r"glance/db/sqlalchemy/migrate_repo/versions/\d{3}_\w+\.py", path), path


def test_the_audits_findings_are_widened_with_their_evidence():
    """Issue 25's findings: each constraint Glance does not enforce is gone from every version."""
    for version in SPEC.versions:
        image = SPEC.schema("image", version)["properties"]
        assert image["properties"]["additionalProperties"]["type"] == ["string", "null"]
        assert "propertyNames" not in image["properties"]
        assert "minimum" not in image["min_ram"] and "minimum" not in image["min_disk"]
        assert "maxLength" not in SPEC.schema("member", version)["properties"]["member"]
        if "tag" in SPEC.kinds(version):
            tag = SPEC.schema("tag", version)
            assert "minLength" not in tag and "maxLength" not in tag
