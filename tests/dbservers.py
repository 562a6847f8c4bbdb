"""MariaDB and PostgreSQL servers for the tests: private data directories, loopback only, never the system service.

Each server is initialised in a fresh temporary directory (``mariadb-install-db`` / ``initdb``), started on a
free loopback port with its socket in that directory, and stopped (data removed) by ``stop()``.  A server
that cannot start raises ``ServerError`` with the reason and the tail of its log: the test fails, never skips.
As root, PostgreSQL runs as the ``postgres`` user (it refuses root) and MariaDB with ``--user=root``.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from glance_live import free_port

ADMIN_PASSWORD = "imgspec-admin"


class ServerError(RuntimeError):
    pass


def _run(cmd: list[str], log: Path, **kw) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode:
        raise ServerError(f"{' '.join(cmd[:3])} failed ({done.returncode}): {(done.stderr or done.stdout)[-800:]} "
                          f"(log: {log})")


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-800:]
    except OSError:
        return "(no log)"


class MariaDB:
    name = "mariadb"
    driver = "mysql+pymysql"

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="imgspec-mariadb-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.version = ""
        self.password = ""  # root's, until start() sets one

    @property
    def socket(self) -> str:
        return str(self.dir / "mysqld.sock")

    def url(self, user: str, password: str, database: str = "glance") -> str:
        return f"{self.driver}://{user}:{password}@127.0.0.1:{self.port}/{database}?charset=utf8mb4"

    def start(self, timeout: float = 60) -> MariaDB:
        server = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        install = shutil.which("mariadb-install-db")
        if not os.path.exists(server) or not install:
            raise ServerError("MariaDB is not installed (Debian package mariadb-server): `make test` installs it")
        data, log = self.dir / "data", self.dir / "error.log"
        user = ["--user=root"] if os.geteuid() == 0 else []
        _run([install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
              "--skip-test-db", *user], log)
        self.proc = subprocess.Popen([server, "--no-defaults", f"--datadir={data}", f"--socket={self.socket}",
                                      f"--port={self.port}", "--bind-address=127.0.0.1", f"--log-error={log}",
                                      f"--pid-file={self.dir / 'mysqld.pid'}", "--skip-log-bin",
                                      "--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=2",
                                      "--character-set-server=utf8mb4", *user],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"mariadbd exited with {self.proc.returncode}: {_tail(log)}")
            try:
                self.version = self.admin("SELECT VERSION()")[0][0]
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.3)
        else:
            self.stop()
            raise ServerError(f"mariadbd did not accept connections within {timeout} s: {_tail(log)}")
        self.admin(f"ALTER USER 'root'@'localhost' IDENTIFIED BY '{ADMIN_PASSWORD}'",
                   f"CREATE OR REPLACE USER 'root'@'127.0.0.1' IDENTIFIED BY '{ADMIN_PASSWORD}'",
                   "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION")
        self.password = ADMIN_PASSWORD
        return self

    def admin(self, *statements: str, database: str | None = None) -> list:
        import pymysql
        conn = pymysql.connect(unix_socket=self.socket, user="root", password=self.password,
                               database=database, autocommit=True, connect_timeout=2)
        try:
            with conn.cursor() as cur:
                rows: list = []
                for sql in statements:
                    cur.execute(sql)
                    rows = list(cur.fetchall())
                return rows
        finally:
            conn.close()

    def create_database(self, name: str, owner: str, password: str) -> str:
        self.admin(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4",
                   f"CREATE USER '{owner}'@'127.0.0.1' IDENTIFIED BY '{password}'",
                   f"GRANT ALL ON `{name}`.* TO '{owner}'@'127.0.0.1'")
        return self.url(owner, password, name)

    def reader(self, database: str, user: str, password: str) -> str:
        """A user that may only SELECT from ``database``: the export's URL in the read-only test."""
        self.admin(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'",
                   f"GRANT SELECT ON `{database}`.* TO '{user}'@'127.0.0.1'")
        return self.url(user, password, database)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgreSQL:
    name = "postgresql"
    driver = "postgresql+psycopg"

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="imgspec-postgresql-"))
        self.port = free_port()
        self.version = ""
        self.started = False

    def _as_owner(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def url(self, user: str, password: str, database: str = "glance") -> str:
        return f"{self.driver}://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 60) -> PostgreSQL:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
        if not found:
            raise ServerError("PostgreSQL is not installed (Debian package postgresql): `make test` installs it")
        bin_dir = Path(found[-1]).parent
        data, log = self.dir / "data", self.dir / "server.log"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        pwfile = self.dir / "pw"
        pwfile.write_text(ADMIN_PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres")
        _run([*self._as_owner(), str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--pwfile", str(pwfile),
              "-A", "scram-sha-256", "-E", "UTF8", "--no-sync"], log)
        _run([*self._as_owner(), str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", str(int(timeout)),
              "-o", f"-k {self.dir} -p {self.port} -h 127.0.0.1 -c fsync=off -c full_page_writes=off", "start"], log)
        self.started = True
        self.bin_dir = bin_dir
        self.version = self.admin("SHOW server_version")[0][0]
        return self

    def admin(self, *statements: str, database: str = "postgres") -> list:
        import psycopg
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", password=ADMIN_PASSWORD,
                             dbname=database, autocommit=True, connect_timeout=5) as conn:
            rows: list = []
            for sql in statements:
                cur = conn.execute(sql)
                rows = cur.fetchall() if cur.description else []
            return rows

    def create_database(self, name: str, owner: str, password: str) -> str:
        self.admin(f"CREATE ROLE {owner} LOGIN PASSWORD '{password}'", f"CREATE DATABASE {name} OWNER {owner}")
        return self.url(owner, password, name)

    def reader(self, database: str, user: str, password: str) -> str:
        self.admin(f"CREATE ROLE {user} LOGIN PASSWORD '{password}'", f"GRANT CONNECT ON DATABASE {database} TO {user}")
        self.admin(f"GRANT USAGE ON SCHEMA public TO {user}", f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}",
                   database=database)
        return self.url(user, password, database)

    def stop(self) -> None:
        if self.started:
            subprocess.run([*self._as_owner(), str(self.bin_dir / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast",
                            "-w", "stop"], capture_output=True)
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)


ENGINES = {"mariadb": MariaDB, "postgresql": PostgreSQL}
