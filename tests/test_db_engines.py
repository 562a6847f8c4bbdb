"""The relational binding on MariaDB and PostgreSQL: real servers started here, real Glance on each.

Each engine's server runs in a private temporary directory on loopback (tests/dbservers.py); Glance 33
(.venv-glance) runs ``glance-manage db_sync`` against it and serves the API; the scenarios of
tests/glance_scenarios.py run through that API (delayed_delete on, as on the SQLite baseline run here
too); ``imgspec export-sql`` reads each database as a user that may only SELECT, and the stores agree
record for record with the SQLite export of the same scenarios.  A server that cannot start fails the
test with its reason.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dbservers import ENGINES
from glance_scenarios import Api, make_images
from support import ROOT

from imgspec.format import validation
from imgspec.sql import export as sqlexport

from glance_live import GlanceServer

pytestmark = pytest.mark.glance
ENGINE_PARAMS = [pytest.param("mariadb", marks=pytest.mark.mariadb, id="mariadb"),
                 pytest.param("postgresql", marks=pytest.mark.postgresql, id="postgresql")]
OPTIONS = ("delayed_delete = True",)


def run_scenarios(workdir: Path, url: str | None, export_url=None) -> dict:
    """Glance on ``url`` (None: SQLite), the scenarios through its API, the database exported read-only."""
    workdir.mkdir(parents=True)
    glance = GlanceServer(workdir / "server", OPTIONS, url)
    glance.workdir.mkdir()
    glance.start()
    try:
        made = make_images(Api(glance.url))
    finally:
        glance.stop()
    source = export_url() if export_url else f"sqlite:///{glance.database}"
    out = workdir / "store"
    ran = subprocess.run([sys.executable, "-m", "imgspec", "export-sql", source, str(out)], capture_output=True,
                         text=True, cwd=ROOT)
    assert ran.returncode == 0, ran.stderr
    return {"made": made, "store": out, "workdir": glance.workdir, "stderr": ran.stderr}


def normalized(run: dict) -> dict[str, dict]:
    """The exported records keyed by scenario name, with what differs between two runs by nature replaced:
    image ids (random), timestamps, the server's folder."""
    names = {v: k for k, v in run["made"].items()}
    out = {}
    for path in (run["store"] / "records").glob("*.json"):
        text = path.read_text()
        for image_id, name in names.items():
            text = text.replace(image_id, f"<{name}>")
        text = text.replace(str(run["workdir"]), "<workdir>")
        text = re.sub(r'"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)"', '"<time>"', text)
        record = json.loads(text)
        record["tags"].sort()  # Glance stores a set: its rows are inserted in set order, which differs run by run
        out[names.get(path.stem, path.stem)] = record
    return out


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    return run_scenarios(tmp_path_factory.mktemp("sqlite") / "run", None)


@pytest.fixture(scope="module", params=ENGINE_PARAMS)
def engine(request, tmp_path_factory):
    """A started server of one engine, with Glance's database made and filled by the scenarios."""
    server = ENGINES[request.param]()
    server.start()  # raises with the reason (the test fails) when the server cannot start
    try:
        url = server.create_database("glance", "glance", "glance-secret")
        workdir = tmp_path_factory.mktemp(request.param)
        # the export's user may only read: created after db_sync made the tables (run_scenarios starts Glance)
        holder: dict = {}

        def export_url() -> str:
            holder["url"] = server.reader("glance", "imgspec_ro", "ro-secret")
            return holder["url"]
        run = run_scenarios(workdir / 'run', url, export_url)
        run.update(server=server, url=url, reader=holder["url"])
        yield run
    finally:
        server.stop()


def test_glance_runs_on_the_engine_and_export_reads_it_as_sqlite_does(engine, baseline, spec):
    assert engine["server"].version  # the server answered
    summary = engine["stderr"].strip().splitlines()[-1]
    assert "revision 2024_1_contract01 (layout train, read as 2.3)" in summary, summary
    ours, theirs = normalized(engine), normalized(baseline)
    assert set(ours) == set(theirs) == set(engine["made"]) and len(ours) >= 5
    for name in ours:
        assert ours[name] == theirs[name], name
    # delayed delete on this engine too: the deleted image waits for the scrubber, and so does its record
    gone = ours["deleted"]
    assert (gone["status"], gone["deleted"]) == ("pending_delete", True)
    assert gone["locations"] and all(x["status"] == "pending_delete" for x in gone["locations"])
    ran = subprocess.run([sys.executable, "-m", "imgspec", "validate", "-q", str(engine["store"])], capture_output=True,
                         text=True)
    assert ran.returncode == 0, ran.stdout
    report = json.loads((engine["store"] / "export-report.json").read_text())
    base = json.loads((baseline["store"] / "export-report.json").read_text())
    assert report["counts"] == base["counts"]
    assert validation.errors(json.loads((engine["store"] / "manifest.json").read_text()), "store",
                             spec.latest_released, spec=spec) == []


def test_the_export_user_can_only_read_and_the_export_writes_nothing(engine, tmp_path):
    import sqlalchemy as sa
    reader = sa.create_engine(engine["reader"])
    try:
        with reader.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM images")).scalar_one() >= 5
            with pytest.raises(sa.exc.SQLAlchemyError, match="(?i)denied|permission"):
                conn.execute(sa.text("UPDATE images SET name = 'x'"))
    finally:
        reader.dispose()
    # the export did its work as that user (above), and a second one gives the same store
    sqlexport.export(engine["reader"], tmp_path / "again", durable=False)
    first = {p.name: p.read_text() for p in (engine["store"] / "records").iterdir()}
    assert {p.name: p.read_text() for p in (tmp_path / "again" / "records").iterdir()} == first


def test_wrong_credentials_and_a_missing_database_are_one_line(engine, tmp_path):
    """The server refuses: one line naming the URL (password hidden), exit 2, no traceback, nothing written."""
    good = engine["reader"]
    for url in (good.replace("ro-secret", "wrong-secret"), good.replace("/glance", "/no_such_db")):
        ran = subprocess.run([sys.executable, "-m", "imgspec", "export-sql", "--connect-timeout", "5", url,
                              str(tmp_path / "out")], capture_output=True, text=True)
        assert ran.returncode == 2 and "Traceback" not in ran.stderr, ran.stderr[-800:]
        assert "unusable-database" in ran.stderr and "***" in ran.stderr and "wrong-secret" not in ran.stderr
        assert len(ran.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


@pytest.mark.parametrize("isolated", [True, False], ids=["export", "without-snapshot"])
def test_a_concurrent_writer_cannot_tear_the_export(engine, tmp_path, monkeypatch, isolated):
    """A writer commits between the export's batches: the export still shows the database as it was at its start.

    The second case reads without the export's snapshot (READ COMMITTED) to show that the test sees a torn export.
    """
    import sqlalchemy as sa
    monkeypatch.setattr(sqlexport, "BATCH", 1)  # one image per batch: the writer acts between queries
    if not isolated:
        monkeypatch.setattr(sqlexport, "open_engine",
                            lambda url, *bounds: (sa.create_engine(url, isolation_level="READ COMMITTED"), url))
    writer = sa.create_engine(engine["url"], isolation_level="AUTOCOMMIT")
    marker = f"torn-{tmp_path.name[-12:]}"

    def write(n, total):
        if n == 1:
            with writer.connect() as conn:
                conn.execute(sa.text("UPDATE images SET name = :n"), {"n": marker})
                conn.execute(sa.text("UPDATE image_tags SET value = :n"), {"n": marker})
    restore = {}
    with writer.connect() as conn:
        restore["images"] = list(conn.execute(sa.text("SELECT id, name FROM images")))
        restore["tags"] = list(conn.execute(sa.text("SELECT id, value FROM image_tags")))
    try:
        sqlexport.export(engine["reader"], tmp_path / "out", durable=False, progress=write)
    finally:
        with writer.connect() as conn:
            for image_id, name in restore["images"]:
                conn.execute(sa.text("UPDATE images SET name = :n WHERE id = :i"), {"n": name, "i": image_id})
            for tag_id, value in restore["tags"]:
                conn.execute(sa.text("UPDATE image_tags SET value = :v WHERE id = :i"), {"v": value, "i": tag_id})
        writer.dispose()
    text = "".join(p.read_text() for p in (tmp_path / "out" / "records").iterdir())
    if isolated:
        assert marker not in text  # every record as of the snapshot
        first = {p.name: p.read_text() for p in (engine["store"] / "records").iterdir()}
        assert {p.name: p.read_text() for p in (tmp_path / "out" / "records").iterdir()} == first
    else:
        assert marker in text  # without the snapshot the later batches see the writer: torn


# -- every layout of the binding, built on the engine from the layout's own columns --------------------------------

def layouts_checked_on(name: str) -> list[str]:
    from imgspec.spec import Spec
    from imgspec.sql import binding as sqlbinding
    entry = next(e for e in sqlbinding.load(Spec(ROOT)).data["engines"] if e["engine"] == name)
    return entry["layouts"]


def test_the_binding_says_which_layouts_each_engine_checks():
    from imgspec.spec import Spec
    from imgspec.sql import binding as sqlbinding
    binding = sqlbinding.load(Spec(ROOT))
    engines = {e["engine"]: e for e in binding.data["engines"]}
    assert set(engines) == {"sqlite", "mariadb", "postgresql"}
    for entry in engines.values():
        assert set(entry["layouts"]) <= set(binding.layouts), entry["engine"]
        assert entry["version"]  # measured by the tests that hold it: the engine version they ran
    assert engines["sqlite"]["layouts"] == list(binding.layouts)  # test_sql_binding builds every layout on SQLite


def copy_layout(layout_name: str, sqlite_path: Path, url: str) -> None:
    """The layout's tables made on the engine from the binding's columns (types mapped by SQLAlchemy), then every
    row of the SQLite database copied into them."""
    import sqlalchemy as sa

    from imgspec.spec import Spec
    from imgspec.sql import binding as sqlbinding
    binding = sqlbinding.load(Spec(ROOT))
    layout = binding.layouts[layout_name]
    meta = sa.MetaData()
    defined = sqlexport.tables(layout)
    for table in defined.values():
        table.to_metadata(meta)
    rev = layout.revision_table
    sa.Table(rev.name, meta, *[sa.Column(c.name, sqlexport._sa_type(sa, c.type), primary_key=c.primary_key,
                                         nullable=c.null) for c in rev.columns])
    source, target = sa.create_engine(f"sqlite:///{sqlite_path}"), sa.create_engine(url)
    try:
        meta.create_all(target)
        with source.connect() as src, target.begin() as dst:
            for table in meta.sorted_tables:
                rows = [dict(r._mapping) for r in src.execute(sa.select(table))]
                if rows:
                    dst.execute(table.insert(), rows)
    finally:
        source.dispose()
        target.dispose()


@pytest.fixture(scope="module")
def layout_exports(tmp_path_factory):
    """Each layout filled on SQLite as test_sql_binding fills it, and exported: the reference for every engine."""
    from test_sql_binding import build_db, fill
    out = {}
    for name in layouts_checked_on("sqlite"):
        work = tmp_path_factory.mktemp(f"layout-{name}")
        db = build_db(work / "glance.sqlite", name)
        fill(db, name)
        db.close()
        summary = sqlexport.export(f"sqlite:///{work / 'glance.sqlite'}", work / "store", durable=False)
        out[name] = (work / "glance.sqlite", work / "store", summary)
    return out


def whole_seconds(text: str) -> str:
    return re.sub(r'(T\d\d:\d\d:\d\d)\.\d+Z"', r'\1Z"', text)


def test_every_layout_reads_alike_on_the_engine(engine, layout_exports, tmp_path):
    name = engine["server"].name
    checked = layouts_checked_on(name)
    assert len(checked) >= 14
    from imgspec.spec import Spec
    from imgspec.sql import binding as sqlbinding
    recorded = next(e for e in sqlbinding.load(Spec(ROOT)).data["engines"] if e["engine"] == name)["version"]
    assert engine["server"].version.startswith(recorded.split()[0]), (engine["server"].version, recorded)
    for i, layout in enumerate(checked):
        sqlite_path, reference, ref_summary = layout_exports[layout]
        url = engine["server"].create_database(f"layout{i}", f"layout{i}", "layout-secret")
        copy_layout(layout, sqlite_path, url)
        summary = sqlexport.export(url, tmp_path / layout, durable=False)
        assert (summary.layout, summary.read_as, summary.counts) == (ref_summary.layout, ref_summary.read_as,
                                                                    ref_summary.counts), layout
        for path in (reference / "records").iterdir():
            ours = (tmp_path / layout / "records" / path.name).read_text()
            want = path.read_text()
            if name == "mariadb":  # DATETIME keeps whole seconds on MariaDB, as Glance's columns declare it
                want = whole_seconds(want)
            assert ours == want, (layout, path.name)


def test_the_measured_sizing_figures_are_measured_again_and_agree(engine):
    """make sizing's figures for this engine, measured again on this server: the page's data file is current."""
    import measure_sizing

    from imgspec.sizing import storage as sizing
    from imgspec.sizing.corpus import distributions
    from imgspec.spec import Spec
    spec = Spec(ROOT)
    corpus = sizing.corpus(spec, distributions(spec))
    name = engine["server"].name
    again = {e["version"]: e["bytes_per_image"] for e in measure_sizing.era_figures(spec, corpus, name, engine["server"],
                                                                                   versions=["1.0", "2.2"])}
    recorded = sizing.measured_per_image(spec, name)
    assert set(again) == {"1.0", "2.2"}
    for version, value in again.items():
        assert value == pytest.approx(recorded[version], rel=0.05), (name, version)
    entry = next(e for e in sizing.measured(spec)["engines"] if e["engine"] == name)
    assert engine["server"].version.split("-")[0].split()[0] == entry["version"].split("-")[0].split()[0]


@pytest.mark.parametrize("name", ENGINE_PARAMS)
def test_a_server_that_cannot_start_fails_with_its_reason(name):
    """Never a silent skip: a port already taken makes the server's start raise, naming why."""
    import socket

    from dbservers import ServerError
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = ENGINES[name]()
        server.port = taken.getsockname()[1]
        try:
            with pytest.raises(ServerError, match="(?i)exited|could not start|did not accept") as info:
                server.start(timeout=30)
        finally:
            server.stop()
    assert str(info.value).strip()
