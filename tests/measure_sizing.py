"""Measure what a format era's metadata costs in a real database: the corpus loaded into that era's Glance tables.

    python tests/measure_sizing.py [--write]     (make sizing)

For each format version, the sizing corpus (schemas/sizing/distributions.json) at that version is written
as rows (imgspec.sql.load: the binding read backwards) into the tables of the layout the version is stored
in, made the way that era's Glance made them: Glance 33's own alembic migrations up to the layout's
revision, or, for the 1.x layout whose sqlalchemy-migrate scripts Glance no longer ships, the binding's
columns and unique keys.  The bytes are the engine's own, tables and their indexes:

- SQLite: the pages of the image tables and their indexes in ``dbstat``;
- MariaDB (InnoDB): ``data_length + index_length`` of information_schema.TABLES after ``ANALYZE TABLE``;
- PostgreSQL: ``pg_total_relation_size`` (heap, indexes, TOAST) after ``ANALYZE``.

``--write`` records the figures, with each engine's version, in schemas/sizing/measured.json, which the
sizing page reads; without it the figures are printed.  Servers are started in private temporary
directories (tests/dbservers.py), never the system's.
"""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from dbservers import ENGINES  # noqa: E402

from imgspec import jsonfile  # noqa: E402
from imgspec.sizing import storage as sizing  # noqa: E402
from imgspec.sizing.corpus import distributions  # noqa: E402
from imgspec.spec import Spec  # noqa: E402
from imgspec.sql import binding as sqlbinding  # noqa: E402
from imgspec.sql import export as sqlexport  # noqa: E402
from imgspec.sql import load as sqlload  # noqa: E402

from glance_live import PYTHON as GLANCE_PYTHON  # noqa: E402

OUT = ROOT / "schemas" / "sizing" / "measured.json"
IMAGE_TABLES = ("images", "image_properties", "image_members", "image_locations", "image_tags")
# the alembic revision that leaves each layout's image tables as Glance 33's migrations make them
ALEMBIC = {"liberty": "liberty", "ocata": "ocata_contract01", "rocky": "rocky_contract02", "train": "2024_1_contract01"}


def make_schema(url: str, layout_name: str, binding) -> str:
    """The era's tables at ``url``; returns how they were made."""
    import sqlalchemy as sa
    if layout_name in ALEMBIC:
        revision = ALEMBIC[layout_name]
        done = subprocess.run([str(GLANCE_PYTHON), str(HERE / "glance" / "migrate_to.py"), url, revision],
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"Glance's alembic to {revision} failed: {done.stderr[-600:]}")
        return f"Glance 33's alembic migrations to {revision}"
    layout = binding.layouts[layout_name]
    meta = sa.MetaData()
    for t in layout.tables.values():
        sa.Table(t.name, meta, *[sa.Column(c.name, sqlexport._sa_type(sa, c.type), primary_key=c.primary_key,
                                           nullable=c.null) for c in t.columns],
                 *[sa.UniqueConstraint(*u) for u in t.unique])
    engine = sa.create_engine(url)
    try:
        meta.create_all(engine)
    finally:
        engine.dispose()
    return "the binding's columns and unique keys (Glance 33 no longer ships the sqlalchemy-migrate scripts)"


def load(url: str, records: list[dict], version: str, binding) -> None:
    import sqlalchemy as sa
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine, only=[t for t in IMAGE_TABLES if t in binding.layout_of(version).tables])
        with engine.begin() as conn:
            for batch in sqlload.batches(records, binding, version):
                for name in [t.name for t in meta.sorted_tables]:
                    if batch.get(name):
                        conn.execute(meta.tables[name].insert(), batch[name])
    finally:
        engine.dispose()


def measure_sqlite(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        out = {}
        for table in IMAGE_TABLES:
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE tbl_name = ?", (table,))]
            if names:
                out[table] = db.execute(f"SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN "
                                        f"({', '.join('?' for _ in names)})", names).fetchone()[0]
        return out
    finally:
        db.close()


def measure_mariadb(server, database: str) -> dict[str, int]:
    tables = [r[0] for r in server.admin(f"SELECT table_name FROM information_schema.TABLES WHERE table_schema = "
                                         f"'{database}'") if r[0] in IMAGE_TABLES]
    for t in tables:
        server.admin(f"ANALYZE TABLE `{database}`.`{t}`")
    rows = server.admin(f"SELECT table_name, data_length + index_length FROM information_schema.TABLES "
                        f"WHERE table_schema = '{database}'")
    return {name: int(size) for name, size in rows if name in tables}


def measure_postgresql(server, database: str) -> dict[str, int]:
    server.admin("ANALYZE", database=database)
    rows = server.admin("SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'", database=database)
    return {name: int(size) for name, size in rows if name in IMAGE_TABLES}


def empty_tables(url: str, engine: str) -> None:
    """Every row of the image tables gone and their storage given back, as in a new database of that schema."""
    import sqlalchemy as sa
    eng = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as conn:
            present = [t for t in IMAGE_TABLES if sa.inspect(conn).has_table(t)]
            if engine == "postgresql":
                conn.execute(sa.text(f"TRUNCATE {', '.join(present)}"))
            elif engine == "mariadb":
                conn.execute(sa.text("SET FOREIGN_KEY_CHECKS = 0"))
                for t in present:
                    conn.execute(sa.text(f"TRUNCATE TABLE {t}"))
            else:
                for t in reversed(present):
                    conn.execute(sa.text(f"DELETE FROM {t}"))
                conn.execute(sa.text("VACUUM"))
    finally:
        eng.dispose()


def era_figures(spec: Spec, corpus: dict, engine: str, server=None, versions: list[str] | None = None) -> list[dict]:
    """Bytes per image of every version on one engine (server: a started MariaDB or PostgreSQL).

    The eras whose tables Glance's alembic makes share one database, migrated forward era by era (alembic
    runs only the revisions since the last), its image tables emptied between eras; the 1.x layout has one
    of its own.  ``versions``: only these (the tests re-measure two eras, one per way of making the tables).
    """
    binding = sqlbinding.load(spec)
    out: list[dict] = []
    seen: dict[str, dict] = {}  # the rows of each version measured, by their content
    databases: dict[str, str] = {}  # "alembic" or a layout name -> url
    made: dict[str, tuple[str, str]] = {}  # url -> (layout its tables are at, how they were made)
    with tempfile.TemporaryDirectory() as tmp:
        for version in versions or spec.versions:
            layout = binding.binding(version)["layout"]
            rows = json.dumps([sqlload.rows(r, binding, version) for r in corpus[version]], default=str)
            if rows in seen:  # stored exactly as an earlier version (2.4 adds nothing Glance keeps): same bytes
                out.append(dict(seen[rows], version=version, schema=f"the same rows as {seen[rows]['version']}"))
                continue
            group = "alembic" if layout in ALEMBIC else layout
            if group not in databases:
                database = f"sizing_{len(databases)}"
                databases[group] = (f"sqlite:///{Path(tmp) / database}.sqlite" if engine == "sqlite" else
                                    server.create_database(database, database, "sizing-secret"))
            else:
                empty_tables(databases[group], engine)
            url = databases[group]
            if made.get(url, ("",))[0] != layout:
                made[url] = (layout, make_schema(url, layout, binding))
            how = made[url][1]
            load(url, corpus[version], version, binding)
            database = url.rsplit("/", 1)[1].split("?")[0]
            tables = (measure_sqlite(Path(tmp) / database) if engine == "sqlite" else
                      measure_mariadb(server, database) if engine == "mariadb" else measure_postgresql(server, database))
            total = sum(tables.values())
            out.append({"version": version, "layout": layout, "schema": how, "bytes": total,
                        "bytes_per_image": round(total / len(corpus[version]), 1), "tables": tables})
            seen[rows] = out[-1]
    return out


def measure(spec: Spec | None = None) -> dict:
    spec = spec or Spec.default()
    dist = distributions(spec)
    corpus = sizing.corpus(spec, dist)
    engines = [{"engine": "sqlite", "version": sqlite3.sqlite_version, "eras": era_figures(spec, corpus, "sqlite")}]
    for name in ("mariadb", "postgresql"):
        server = ENGINES[name]()
        server.start()
        try:
            engines.append({"engine": name, "version": server.version, "eras": era_figures(spec, corpus, name, server)})
        finally:
            server.stop()
    return {"$comment": "Measured by `make sizing` (tests/measure_sizing.py): the sizing corpus loaded into each "
                        "era's Glance tables on each engine, bytes of tables and indexes as the engine reports "
                        "them. The sizing page reads this file; the tests re-measure and compare. Never edit by hand.",
            "images": dist["images"], "seed": dist["seed"], "engines": engines}


def main(argv: list[str]) -> int:
    figures = measure()
    if "--write" in argv:
        OUT.write_text(jsonfile.dumps(figures))
        print(f"wrote {OUT.relative_to(ROOT)}", file=sys.stderr)
    else:
        print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
