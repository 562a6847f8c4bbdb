"""The relational binding: its data file, databases built from its documented DDL, and export-sql's refusals."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

from imgspec.format import validation
from imgspec.problems import ProblemError
from imgspec.spec import Spec
from imgspec.sql import binding as sqlbinding
from imgspec.sql.export import export
from imgspec.store.upgrade import upgrade_store

BINDING = sqlbinding.load(Spec(ROOT))
LAYOUTS = list(BINDING.layouts)
T0, T1, T2 = "2012-03-01 10:00:00", "2012-03-02 11:30:00.250000", "2013-01-05 08:00:00"
UUID = "6c1b2a3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "imgspec", *args], capture_output=True, text=True, cwd=ROOT)


def build_db(path: Path, layout: str, revision: str | None = None) -> sqlite3.Connection:
    """A database made from the DDL the binding page shows, stamped with a revision of the layout."""
    lay = BINDING.layouts[layout]
    db = sqlite3.connect(path)
    db.executescript(lay.ddl())
    rev = lay.revision
    value = revision or rev["values"][-1]
    if rev["table"] == "migrate_version":
        db.execute("INSERT INTO migrate_version VALUES ('Glance Migrations', '/glance/migrate_repo', ?)", (int(value),))
    else:
        db.execute("INSERT INTO alembic_version VALUES (?)", (value,))
    db.commit()
    return db


def insert(db: sqlite3.Connection, table: str, layout: str, **values):
    """Insert the values whose column the layout's table has (the rest belong to other layouts)."""
    cols = [c.name for c in BINDING.layouts[layout].tables[table].columns if c.name in values]
    db.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
               [values[c] for c in cols])


def test_the_binding_file_is_complete():
    """Every version is bound; every field of every bound object has a column; every column is bound or explained."""
    assert BINDING.problems() == []
    assert set(BINDING.bindings) == set(validation.Spec(ROOT).versions)
    for version in BINDING.bindings:
        native = BINDING.native(version)
        assert BINDING.unbound(version), version
        assert all(BINDING.unbound(version).values())
        for obj in BINDING.objects(native):
            assert len(BINDING.fields(obj, native)) >= 6


def test_the_checks_catch_a_broken_binding(spec_copy):
    path = spec_copy.schemas / "bindings" / "glance-sql.json"
    data = json.loads(path.read_text())
    image = data["objects"]["image"]["fields"]
    data["objects"]["image"]["fields"] = [f for f in image if f["field"] != "owner"]
    del data["unbound"]["image_tags.id"]
    data["objects"]["member"]["fields"][0]["column"] = "membr"
    derived = [f for f in image if f["field"] == "virtual_size" and "rules" in f][0]
    derived["rules"] = ["1.0-2.0#/rules/3", "1.0-2.0#/rules/99"]
    data["windows"][0]["layout"] = "caracal"
    path.write_text(json.dumps(data))
    lines = [str(p) for p in sqlbinding.Binding(spec_copy).problems()]
    assert "schemas/bindings/glance-sql.json: /windows/0/layout: unknown-layout: no layout 'caracal'" in lines
    assert ("schemas/bindings/glance-sql.json: /objects/image/fields: unbound-field: "
            "1.0 image field 'owner' has no binding") in lines
    assert any("unexplained-column: image_tags.id of layout liberty gives no 2.0 field" in x for x in lines)
    assert any("unknown-column: 2.2 binds member.member to image_members.membr" in x for x in lines)
    assert any("/rules/0: rule-field: 1.0-2.0#/rules/3 does not set /virtual_size" in x for x in lines)
    assert any("/rules/1: unknown-rule: 1.0-2.0#/rules/99: step 1.0-2.0 has no rule at /rules/99" in x for x in lines)
    checked = run_cli("check", "--root", str(spec_copy.root))
    assert checked.returncode == 1 and lines[0] in checked.stdout.splitlines()
    data["layouts"][0]["revision"]["table"] = "flyway_schema_history"
    path.write_text(json.dumps(data))
    with pytest.raises(ProblemError) as exc:
        sqlbinding.Binding(spec_copy)
    assert str(exc.value).startswith("schemas/bindings/glance-sql.json: /layouts/0/revision/table: enum: ")


def test_a_window_names_exactly_two_heads(spec_copy):
    """A rolling-upgrade window is the two alembic heads between expand and contract: three is no window."""
    path = spec_copy.schemas / "bindings" / "glance-sql.json"
    data = json.loads(path.read_text())
    data["windows"][0]["heads"].append("2025_1_expand01")
    path.write_text(json.dumps(data))
    with pytest.raises(ProblemError) as exc:
        sqlbinding.Binding(spec_copy)
    assert str(exc.value).startswith("schemas/bindings/glance-sql.json: /windows/0/heads: maxItems: "), str(exc.value)


def test_the_layouts_follow_glances_history():
    """Each layout differs from the one before it exactly as the migrations say (facts: shared reference)."""
    def cols(name, table):
        return {c.name for c in BINDING.layouts[name].tables[table].columns}
    assert {"is_public", "location"} <= cols("migrate-013", "images")
    assert "image_tags" not in BINDING.layouts["migrate-013"].tables
    assert cols("liberty", "images") - cols("migrate-013", "images") == {"virtual_size"}
    assert cols("migrate-013", "images") - cols("liberty", "images") == {"location"}
    assert cols("ocata", "images") ^ cols("liberty", "images") == {"is_public", "visibility"}
    assert cols("rocky", "images") - cols("ocata", "images") == {"os_hidden", "os_hash_algo", "os_hash_value"}
    assert BINDING.layouts["migrate-013"].tables["images"].column("protected").null
    assert not BINDING.layouts["liberty"].tables["images"].column("protected").null
    assert BINDING.layouts["rocky"].revision["values"] == ["rocky_contract02"]  # Rocky and Stein: `backend`
    assert "2024_1_contract01" in BINDING.layouts["train"].revision["values"]  # Train on: `store` (train_migrate01)
    assert BINDING.layouts["train"].columns() == BINDING.layouts["rocky"].columns()
    assert (BINDING.native_for_layout("rocky"), BINDING.native_for_layout("train")) == ("2.2", "2.3")

    def all_cols(name):
        return {f"{t.name}.{c.name}:{c.type}" for t in BINDING.layouts[name].tables.values() for c in t.columns}
    # sqlalchemy-migrate, one layout per change of the image tables (glance/db/sqlalchemy/migrate_repo/versions)
    chain = [("migrate-013", "migrate-014", {"image_tags"}, set()),                        # 014_add_image_tags_table
             ("migrate-014", "migrate-016", {"image_members.status:VARCHAR(20)"}, set()),  # 016_add_status_image_member
             ("migrate-016", "migrate-018", {"image_locations"}, set()),                   # 018_add_image_locations_table
             ("migrate-018", "migrate-019", set(), set()),                                 # 019 copies rows only
             ("migrate-019", "migrate-020", set(), {"images.location:TEXT"}),              # 020_drop_images_table_location
             ("migrate-020", "migrate-026", {"image_locations.meta_data:BLOB"}, set()),    # 026 (PickleType)
             ("migrate-026", "migrate-029", {"image_locations.meta_data:TEXT"}, {"image_locations.meta_data:BLOB"}),
             ("migrate-029", "migrate-033", {"image_locations.status:VARCHAR(30)"}, set()),  # 033_add_location_status
             ("migrate-033", "migrate-034", {"images.virtual_size:BIGINT"}, set())]        # 034_add_virtual_size
    for old, new, added, dropped in chain:
        plus, minus = all_cols(new) - all_cols(old), all_cols(old) - all_cols(new)
        assert {x if not x.startswith(tuple(a + "." for a in added)) else x.split(".")[0] for x in plus} == added, new
        assert minus == dropped, new
    assert all_cols("migrate-034") == all_cols("liberty")  # the alembic baseline is sqlalchemy-migrate's end
    assert all_cols("migrate-045") == all_cols("ocata")
    assert all_cols("rocky") - all_cols("rocky-contract01") == {"images.os_hash_algo:VARCHAR(64)",
                                                                 "images.os_hash_value:VARCHAR(128)"}


# -- one database per layout, from the documented DDL ---------------------------------------------

# {'store': 'fs'} as Glance on Python 2 pickled it into image_locations.meta_data (migrations 026 to 028)
PY2_PICKLE = b"(dp0\nS'store'\np1\nS'fs'\np2\ns."


def has_location_rows(layout: str) -> bool:
    """Whether the layout keeps locations in image_locations rows (018 has the table, still empty)."""
    return "image_locations" in BINDING.layouts[layout].tables and not BINDING.by_layout[layout].get("empty")


def fill(db, layout):
    """One image with a row in every table of the layout, and one soft-deleted row of each kind."""
    insert(db, "images", layout, id=UUID, name="cirros", disk_format="qcow2", container_format="bare", size=1024,
           status="active", is_public=1, visibility="public", location="swift+https://store/v1/x", checksum="0" * 32,
           owner="p1", min_disk=1, min_ram=64, protected=0, created_at=T0, updated_at=T1, deleted=0,
           virtual_size=2048, os_hidden=1, os_hash_algo="sha512", os_hash_value="ab" * 64)
    insert(db, "image_properties", layout, id=1, image_id=UUID, name="os_distro", value="cirros", created_at=T0, deleted=0)
    insert(db, "image_properties", layout, id=2, image_id=UUID, name="gone", value="x", created_at=T0, deleted=1,
           deleted_at=T1)
    insert(db, "image_members", layout, id=1, image_id=UUID, member="p2", can_share=1, status="accepted",
           created_at=T0, deleted=0)
    insert(db, "image_members", layout, id=2, image_id=UUID, member="p3", can_share=0, status="pending",
           created_at=T1, deleted=1, deleted_at=T2)
    if has_location_rows(layout):
        meta = PY2_PICKLE if layout == "migrate-026" else '{"store": "fs"}'
        insert(db, "image_locations", layout, id=1, image_id=UUID, value="file:///a", meta_data=meta,
               status="active", created_at=T0, deleted=0)
        insert(db, "image_locations", layout, id=2, image_id=UUID, value="file:///b", meta_data=None,
               status="deleted", created_at=T1, deleted=1, deleted_at=T2)
    if "image_tags" in BINDING.layouts[layout].tables:
        for i, (tag, deleted) in enumerate([("b", 0), ("a", 0), ("b", 0), ("old", 1)], 1):
            insert(db, "image_tags", layout, id=i, image_id=UUID, value=tag, created_at=f"2012-03-0{i} 00:00:00",
                   deleted=deleted)
    db.commit()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_exports_field_by_field(tmp_path, layout, spec):
    db = build_db(tmp_path / "glance.sqlite", layout)
    fill(db, layout)
    native = BINDING.native_for_layout(layout)
    summary = export(f"sqlite:///{tmp_path / 'glance.sqlite'}", tmp_path / "out", to=native, durable=False)
    assert (summary.layout, summary.read_as, summary.target) == (layout, native, native)
    record = json.loads((tmp_path / "out" / "records" / f"{UUID}.json").read_text())
    assert validation.errors(record, "image", native, spec=spec) == []
    row = dict(zip([d[0] for d in db.execute("SELECT * FROM images").description],
                   db.execute("SELECT * FROM images").fetchone(), strict=True))
    checked = set()
    for f in BINDING.fields("image", native, layout):  # every column-bound field equals its column, converted
        if "column" not in f or "rules" in f:
            continue
        raw = row[f["column"]]
        kind = BINDING.layouts[layout].tables["images"].column(f["column"]).type
        want = bool(raw) if kind == "BOOLEAN" else raw
        if kind == "DATETIME" and raw is not None:
            want = raw.replace(" ", "T") + "Z"
        if "values" in f:
            want = f["values"][json.dumps(want)]
        assert record[f["field"]] == want, f["field"]
        checked.add(f["field"])
    assert {"id", "name", "status", "protected", "owner", "size", "created_at", "updated_at"} <= checked
    assert record["format_version"] == native
    assert record["properties"] == {"os_distro": "cirros"}  # the deleted property row is history
    assert [(m["member"], m["deleted"]) for m in record["members"]] == [("p2", False), ("p3", True)]
    assert record["members"][1]["deleted_at"] == "2013-01-05T08:00:00Z"
    if "tags" in record:
        assert record["tags"] == ["b", "a"]  # oldest first, once each, deleted tags left out
        assert summary.counts["deleted_tag_rows"] == 1
    if "locations" in record and has_location_rows(layout):
        assert [x["url"] for x in record["locations"]] == ["file:///a", "file:///b"]
        lay = BINDING.layouts[layout].tables["image_locations"]
        assert [x["metadata"] for x in record["locations"]] == ([{"store": "fs"}, {}] if lay.column("meta_data") else [{}, {}])
        # before migration 033 a location's status is the one 033 derived from the image's status
        assert [x["status"] for x in record["locations"]] == (["active", "deleted"] if lay.column("status")
                                                              else ["active", "active"])
    elif "locations" in record:  # before migration 019: the image's one location, as 019 copied it
        assert record["locations"] == [{"url": "swift+https://store/v1/x", "metadata": {}, "status": "active",
                                        "created_at": "2012-03-01T10:00:00Z", "updated_at": "2012-03-02T11:30:00.250000Z",
                                        "deleted": False, "deleted_at": None}]
    else:
        assert record["location"] == "swift+https://store/v1/x"
    assert summary.counts["deleted_property_rows"] == 1 and summary.counts["images"] == 1
    newest = export(f"sqlite:///{tmp_path / 'glance.sqlite'}", tmp_path / "newest", durable=False)
    assert newest.target == spec.latest_released  # writers write released versions by default
    upgraded = json.loads((tmp_path / "newest" / "records" / f"{UUID}.json").read_text())
    assert validation.errors(upgraded, "image", spec.latest_released, spec=spec) == []


def test_a_1x_database_exports_as_1_0_and_upgrades_to_the_newest(tmp_path, spec):
    """The 1.x layout built from the documented DDL, exported as 1.0 records, then upgraded in place."""
    db = build_db(tmp_path / "glance.sqlite", "migrate-013")
    lay = "migrate-013"
    public, shared, deleted, queued = (f"00000000-0000-4000-8000-00000000000{i}" for i in range(1, 5))
    insert(db, "images", lay, id=public, name="ubuntu", disk_format="qcow2", container_format="bare", size=10,
           status="active", is_public=1, location="swift+https://s/v1/a", checksum="1" * 32, owner="p1",
           min_disk=0, min_ram=0, protected=None, created_at=T0, updated_at=None, deleted=0)
    insert(db, "images", lay, id=shared, name="private with a member", disk_format="raw", container_format="bare",
           size=5, status="active", is_public=0, location="file:///v/b", owner="p1", min_disk=0, min_ram=0,
           protected=1, created_at=T1, deleted=0)
    insert(db, "images", lay, id=deleted, name="gone", status="deleted", is_public=0, location=None, owner="p1",
           min_disk=0, min_ram=0, protected=0, created_at=T0, updated_at=T2, deleted=1, deleted_at=T2)
    insert(db, "images", lay, id=queued, name=None, status="queued", is_public=0, min_disk=0, min_ram=0,
           created_at=T2, deleted=0)
    insert(db, "image_members", lay, id=1, image_id=shared, member="p2", can_share=1, created_at=T1, deleted=0)
    insert(db, "image_properties", lay, id=1, image_id=public, name="os_distro", value="ubuntu", created_at=T0, deleted=0)
    insert(db, "image_properties", lay, id=2, image_id=public, name="empty", value=None, created_at=T0, deleted=0)
    db.commit()
    before = hashlib.sha256((tmp_path / "glance.sqlite").read_bytes()).hexdigest()
    ran = run_cli("export-sql", f"sqlite:///{tmp_path / 'glance.sqlite'}", str(tmp_path / "store"), "--to", "1.0")
    assert ran.returncode == 0, ran.stderr
    assert "exported 4 images (1 deleted)" in ran.stderr and "(layout migrate-013, read as 1.0), as format 1.0:" in ran.stderr
    assert hashlib.sha256((tmp_path / "glance.sqlite").read_bytes()).hexdigest() == before  # read-only
    store = tmp_path / "store"
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["format_version"] == "1.0" and manifest["generator"].endswith("migrate_version 13")
    records = {p.stem: json.loads(p.read_text()) for p in (store / "records").glob("*.json")}
    assert set(records) == {public, shared, deleted, queued}
    for rec in records.values():
        assert validation.errors(rec, "image", "1.0", spec=spec) == []
    assert records[public]["protected"] is False  # NULL read as Glance's default
    assert records[public]["properties"] == {"os_distro": "ubuntu", "empty": None}  # NULL stays null
    assert records[public]["created_at"] == "2012-03-01T10:00:00Z" and records[public]["updated_at"] is None
    assert records[shared]["created_at"] == "2012-03-02T11:30:00.250000Z"
    assert records[queued]["name"] is None and records[queued]["location"] is None
    assert records[deleted]["deleted"] is True and records[deleted]["deleted_at"] == "2013-01-05T08:00:00Z"
    assert run_cli("validate", str(store)).returncode == 0
    outcome = upgrade_store(store, durable=False)
    assert (outcome.source, outcome.target, outcome.upgraded) == ("1.0", spec.latest_released, 4)
    ran = run_cli("validate", str(store))  # the store, not the reports beside its records
    assert ran.returncode == 0 and "5 record(s) checked" in ran.stderr, ran.stdout + ran.stderr
    after = {p.stem: json.loads(p.read_text()) for p in (store / "records").glob("*.json")}
    for rec in after.values():
        assert validation.errors(rec, "image", spec.latest_released, spec=spec) == []
    assert after[public]["visibility"] == "public"
    assert after[shared]["visibility"] == "shared"  # private with a live member, as Ocata's migration did
    assert after[queued]["visibility"] == "private"
    assert [x["url"] for x in after[public]["locations"]] == ["swift+https://s/v1/a"]
    assert after[queued]["locations"] == []
    direct = tmp_path / "direct"
    export(f"sqlite:///{tmp_path / 'glance.sqlite'}", direct, durable=False)
    for name, rec in after.items():  # exporting straight to the newest equals exporting 1.0, then upgrading
        assert json.loads((direct / "records" / f"{name}.json").read_text()) == rec


# -- refusals: one line each, nothing written, the database untouched -------------------------------

def refused(tmp_path, *extra):
    ran = run_cli("export-sql", f"sqlite:///{tmp_path / 'glance.sqlite'}", str(tmp_path / "out"), *extra)
    assert ran.returncode in (1, 2), ran.stderr
    assert "Traceback" not in ran.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert not [p for p in tmp_path.iterdir() if ".export-" in p.name]
    return ran.returncode, ran.stderr.strip().splitlines()


def test_a_rolling_upgrade_window_the_binding_names_is_read_as_its_layout(tmp_path, spec):
    """2023.2's contract head beside 2024.1's expand head (glance-manage db expand of 2024.1 over 2023.2) reads as
    train: the window changes no table the layout binds (tests/test_rolling_upgrade.py runs it for real)."""
    db = build_db(tmp_path / "glance.sqlite", "train", "2023_1_contract01")
    db.execute("INSERT INTO alembic_version VALUES ('2024_1_expand01')")
    db.commit()
    fill(db, "train")
    summary = export(f"sqlite:///{tmp_path / 'glance.sqlite'}", tmp_path / "out", durable=False)
    assert (summary.revision, summary.layout, summary.counts["images"]) == ("2023_1_contract01 + 2024_1_expand01",
                                                                            "train", 1)
    shutil.rmtree(tmp_path / "out")
    db.execute("ALTER TABLE images ADD COLUMN sneaked TEXT")  # an expand that did change a bound table
    db.commit()
    code, lines = refused(tmp_path)
    assert code == 2 and len(lines) == 1 and "layout-mismatch" in lines[0] and "sneaked" in lines[0], lines


def test_an_unknown_revision_is_refused(tmp_path):
    build_db(tmp_path / "glance.sqlite", "rocky", "2031_1_contract01")
    code, lines = refused(tmp_path)
    assert code == 2 and len(lines) == 1
    assert "/alembic_version/version_num: unknown-revision: revision '2031_1_contract01' is not one the binding knows" in lines[0]


def test_a_rolling_upgrade_is_refused(tmp_path):
    db = build_db(tmp_path / "glance.sqlite", "rocky")
    db.execute("INSERT INTO alembic_version VALUES ('2024_1_expand01')")
    db.commit()
    code, lines = refused(tmp_path)
    assert code == 2 and "rolling-upgrade: alembic_version holds 2 heads" in lines[0] and "rolling upgrade" in lines[0]


def test_a_database_without_a_revision_is_refused(tmp_path):
    sqlite3.connect(tmp_path / "glance.sqlite").execute("CREATE TABLE images (id TEXT)")
    code, lines = refused(tmp_path)
    assert code == 2 and "unknown-revision: neither alembic_version nor migrate_version exists" in lines[0]


def test_columns_the_layout_does_not_name_are_refused(tmp_path):
    db = build_db(tmp_path / "glance.sqlite", "rocky")
    db.execute("ALTER TABLE images ADD COLUMN site VARCHAR(64)")
    db.commit()
    code, lines = refused(tmp_path)
    assert code == 2
    assert lines[0].endswith("/images: layout-mismatch: images: not in the layout site (their data would be lost); "
                             "alembic_version rocky_contract02 names layout rocky")


def test_an_older_target_than_the_layout_is_refused(tmp_path):
    build_db(tmp_path / "glance.sqlite", "rocky")
    code, lines = refused(tmp_path, "--to", "2.0")
    assert code == 2 and "downgrade-refused: layout rocky holds format 2.2 records" in lines[0]


def test_a_missing_database_is_one_line_and_is_not_created(tmp_path):
    code, lines = refused(tmp_path)
    assert code == 2 and "unusable-database: no SQLite database file" in lines[0]
    assert not (tmp_path / "glance.sqlite").exists()
    ran = run_cli("export-sql", "not a url", str(tmp_path / "out"))
    assert ran.returncode == 2 and "unusable-database: not a database URL" in ran.stderr


def test_a_non_empty_out_dir_is_refused_and_kept(tmp_path):
    build_db(tmp_path / "glance.sqlite", "rocky")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep me")
    ran = run_cli("export-sql", f"sqlite:///{tmp_path / 'glance.sqlite'}", str(tmp_path / "out"))
    assert ran.returncode == 2 and "out-not-empty" in ran.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["mine.txt"]


def test_bad_rows_fail_a_strict_export_naming_image_and_pointer(tmp_path):
    """--strict: all or nothing, every problem named, nothing written."""
    db = build_db(tmp_path / "glance.sqlite", "rocky")
    fill(db, "rocky")
    db.execute("UPDATE image_locations SET meta_data = '{\"store\": \"a\", \"store\": \"b\"}' WHERE id = 1")
    db.execute("UPDATE images SET name = ? WHERE id = ?", ("n" * 256, UUID))
    db.commit()
    code, lines = refused(tmp_path, "--strict")
    assert code == 1
    assert lines == [f"sqlite:///{tmp_path / 'glance.sqlite'}#images/{UUID}: /locations/0/metadata/store: "
                     "duplicate-key: image_locations.meta_data: key 'store' appears more than once in one object"], lines
    db.execute("UPDATE image_locations SET meta_data = '[1]' WHERE id = 1")
    db.commit()
    code, lines = refused(tmp_path, "--strict")
    assert lines == [f"sqlite:///{tmp_path / 'glance.sqlite'}#images/{UUID}: /locations/0/metadata: type: "
                     "image_locations.meta_data holds list JSON, not an object"]
    db.execute("UPDATE image_locations SET meta_data = '{}' WHERE id = 1")
    db.commit()
    db.close()
    before = hashlib.sha256((tmp_path / "glance.sqlite").read_bytes()).hexdigest()
    code, lines = refused(tmp_path, "--strict")
    assert code == 1 and lines[0].startswith(f"sqlite:///{tmp_path / 'glance.sqlite'}#images/{UUID}: /name: maxLength: ")
    assert hashlib.sha256((tmp_path / "glance.sqlite").read_bytes()).hexdigest() == before


def test_an_export_refuses_only_the_images_whose_rows_make_no_record(tmp_path):
    """Without --strict, one bad image does not cost the others: every readable image is exported, the bad one
    is written to refused/ with its problems and its rows exactly as the database holds them, the report counts
    it, and the command exits 1 saying so in one line."""
    db = build_db(tmp_path / "glance.sqlite", "rocky")
    fill(db, "rocky")
    for i in range(3):  # three good images beside the bad one
        insert(db, "images", "rocky", id=f"00000000-0000-4000-8000-00000000000{i}", status="queued", min_disk=0,
               min_ram=0, protected=0, created_at=T0, deleted=0, visibility="shared", os_hidden=0)
    db.execute("UPDATE images SET name = ? WHERE id = ?", ("n" * 256, UUID))
    db.execute("UPDATE image_locations SET meta_data = ? WHERE image_id = ?", ('{"store": "a", "store": "b"}', UUID))
    db.commit()
    total = db.execute("SELECT count(*) FROM images").fetchone()[0]
    db.close()
    before = hashlib.sha256((tmp_path / "glance.sqlite").read_bytes()).hexdigest()
    ran = run_cli("export-sql", f"sqlite:///{tmp_path / 'glance.sqlite'}", str(tmp_path / "out"))
    assert ran.returncode == 1 and "Traceback" not in ran.stderr
    last = ran.stderr.strip().splitlines()[-1]
    assert "1 image(s) refused" in last and f"{total - 1} exported" in last, ran.stderr
    out = tmp_path / "out"
    assert sorted(p.stem for p in (out / "records").glob("*.json")) != [] and UUID not in {
        p.stem for p in (out / "records").glob("*.json")}
    assert len(list((out / "records").glob("*.json"))) == total - 1
    refusal = json.loads((out / "refused" / f"{UUID}.json").read_text())
    assert refusal["image_id"] == UUID and refusal["rows"]["images"][0]["name"] == "n" * 256
    assert {(p["pointer"], p["rule"]) for p in refusal["problems"]} >= {("/locations/0/metadata/store", "duplicate-key")}
    assert refusal["rows"]["image_locations"][0]["meta_data"] == '{"store": "a", "store": "b"}'  # as held, not parsed
    report = json.loads((out / "export-report.json").read_text())
    assert report["counts"]["refused_images"] == 1 and report["counts"]["images"] == total - 1
    assert hashlib.sha256((tmp_path / "glance.sqlite").read_bytes()).hexdigest() == before
    valid = run_cli("validate", str(out))
    assert valid.returncode == 0, valid.stdout  # the store itself holds only valid records


def queued_images(path: Path, count: int) -> None:
    """A current-layout database with ``count`` images that have no data yet."""
    db = build_db(path, "rocky")
    for i in range(count):
        insert(db, "images", "rocky", id=f"00000000-0000-4000-8000-00000000000{i}", status="queued", min_disk=0,
               min_ram=0, protected=0, created_at=T0, deleted=0, visibility="shared", os_hidden=0)
    db.commit()
    db.close()


def test_progress_is_reported_per_image(tmp_path):
    queued_images(tmp_path / "glance.sqlite", 3)
    seen = []
    export(f"sqlite:///{tmp_path / 'glance.sqlite'}", tmp_path / "out", durable=False,
           progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    report = json.loads((tmp_path / "out" / "export-report.json").read_text())
    assert report["counts"]["images"] == 3 and report["revision"] == {"table": "alembic_version",
                                                                       "value": "rocky_contract02"}


@pytest.mark.parametrize("batch", [1, 2, 500])
def test_images_come_in_batches_in_the_binding_order_each_once(tmp_path, monkeypatch, batch):
    """The ids stream from the database in the binding's image order (created_at, then id), a batch at a time:
    every image is exported once, in that order, whatever the batch size."""
    import imgspec.sql.export as sqlexport
    db = build_db(tmp_path / "glance.sqlite", "rocky")
    made = {}
    for i, minute in enumerate([5, 1, 3, 1, 4, 2, 9]):  # two images at 00:01: their ids break the tie
        image_id = f"00000000-0000-4000-8000-0000000000{(7 - i):02d}"
        made[image_id] = (minute, image_id)
        insert(db, "images", "rocky", id=image_id, status="queued", min_disk=0, min_ram=0, protected=0,
               created_at=f"2026-01-02 03:{minute:02d}:00", deleted=0, visibility="shared", os_hidden=0)
    db.commit()
    db.close()
    monkeypatch.setattr(sqlexport, "BATCH", batch)
    seen = []
    reader = sqlexport._Reader.fetch

    def fetch(self, conn, ids):
        seen.extend(ids)
        return reader(self, conn, ids)
    monkeypatch.setattr(sqlexport._Reader, "fetch", fetch)
    done = []
    export(f"sqlite:///{tmp_path / 'glance.sqlite'}", tmp_path / "out", durable=False,
           progress=lambda n, total: done.append((n, total)))
    assert seen == sorted(made, key=made.get)
    assert done == [(n, 7) for n in range(1, 8)]
    assert sorted(p.stem for p in (tmp_path / "out" / "records").iterdir()) == sorted(made)


def test_the_export_reads_one_snapshot(tmp_path):
    """A writer cannot change the database under a running export (SQLite: the export holds a read transaction)."""
    queued_images(tmp_path / "glance.sqlite", 2)
    writer = sqlite3.connect(tmp_path / "glance.sqlite", timeout=0.1)
    outcomes = []

    def progress(done, total):
        try:
            writer.execute("UPDATE images SET name = 'changed'")
            writer.commit()
            outcomes.append("written")
        except sqlite3.OperationalError as exc:
            writer.rollback()
            outcomes.append(str(exc))

    export(f"sqlite:///{tmp_path / 'glance.sqlite'}", tmp_path / "out", durable=False, progress=progress)
    assert outcomes == ["database is locked", "database is locked"]
    names = [json.loads(p.read_text())["name"] for p in (tmp_path / "out" / "records").glob("*.json")]
    assert names == [None, None]
    writer.execute("UPDATE images SET name = 'changed'")  # once the export is done, writing works again
    writer.commit()


# -- fidelity: what Glance wrote in each era exports as Glance meant it ---------------------------------------

@pytest.mark.parametrize("revision", ["pike01", "pike_contract01", "queens_contract01"])
def test_a_pike_or_queens_database_with_an_import_in_progress_exports(tmp_path, revision):
    """uploading and importing arrived with interoperable image import in Pike (erratum 2.1-E2). A database synced
    offline stops at pike01 (alembic pike01_drop_artifacts_tables, after ocata01): the same image tables."""
    db = build_db(tmp_path / "glance.sqlite", "ocata", revision)
    for n, status in enumerate(("uploading", "importing")):
        insert(db, "images", "ocata", id=f"{n}{UUID[1:]}", name=status, status=status, visibility="shared",
               owner="p1", min_disk=0, min_ram=0, protected=0, created_at=T0, deleted=0)
    db.commit()
    summary = export(f"sqlite:///{tmp_path / 'glance.sqlite'}", tmp_path / "out", durable=False)
    assert (summary.read_as, summary.counts["images"]) == ("2.1", 2)
    statuses = sorted(json.loads(p.read_text())["status"] for p in (tmp_path / "out" / "records").glob("*.json"))
    assert statuses == ["importing", "uploading"]


@pytest.mark.parametrize("layout", ["liberty", "ocata"])
def test_pending_delete_locations_of_a_2_x_database_stay_pending_delete(tmp_path, layout, spec):
    """Under delayed_delete Glance soft-deletes a deleted image's locations and marks them pending_delete; the
    scrubber acts only on pending_delete (glance/db/sqlalchemy/api.py, glance/scrubber.py). Read as 2.0/2.1 and
    upgraded to every later version, they must stay pending_delete, or their data is never scrubbed."""
    db = build_db(tmp_path / "glance.sqlite", layout)
    insert(db, "images", layout, id=UUID, name="gone", status="pending_delete", is_public=0, visibility="private",
           owner="p1", size=1024, checksum="0" * 32, min_disk=0, min_ram=0, protected=0, created_at=T0, updated_at=T1,
           deleted=1, deleted_at=T1)
    insert(db, "image_locations", layout, id=1, image_id=UUID, value="file:///a", meta_data="{}",
           status="pending_delete", created_at=T0, updated_at=T1, deleted=1, deleted_at=T1)
    db.commit()
    native = BINDING.native_for_layout(layout)
    for target in spec.versions[spec.versions.index(native):]:
        out = tmp_path / f"out-{target}"
        export(f"sqlite:///{tmp_path / 'glance.sqlite'}", out, to=target, durable=False)
        record = json.loads((out / "records" / f"{UUID}.json").read_text())
        assert [(x["status"], x["deleted"]) for x in record["locations"]] == [("pending_delete", True)], target
        assert record["status"] == "pending_delete"


def test_tables_outside_the_record_format_are_listed_with_their_rows(tmp_path):
    db = build_db(tmp_path / "glance.sqlite", "rocky")
    fill(db, "rocky")
    db.executescript("CREATE TABLE tasks (id TEXT); INSERT INTO tasks VALUES ('t1'), ('t2');"
                     "CREATE TABLE metadef_namespaces (id INTEGER); CREATE TABLE cached_images (id INTEGER);")
    summary = export(f"sqlite:///{tmp_path / 'glance.sqlite'}", tmp_path / "out", durable=False)
    assert summary.other_tables == {"cached_images": 0, "metadef_namespaces": 0, "tasks": 2}
    assert "tables outside the record format, not exported: cached_images (0 rows), metadef_namespaces (0 rows), " \
           "tasks (2 rows)" in summary.text()
    report = json.loads((tmp_path / "out" / "export-report.json").read_text())
    assert report["not_in_the_format"]["tables"] == summary.other_tables


# -- encrypted location URLs (metadata_encryption_key) ------------------------------------------------------------

KEY = "0123456789abcdef0123456789abcdef"  # 32 characters: AES-256, as Glance accepts


def glance_encrypt(key: str, *urls: str) -> list[str]:
    """Encrypt with real Glance's own code (glance/common/crypt.py in .venv-glance), as a deployment does."""
    code = ("import json, sys; from glance.common.crypt import urlsafe_encrypt; "
            "print(json.dumps([urlsafe_encrypt(sys.argv[1], u) for u in sys.argv[2:]]))")
    done = subprocess.run([str(ROOT / ".venv-glance/bin/python"), "-c", code, key, *urls], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("layout", ["migrate-013", "rocky"])
def test_encrypted_location_urls_are_decrypted_with_the_key_and_refused_without(tmp_path, layout):
    db = build_db(tmp_path / "glance.sqlite", layout)
    fill(db, layout)
    urls = ["file:///a", "file:///b"] if layout != "migrate-013" else ["swift+https://store/v1/x"]
    secret = glance_encrypt(KEY, *urls)
    assert all(s != u and ":" not in s for s, u in zip(secret, urls, strict=True))
    if layout == "migrate-013":
        db.execute("UPDATE images SET location = ?", secret)
    else:
        for i, value in enumerate(secret, 1):
            db.execute("UPDATE image_locations SET value = ? WHERE id = ?", (value, i))
    db.commit()
    url = f"sqlite:///{tmp_path / 'glance.sqlite'}"
    code, lines = refused(tmp_path)  # without the key: one line, nothing written, never ciphertext
    assert code == 2 and len(lines) == 1 and "encrypted-location" in lines[0] and "metadata_encryption_key" in lines[0]
    assert not any(s in lines[0] for s in secret)
    wrong = run_cli("export-sql", url, str(tmp_path / "wrong"), "--metadata-encryption-key", "f" * 32)
    assert wrong.returncode == 2 and "decrypt-failed" in wrong.stderr and not (tmp_path / "wrong").exists()
    ran = subprocess.run([sys.executable, "-m", "imgspec", "export-sql", url, str(tmp_path / "out")], capture_output=True,
                         text=True, cwd=ROOT, env={**os.environ, "IMGSPEC_METADATA_ENCRYPTION_KEY": KEY})
    assert ran.returncode == 0, ran.stderr
    record = json.loads((tmp_path / "out" / "records" / f"{UUID}.json").read_text())
    assert [x["url"] for x in record["locations"]] == urls


# -- every revision Glance has had ----------------------------------------------------------------

ALEMBIC_PATH = ["liberty", "mitaka01", "mitaka02", "ocata_expand01", "ocata_contract01", "pike_expand01",
                "pike_contract01", "queens_contract01", "rocky_contract01", "rocky_expand02", "rocky_contract02",
                "train_contract01", "ussuri_contract01", "wallaby_contract01", "xena_contract01", "yoga_contract01",
                "zed_contract01", "2023_1_contract01", "2024_1_contract01"]


@pytest.fixture(scope="module")
def alembic_databases(tmp_path_factory):
    """One SQLite database per step of Glance 33's own alembic migrations (tests/glance/revisions.py)."""
    from glance_live import PYTHON
    out = tmp_path_factory.mktemp("alembic")
    assert PYTHON.exists(), f"{PYTHON} is missing: `make test` builds .venv-glance from requirements-glance.txt"
    ran = subprocess.run([str(PYTHON), str(ROOT / "tests" / "glance" / "revisions.py"), str(out), *ALEMBIC_PATH],
                         capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr[-2000:]
    return out, json.loads(ran.stdout)


def known_revisions(table: str) -> dict[str, str]:
    """revision -> the layout that binds it, or the rule it is refused with."""
    out = {v: lay.name for lay in BINDING.layouts.values() if lay.revision["table"] == table for v in lay.revision["values"]}
    for r in BINDING.data["refused"]:
        if r["table"] == table:
            assert not set(r["values"]) & set(out), r["values"]
            out.update(dict.fromkeys(r["values"], r["rule"]))
    return out


def test_every_alembic_revision_of_glance_33_is_bound_or_refused_with_a_reason(alembic_databases):
    _, found = alembic_databases
    known = known_revisions("alembic_version")
    assert len(found["revisions"]) >= 29
    assert sorted(set(found["revisions"]) - set(known)) == []
    # a single row is what Glance leaves: each contract revision alone; an expand revision only beside one
    for target, heads in found["heads"].items():
        if "expand" in target and target != "ocata_expand01":
            assert len(heads) == 2 and known[target] == "rolling-upgrade", (target, heads)
        else:
            assert heads == [target], (target, heads)


def test_every_sqlalchemy_migrate_version_is_bound_or_refused():
    known = known_revisions("migrate_version")
    assert sorted(map(int, known)) == list(range(0, 46))  # 045 was the last sqlalchemy-migrate revision
    assert {known[str(v)] for v in range(14, 45)} >= {"migrate-014", "migrate-020", "migrate-034"}
    assert all(not known[str(v)].endswith(("upgrade", "revision")) for v in range(13, 46))


@pytest.mark.parametrize("revision", ALEMBIC_PATH)
def test_a_database_made_by_glances_own_migrations_exports(alembic_databases, tmp_path, revision, spec):
    """Glance's alembic made these tables: the binding names exactly their columns, and a row exports validly."""
    made, found = alembic_databases
    path = tmp_path / "glance.sqlite"
    path.write_bytes((made / f"{revision}.sqlite").read_bytes())
    known = known_revisions("alembic_version")
    if len(found["heads"][revision]) > 1 or known[revision] == "rolling-upgrade":
        code, lines = refused(tmp_path)
        assert code == 2 and len(lines) == 1 and ": rolling-upgrade: " in lines[0], lines
        return
    layout = known[revision]
    db = sqlite3.connect(path)
    fill(db, layout)
    native = BINDING.native_for_layout(layout)
    summary = export(f"sqlite:///{path}", tmp_path / "out", to=native, durable=False)
    assert (summary.revision, summary.layout, summary.counts["images"]) == (revision, layout, 1)
    record = json.loads((tmp_path / "out" / "records" / f"{UUID}.json").read_text())
    assert validation.errors(record, "image", native, spec=spec) == []
    assert record["members"][0]["status"] == "accepted" and record["properties"] == {"os_distro": "cirros"}


@pytest.mark.parametrize(("revision", "rule", "words"), [
    ("7", "unknown-revision", "before migration 013"),
    ("ocata_expand01", "rolling-upgrade", "ocata_migrate01"),
    ("rocky_expand02", "rolling-upgrade", "expand branch"),
])
def test_a_revision_the_binding_refuses_says_why(tmp_path, revision, rule, words):
    build_db(tmp_path / "glance.sqlite", "migrate-013" if revision.isdigit() else "rocky", revision)
    code, lines = refused(tmp_path)
    assert code == 2 and len(lines) == 1
    assert f": {rule}: revision {revision!r}: " in lines[0] and words in lines[0], lines


def test_at_migration_018_locations_are_still_in_the_images_table(tmp_path, spec):
    """018 creates image_locations empty and 019 fills it: rows there at 018 are refused, not guessed at."""
    db = build_db(tmp_path / "glance.sqlite", "migrate-018")
    fill(db, "migrate-018")
    insert(db, "image_locations", "migrate-018", id=1, image_id=UUID, value="file:///a", created_at=T0, deleted=0)
    db.commit()
    code, lines = refused(tmp_path)
    assert code == 2 and "/image_locations: layout-mismatch: image_locations holds rows, yet at 18" in lines[0]


def test_pickled_location_metadata_is_read_as_plain_data_only(tmp_path):
    """Migrations 026-028 pickled meta_data; a pickle naming any class or function is refused, never run."""
    import pickle
    db = build_db(tmp_path / "glance.sqlite", "migrate-026")
    fill(db, "migrate-026")
    db.execute("UPDATE image_locations SET meta_data = ? WHERE id = 1", (pickle.dumps(Path("/etc")),))
    db.commit()
    code, lines = refused(tmp_path, "--to", "2.0", "--strict")
    assert code == 1
    assert f"#images/{UUID}: /locations/0/metadata: pickle: image_locations.meta_data is not a pickle of plain data" \
        in "\n".join(lines)


def test_the_binding_read_backwards_writes_rows_that_export_reads_back(tmp_path, spec):
    """imgspec.sql.load (records as rows, for the sizing measurements) inverts export-sql at every version."""
    import sqlalchemy as sa

    from imgspec.sizing import storage as sizing
    from imgspec.sql import export as sqlexport
    from imgspec.sql import load as sqlload
    corpus = sizing.corpus(spec, images=40)
    for version in spec.versions:
        layout = BINDING.binding(version)["layout"]
        path = tmp_path / f"{version}.sqlite"
        build_db(path, layout).close()
        engine = sa.create_engine(f"sqlite:///{path}")
        tables = sqlexport.tables(BINDING.layouts[layout])
        with engine.begin() as conn:
            for batch in sqlload.batches(corpus[version], BINDING, version, size=7):
                for name, rows in batch.items():
                    if rows:
                        conn.execute(tables[name].insert(), rows)
        engine.dispose()
        export(f"sqlite:///{path}", tmp_path / version, to=version, durable=False)
        for record in corpus[version]:
            back = json.loads((tmp_path / version / "records" / f"{record['id']}.json").read_text())
            if version == "2.4":  # Glance keeps no site: read back as unknown
                record = dict(record, locations=[dict(x, site=None) for x in record["locations"]])
            assert back == record, (version, record["id"])


def test_a_leap_second_is_valid_but_no_glance_column_holds_it(spec):
    """RFC 3339 allows second 60 and so does the format; Glance's DATETIME columns, written from Python's datetime,
    cannot hold it: imgspec.sql.load says so in one problem instead of a ValueError."""
    from imgspec.sql import load as sqlload
    record = json.loads((ROOT / "examples/record/2.3/image/valid/active-public.json").read_text())
    record["updated_at"] = "2016-12-31T23:59:60Z"
    assert validation.errors(record, "image", "2.3", spec=spec) == []
    with pytest.raises(sqlload.ProblemError) as caught:
        sqlload.rows(record, BINDING, "2.3")
    (problem,) = caught.value.problems
    assert problem.rule == "not-representable" and "leap second" in problem.message


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_audits_rows_of_every_era_export_whole_and_keep_their_meaning(tmp_path, layout, spec):
    """Issue 25: rows each era's Glance wrote (or a tool through its DB API), which the format once refused: a
    NULL property value, an empty property key, negative minimums (up to Havana), an id of 32 hex digits without
    hyphens (the v1 registry), a member id over 255 characters and an empty tag (SQLite keeps both whole). Every
    such image exports, upgrades to the newest release, and keeps the values the database holds."""
    db = build_db(tmp_path / "glance.sqlite", layout)
    plain = "c1a2b3d4e5f64a7b8c9d0e1f2a3b4c5d"
    insert(db, "images", layout, id=plain, name="v1-era", status="active", is_public=1, visibility="public",
           min_disk=-1, min_ram=-512, protected=0, created_at=T0, deleted=0, os_hidden=0)
    insert(db, "image_properties", layout, id=1, image_id=plain, name="kernel_id", value=None, created_at=T0, deleted=0)
    insert(db, "image_properties", layout, id=2, image_id=plain, name="", value="empty key", created_at=T0, deleted=0)
    insert(db, "image_members", layout, id=1, image_id=plain, member="P" * 300, can_share=0, status="pending",
           created_at=T0, deleted=0)
    if "image_tags" in BINDING.layouts[layout].tables:
        insert(db, "image_tags", layout, id=1, image_id=plain, value="", created_at=T0, deleted=0)
    db.commit()
    native = BINDING.native_for_layout(layout)
    for target in sorted({native, spec.latest_released}):
        out = tmp_path / f"out-{target}"
        summary = export(f"sqlite:///{tmp_path / 'glance.sqlite'}", out, to=target, durable=False)
        assert summary.counts["refused_images"] == 0 and summary.counts["images"] == 1
        record = json.loads((out / "records" / f"{plain}.json").read_text())
        assert validation.errors(record, "image", target, spec=spec) == []
        assert (record["id"], record["min_disk"], record["min_ram"]) == (plain, -1, -512)
        assert record["properties"] == {"kernel_id": None, "": "empty key"}
        assert record["members"][0]["member"] == "P" * 300
        if "image_tags" in BINDING.layouts[layout].tables:
            assert record["tags"] == [""]
