"""The era matrix (tests/matrix.py) in make test: the oldest Glance release that installs and Glance 33 run again,
each held to its row of schemas/bindings/glance-matrix.json; the file itself held to the package index list,
the pins, the binding, the series file the upgrade guide reads and the API versions file."""
from __future__ import annotations

import json

import matrix
import pytest
from support import ROOT

from imgspec.sql import binding as sqlbinding
from imgspec.sql import guide

pytestmark = pytest.mark.glance

DATA = matrix.load()


def rows():
    return [r for r in DATA["releases"] if r.get("matrix")]


@pytest.mark.parametrize("release", matrix.in_make_test(DATA))
def test_a_release_runs_as_the_matrix_records(release, tmp_path, spec):
    one = matrix.entry(DATA, release)
    assert "matrix" in one, f"{release}: no row yet: make matrix"
    assert matrix.run(release, one, tmp_path, spec, DATA) == one["matrix"]


def test_every_release_on_the_index_was_tried_and_a_failure_says_why():
    releases = [r["release"] for r in DATA["releases"]]
    assert len(releases) >= 46 and releases[0] == "15.0.2" and releases[-1] == matrix.NEWEST
    for r in DATA["releases"]:
        assert isinstance(r.get("installs"), bool), f"{r['release']}: not tried (tests/matrix.py resolve)"
        if not r["installs"]:
            assert r["error"].strip() and "\n" not in r["error"], r
            continue
        assert r["python"] in matrix.pythons(), r
        pins = ROOT / "requirements-glance.txt" if r["release"] == matrix.NEWEST else matrix.PINS / f"{r['release']}.txt"
        assert f"glance=={r['release']}" in pins.read_text().splitlines(), pins


def test_every_release_that_installs_has_run(spec):
    ran = rows()
    assert len(ran) >= 17
    missing = [r["release"] for r in DATA["releases"] if r.get("installs") and not r.get("matrix")]
    assert not missing, f"not run yet (make matrix): {missing}"


def test_each_revision_is_read_as_the_binding_says(spec):
    binding = sqlbinding.load(spec)
    where = {v: layout for layout in binding.layouts.values() for v in layout.revision["values"]}
    for r in rows():
        for cell in (r["matrix"], r["matrix"]["after_33"]):
            layout = where[cell["revision"]]
            assert (layout.name, binding.native_for_layout(layout.name)) == (cell["layout"], cell["format_version"])
        assert r["matrix"]["after_33"]["format_version"] == spec.latest_released
        assert r["matrix"]["after_33"]["images"] == r["matrix"]["images"] >= 5


def test_the_series_file_names_the_revision_each_release_leaves(spec):
    """The upgrade guide's series file (schemas/bindings/glance-releases.json) says which revision each series'
    db_sync leaves: what each release's own db_sync left in the matrix."""
    series = {s["series"].lower(): s for s in spec.load(guide.DATA)["series"]}
    for r in rows():
        name = r["series"].replace("_", ".")
        told = series.get(name) or next(s for key, s in series.items() if key.startswith(name + " "))
        assert told["revision"] == r["matrix"]["revision"], (r["release"], told)


def test_each_release_serves_an_api_version_the_versions_file_allows(spec):
    """schemas/api/microversions.json says in which series each API version was first listed and first CURRENT. A
    release lists at least the newest version CURRENT by its series (listed whatever the configuration) and at most
    the newest first listed by then (experimental ones need a setting: image import in Pike, multiple stores in
    Rocky, which the matrix leaves off). Versions listed only with the image cache, which the matrix leaves off
    too, are left out (the file's listed_only_with_the_cache)."""
    order = [s["series"].lower() for s in spec.load(guide.DATA)["series"]]
    cache_only = DATA["listed_only_with_the_cache"]["versions"]
    versions = [v for v in json.loads((ROOT / "schemas" / "api" / "microversions.json").read_text())["versions"]
                if v["version"] not in cache_only]

    def index(series: str | None) -> int:
        if series is None:
            return len(order)
        name = series.lower().replace("_", ".")
        return next(i for i, s in enumerate(order) if s == name or s.startswith(name + " "))

    def key(version: str) -> tuple[int, ...]:
        return tuple(int(n) for n in version.split("."))

    for r in rows():
        at = index(r["series"])
        least = max((v["version"] for v in versions if index(v["first_current"]) <= at), key=key)
        most = max((v["version"] for v in versions if index(v["first_listed"]) <= at), key=key)
        current = r["matrix"]["current"]
        if r["series"] in DATA["listed_otherwise"]:  # listed as its float prints (Ussuri: 2.10 as 2.1)
            assert current == str(float(least)) != least, (r["release"], current, least)
            continue
        assert key(least) <= key(current) <= key(r["matrix"]["api"]) <= key(most), (r["release"], least, most)


def test_the_oldest_release_of_each_layout_era_ran_on_mariadb_and_postgresql_as_on_sqlite():
    """make matrix runs the oldest release of each layout era on both database servers too (tests/matrix.py run
    --servers); each run records the same row as SQLite, the pins it replaced (engine_overrides) aside."""
    chosen = matrix.on_servers(DATA)
    layouts = {r["matrix"]["layout"] for r in rows()}
    assert len(chosen) == len(layouts) >= 3, (chosen, layouts)
    for release in chosen:
        one = matrix.entry(DATA, release)
        for engine in matrix.ENGINES:
            row = one.get("servers", {}).get(engine)
            assert row is not None, f"{release} on {engine}: not run (make matrix)"
            assert row.get("replaced", []) == matrix.override(release, engine, DATA), (release, engine)
            assert {k: v for k, v in row.items() if k != "replaced"} == one["matrix"], (release, engine)


def test_a_pin_is_replaced_only_where_the_release_pins_below_the_override():
    rule = DATA["engine_overrides"]["postgresql"]
    for r in rows():
        if r["release"] == matrix.NEWEST:
            continue
        pins = (matrix.PINS / f"{r['release']}.txt").read_text()
        below = any(matrix.release_key(matrix._pinned(pins, name) or "999") < matrix.release_key(v)
                    for name, v in rule["below"].items())
        assert matrix.override(r["release"], "postgresql", DATA) == (rule["install"] if below else [])
        assert matrix.override(r["release"], "mariadb", DATA) == []
    assert matrix.override("15.0.2", "postgresql", DATA) == ["SQLAlchemy==1.2.19"]
    assert matrix.override("19.0.0", "postgresql", DATA) == []
