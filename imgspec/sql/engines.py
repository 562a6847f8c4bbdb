"""How export-sql opens a database: read-only, in one snapshot, whatever the engine (SQLite with ``mode=ro`` and an
explicit BEGIN; MySQL, MariaDB and PostgreSQL in a REPEATABLE READ transaction, PostgreSQL's read-only).  SQLAlchemy
is an optional dependency (``imgspec[sql]``): it is probed here, once."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from imgspec import resources
from imgspec.problems import Problem, ProblemError


def need_sqlalchemy():
    try:
        import sqlalchemy
        return sqlalchemy
    except ImportError:
        raise ProblemError(Problem("imgspec export-sql", "", "missing-dependency",
                                   "export-sql needs SQLAlchemy: pip install 'imgspec[sql]'")) from None


# The time bounds of a database server (resources.DB_CONNECT_SECONDS, DB_READ_SECONDS), as each driver takes them:
# a server that refuses is one line, and one that accepts and never answers cannot hold the export.
def bounds(parsed, connect_seconds: int, read_seconds: int) -> dict[str, Any]:
    driver = parsed.get_driver_name()
    if driver == "pymysql":  # its read bound covers the handshake too: the connect bound until connected (below)
        return {"connect_timeout": connect_seconds, "read_timeout": connect_seconds, "write_timeout": read_seconds}
    if driver in ("psycopg", "psycopg2"):  # libpq: the whole start-up, then each statement on the server
        return {"connect_timeout": connect_seconds, "options": f"-c statement_timeout={read_seconds * 1000}",
                "keepalives": 1, "keepalives_idle": read_seconds, "keepalives_interval": 5, "keepalives_count": 3}
    if driver == "pysqlite":
        return {"timeout": connect_seconds}  # waiting for a writer's lock on the file
    return {}


def connection_problem(shown: str, exc: BaseException) -> Problem:
    """A database error as one line: ``timeout`` when a bound was reached, else ``unusable-database``."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    timed = any(w in first.lower() for w in ("timeout expired", "timed out", "statement timeout",
                                               "canceling statement due to statement timeout"))
    return Problem(shown, "", "timeout" if timed else "unusable-database", first)


def open_engine(url: str, connect_seconds: int = resources.DB_CONNECT_SECONDS,
                read_seconds: int = resources.DB_READ_SECONDS):
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
    backend = parsed.get_backend_name()
    try:
        engine = sa.create_engine(parsed, connect_args=bounds(parsed, connect_seconds, read_seconds))
    except ImportError as exc:  # the engine's driver: an extra of the package
        extra = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}.get(backend)
        raise ProblemError(Problem(shown, "", "missing-dependency", f"{exc}: pip install 'imgspec[{extra}]'" if extra
                                   else str(exc))) from None
    except Exception as exc:  # noqa: BLE001 - a bad option
        raise ProblemError(Problem(shown, "", "unusable-database", str(exc))) from None
    if backend == "sqlite":  # pysqlite starts no transaction for SELECTs: begin one, so every query sees one snapshot
        @sa.event.listens_for(engine, "connect")
        def _no_implicit(dbapi_connection, record):
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN")
    if parsed.get_driver_name() == "pymysql":
        @sa.event.listens_for(engine, "connect")
        def _reads(dbapi_connection, record):  # connected: from here on each read has the read bound
            if hasattr(dbapi_connection, "_read_timeout"):
                dbapi_connection._read_timeout = read_seconds
    if backend in ("postgresql", "mysql", "mariadb"):  # one snapshot for the whole export
        options: dict[str, Any] = {"isolation_level": "REPEATABLE READ"}
        if backend == "postgresql":
            options["postgresql_readonly"] = True
        engine = engine.execution_options(**options)
    return engine, shown
