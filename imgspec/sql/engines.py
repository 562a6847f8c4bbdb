"""How export-sql opens a database: read-only, in one snapshot, whatever the engine (SQLite with ``mode=ro`` and an
explicit BEGIN; MySQL, MariaDB and PostgreSQL in a REPEATABLE READ transaction, PostgreSQL's read-only).  SQLAlchemy
is an optional dependency (``imgspec[sql]``): it is probed here, once."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from imgspec.problems import Problem, ProblemError


def need_sqlalchemy():
    try:
        import sqlalchemy
        return sqlalchemy
    except ImportError:
        raise ProblemError(Problem("imgspec export-sql", "", "missing-dependency",
                                   "export-sql needs SQLAlchemy: pip install 'imgspec[sql]'")) from None


def open_engine(url: str):
    sa = need_sqlalchemy()
    try:
        parsed = sa.engine.make_url(url)
    except Exception as exc:  # noqa: BLE001 - any malformed URL is one line
        raise ProblemError(Problem(url, "", "unusable-database", f"not a database URL: {exc}")) from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if not path or path == ":memory:" or not Path(path).is_file():
            raise ProblemError(Problem(shown, "", "unusable-database", f"no SQLite database file at {path!r}"))
        # read-only at the SQLite level: the file is never written, nor created
        parsed = parsed.set(database=f"file:{Path(path).resolve()}?mode=ro", query={"uri": "true"})
    try:
        engine = sa.create_engine(parsed)
    except Exception as exc:  # noqa: BLE001 - a missing driver, a bad option
        raise ProblemError(Problem(shown, "", "unusable-database", str(exc))) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":  # pysqlite starts no transaction for SELECTs: begin one, so every query sees one snapshot
        @sa.event.listens_for(engine, "connect")
        def _no_implicit(dbapi_connection, record):
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN")
    elif backend in ("postgresql", "mysql", "mariadb"):  # one snapshot for the whole export
        options: dict[str, Any] = {"isolation_level": "REPEATABLE READ"}
        if backend == "postgresql":
            options["postgresql_readonly"] = True
        engine = engine.execution_options(**options)
    return engine, shown
