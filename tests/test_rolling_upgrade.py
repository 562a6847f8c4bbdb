"""A rolling upgrade with two Glance releases serving one database (tests/rolling.py), on MariaDB and PostgreSQL:
each step as schemas/bindings/glance-matrix.json records it (under ``rolling``), which the operators' guide shows."""
from __future__ import annotations

import matrix
import pytest
from rolling import Window

pytestmark = pytest.mark.glance

DATA = matrix.load()
PAIR = DATA["rolling"]


@pytest.mark.parametrize("engine", [pytest.param("mariadb", marks=pytest.mark.mariadb),
                                    pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_each_step_of_the_rolling_upgrade_is_as_recorded(engine, tmp_path, spec):
    recorded = PAIR["engines"].get(engine)
    assert recorded, f"{engine}: no steps recorded yet (python tests/rolling.py --write)"
    steps = Window(PAIR["from"], PAIR["to"], engine, tmp_path, spec).run()
    assert steps == recorded


def test_the_pair_is_adjacent_and_its_databases_differ():
    releases = [r["release"] for r in DATA["releases"]]
    old, new = (matrix.entry(DATA, r) for r in (PAIR["from"], PAIR["to"]))
    majors = sorted({int(r.split(".")[0]) for r in releases})
    assert majors.index(int(new["release"].split(".")[0])) == majors.index(int(old["release"].split(".")[0])) + 1
    assert old["matrix"]["revision"] != new["matrix"]["revision"]


def test_every_step_exports_whole_on_mariadb_and_names_its_heads():
    steps = PAIR["engines"]["mariadb"]
    assert [s["step"].split("'")[0] for s in steps][:2] == [f"Glance {PAIR['from']} serving", f"Glance {PAIR['to']}"]
    for s in steps:
        assert "refused" not in s["export"], s  # the window is read, not refused
        assert s["export"]["versions"] == ["2.3"]
