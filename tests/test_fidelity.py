"""What real Glance writes, fact by fact, read from its code: every such record validates at its version.

Each test names the Glance source (glance 33.0.0 and older releases' migrations) the fact comes from; the
corrections to released versions are the errata recorded in schemas/releases.json.
"""
import json

import pytest
from support import ROOT, SPEC

from imgspec.format import validation
from imgspec.upgrade import upgrade


def example(path):
    return json.loads((ROOT / "examples/record" / path).read_text())


@pytest.mark.parametrize("version", ["2.0", "2.1", "2.2", "2.3", "2.4"])
def test_every_2x_location_may_hold_the_status_glance_stores_since_icehouse(version):
    """glance/db/sqlalchemy/migrate_repo/versions/033_add_location_status.py: image_locations.status."""
    schema = SPEC.schema("location", version)
    assert {"active", "pending_delete", "deleted"} <= set(schema["properties"]["status"]["enum"])


@pytest.mark.parametrize("version", ["2.2", "2.3", "2.4"])
def test_glance_33_import_locations_pending_and_uploading_are_valid(version):
    """glance/async_/flows/parallel_api_image_import.py writes location statuses pending and uploading."""
    for name in ("import-pending", "import-uploading"):
        doc = example(f"{version}/location/valid/{name}.json")
        assert validation.errors(doc, "location", version, spec=SPEC) == []


@pytest.mark.parametrize("version", SPEC.versions)
def test_quotas_are_configuration_not_format_limits(version):
    """glance/common/config.py: image_property_quota, image_tag_quota, image_member_quota, image_location_quota
    (defaults 128, 128, 128, 10; negative means unlimited). A record over them is valid."""
    doc = example(f"{version}/image/valid/active-public.json")
    doc["properties"] = {f"key{i}": "v" for i in range(300)}
    if "tags" in doc:
        doc["tags"] = [f"t{i}" for i in range(300)]
    assert validation.errors(doc, "image", version, spec=SPEC) == []


@pytest.mark.parametrize("version", SPEC.versions)
def test_an_image_id_is_stored_as_the_api_accepted_it(version):
    """glance/api/v2/images.py accepts an upper-case UUID as the id of a new image; the database keeps it."""
    doc = example(f"{version}/image/valid/active-public.json")
    doc["id"] = doc["id"].upper()
    assert validation.errors(doc, "image", version, spec=SPEC) == []
    doc["id"] = doc["id"][:-1] + "G"
    assert [p.rule for p in validation.errors(doc, "image", version, spec=SPEC)] == ["pattern"]


def test_uploading_and_importing_exist_since_pike_in_2_1():
    """Interoperable image import (Glance 15.0.0, Pike: glance/domain/__init__.py) added the image statuses
    uploading and importing; Pike and Queens databases have the Ocata layout, read as 2.1 (erratum 2.1-E2)."""
    assert {"uploading", "importing"} <= set(SPEC.schema("image", "2.1")["properties"]["status"]["enum"])
    assert validation.errors(example("2.1/image/valid/import-in-progress.json"), "image", "2.1", spec=SPEC) == []
    era = SPEC.release("2.1").glance
    assert "Pike" in era and "uploading and importing" in era


def test_2_0_says_which_glance_release_brought_what():
    """virtual_size: migrate 034 (Icehouse); location status: 033 (Icehouse); deactivated: Kilo
    (glance/api/v2/image_actions.py); direct_url is chosen by location_strategy, not stored."""
    era = SPEC.release("2.0").glance
    assert "Folsom" in era and "Icehouse (034)" in era and "deactivated since Kilo" in era
    page = (ROOT / "docs/format/2.0.md").read_text()
    assert "location_strategy" in page and "glance/common/location_strategy/__init__.py" in page


def test_a_private_image_keeps_its_members_through_every_upgrade():
    """glance/domain/__init__.py and glance/db/utils.py keep an image's member rows when it is made private."""
    doc = example("2.1/image/valid/private-keeps-member-rows.json")
    assert doc["visibility"] == "private" and {m["status"] for m in doc["members"]} == {"pending", "accepted", "rejected"}
    assert validation.errors(doc, "image", "2.1", spec=SPEC) == []
    for to in SPEC.versions[SPEC.versions.index("2.1") + 1:]:
        assert upgrade(doc, to, SPEC)["members"] == doc["members"], to
