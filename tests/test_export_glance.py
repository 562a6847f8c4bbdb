"""export-sql against a real Glance database: records that validate and agree with the API, field by field."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest
from differential import disagreements
from glance_scenarios import MEMBERS, Api, make_images
from support import ROOT

from imgspec.format import validation
from imgspec.sql import binding as sqlbinding

pytestmark = pytest.mark.glance


@pytest.fixture(scope="module")
def exported(glance, tmp_path_factory):
    """Images made through the API in every state the binding covers, then the database exported."""
    api = Api(glance.url)
    made = make_images(api)
    before = hashlib.sha256(glance.database.read_bytes()).hexdigest()
    out = tmp_path_factory.mktemp("export") / "store"
    ran = subprocess.run([sys.executable, "-m", "imgspec", "export-sql", f"sqlite:///{glance.database}", str(out)],
                         capture_output=True, text=True, cwd=ROOT)
    after = hashlib.sha256(glance.database.read_bytes()).hexdigest()
    records = {p.stem: json.loads(p.read_text()) for p in (out / "records").glob("*.json")}
    return api, made, out, ran, records, before == after


def test_the_export_runs_read_only_and_says_what_it_did(exported):
    api, made, out, ran, records, untouched = exported
    assert ran.returncode == 0, ran.stderr
    assert untouched
    summary = ran.stderr.strip().splitlines()[-1]
    assert summary.startswith("exported ") and "revision 2024_1_contract01 (layout train, read as 2.3)" in summary
    report = json.loads((out / "export-report.json").read_text())
    assert report["counts"]["images"] == len(records) >= 5
    assert report["counts"]["deleted_property_rows"] >= 1 and report["counts"]["deleted_tag_rows"] >= 1
    # nothing skipped silently: Glance's tables outside the format are listed with their row counts
    assert {"tasks", "task_info", "metadef_namespaces", "metadef_objects", "metadef_properties",
            "metadef_resource_types", "metadef_tags", "cached_images", "node_reference"} <= set(
        report["not_in_the_format"]["tables"])
    assert set(made.values()) <= set(records)


def test_every_exported_record_validates(exported, spec):
    api, made, out, ran, records, _ = exported
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format_version"] == spec.latest_released
    assert validation.errors(manifest, "store", spec.latest_released, spec=spec) == []
    for name, record in records.items():
        assert validation.errors(record, "image", spec.latest_released, spec=spec) == [], name
    ran = subprocess.run([sys.executable, "-m", "imgspec", "validate", str(out)], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stdout


def test_each_record_agrees_with_the_api_field_by_field(exported, spec):
    """For every field the binding reads, the record and the API answer agree (through the mapping file)."""
    api, made, out, ran, records, _ = exported
    live = [i for i in made.values() if not records[i]["deleted"]]  # images no other test touches
    assert len(live) == 4
    for image_id in live:
        assert disagreements(api, records[image_id], spec) == []


def test_the_states_the_api_cannot_show_are_in_the_records(exported):
    api, made, out, ran, records, _ = exported
    full = records[made["full"]]
    assert full["properties"]["os_distro"] == "cirros" and full["properties"]["os_version"] == "0.6"
    assert "hw_disk_bus" not in full["properties"]  # removed: its row is soft-deleted
    assert sorted(full["tags"]) == ["alpha", "beta"]  # gamma was removed; Glance stores a set, in no order
    assert [x["metadata"]["store"] for x in full["locations"]] == ["fs", "fs2"]
    states = {m["member"]: (m["status"], m["deleted"]) for m in full["members"]}
    assert states == {MEMBERS["pending"]: ("pending", False), MEMBERS["accepted"]: ("accepted", False),
                      MEMBERS["rejected"]: ("rejected", False), MEMBERS["removed"]: ("pending", True)}
    gone = records[made["deleted"]]
    api("GET", f"/v2/images/{made['deleted']}", expect=404)
    assert gone["deleted"] is True and gone["deleted_at"] and gone["status"] == "deleted"
    assert gone["locations"] and all(x["deleted"] and x["status"] == "deleted" for x in gone["locations"])
    assert records[made["deactivated"]]["status"] == "deactivated"
    queued = records[made["queued"]]
    assert (queued["name"], queued["size"], queued["checksum"], queued["locations"]) == (None, None, None, [])
    hidden = records[made["hidden"]]
    assert (hidden["visibility"], hidden["os_hidden"], hidden["protected"]) == ("community", True, True)
    for record in records.values():  # written as the newest released version: no draft field
        assert all("site" not in x for x in record["locations"])


def test_an_export_to_the_newest_release_equals_an_upgrade_of_it(exported, glance, tmp_path, spec):
    """Export as the newest release, then upgrade-store to the draft: the same records as exporting to it directly."""
    from imgspec.sql.export import export
    from imgspec.store.upgrade import upgrade_store
    db = tmp_path / "snapshot.sqlite"  # a copy: the server may write its own meanwhile
    db.write_bytes(glance.database.read_bytes())
    older, newest = tmp_path / "older", tmp_path / "newest"
    summary = export(f"sqlite:///{db}", older, to=spec.latest_released, durable=False)
    assert summary.target == spec.latest_released
    upgrade_store(older, spec.latest, durable=False)  # on to the draft, named
    export(f"sqlite:///{db}", newest, to=spec.latest, durable=False)
    names = sorted(p.name for p in (newest / "records").glob("*.json"))
    assert names == sorted(p.name for p in (older / "records").glob("*.json")) and len(names) >= 5
    for name in names:
        assert json.loads((newest / "records" / name).read_text()) == json.loads((older / "records" / name).read_text())


# -- delayed_delete: a deleted image waits for the scrubber, and so must its record ----------------------------

def test_delayed_delete_exports_pending_delete_and_keeps_it_through_every_upgrade(glance_delayed, tmp_path, spec):
    """With delayed_delete, Glance marks a deleted image and its locations pending_delete (the locations also
    soft-deleted); the scrubber deletes data only of pending_delete locations (glance/db/sqlalchemy/api.py,
    glance/scrubber.py). The record must say pending_delete at every version, or the data leaks."""
    from imgspec.sql.export import export
    from imgspec.store.upgrade import upgrade_store
    api = Api(glance_delayed.url)
    image = api.create(name="delayed", disk_format="raw", container_format="bare")
    api.upload(image)
    api("DELETE", f"/v2/images/{image}", expect=204)
    api("GET", f"/v2/images/{image}", expect=404)  # gone for the API, waiting for the scrubber
    db = tmp_path / "snapshot.sqlite"
    db.write_bytes(glance_delayed.database.read_bytes())
    native = sqlbinding.load(spec).native_for_layout("train")
    exports = {}
    for target in spec.versions[spec.versions.index(native):]:
        export(f"sqlite:///{db}", tmp_path / target, to=target, durable=False)
        exports[target] = record = json.loads((tmp_path / target / "records" / f"{image}.json").read_text())
        assert (record["status"], record["deleted"]) == ("pending_delete", True), target
        assert record["locations"] and all((x["status"], x["deleted"]) == ("pending_delete", True)
                                           for x in record["locations"]), target
    upgrade_store(tmp_path / native, spec.latest, durable=False)  # the other path: export, then upgrade the store
    upgraded = json.loads((tmp_path / native / "records" / f"{image}.json").read_text())
    assert upgraded == exports[spec.latest]


def test_a_shared_image_made_private_keeps_its_member_rows(glance, tmp_path, spec):
    """Glance keeps the member rows of an image made private (glance/domain/__init__.py, glance/db/utils.py); the
    API only stops showing them (403). The record keeps them too, and made shared again the image has them back."""
    from imgspec.sql.export import export
    api = Api(glance.url)
    image = api.create(name="made-private", disk_format="raw", container_format="bare", visibility="shared")
    answers = {MEMBERS["accepted"]: "accepted", MEMBERS["rejected"]: "rejected"}
    for project, status in answers.items():
        api("POST", f"/v2/images/{image}/members", {"member": project}, expect=200)
        api("PUT", f"/v2/images/{image}/members/{project}", {"status": status}, project=project, expect=200)
    api.patch(image, [{"op": "replace", "path": "/visibility", "value": "private"}])
    assert api("GET", f"/v2/images/{image}/members").status == 403  # "Only shared images have members"
    db = tmp_path / "snapshot.sqlite"
    db.write_bytes(glance.database.read_bytes())
    export(f"sqlite:///{db}", tmp_path / "out", durable=False)
    record = json.loads((tmp_path / "out" / "records" / f"{image}.json").read_text())
    assert record["visibility"] == "private"
    assert {m["member"]: (m["status"], m["deleted"]) for m in record["members"]} == {
        project: (status, False) for project, status in answers.items()}
    api.patch(image, [{"op": "replace", "path": "/visibility", "value": "shared"}])
    served = api("GET", f"/v2/images/{image}/members", expect=200)["members"]
    assert {s["member_id"]: s["status"] for s in served} == answers
