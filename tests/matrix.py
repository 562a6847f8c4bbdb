"""The era matrix: Glance releases from the package index, each in a virtual environment of its own on the Python
of its era, running its own ``glance-manage db_sync`` and its own API server; the shared scenarios through its
API, ``imgspec export-sql`` of the database it wrote, then Glance 33's ``db_sync`` over it and the export again.

    python tests/matrix.py resolve [RELEASE ...]       try to install each release; pin what installs
    python tests/matrix.py install RELEASE ...        the virtual environments of these releases, from their pins
    python tests/matrix.py run [--write] [RELEASE ...]   the matrix; --write records it in the releases file
    python tests/matrix.py run --servers [--write] [RELEASE ...]   the same on MariaDB and PostgreSQL servers
                                                          (default: the oldest release of each layout era)

What is known of every release lives in one file, :data:`RELEASES` (``schemas/bindings/glance-matrix.json``),
which the binding and version pages render and ``tests/test_glance_matrix.py`` holds to a run:

* ``resolve`` (once per release, by a maintainer with the openstack/requirements repository at hand,
  :data:`REQUIREMENTS_REPO`) picks the newest Python of this machine that the release's own classifiers name,
  installs the release with its series' ``upper-constraints.txt`` and writes what pip chose to
  ``tools/matrix/<release>.txt``; a release that does not install is recorded with pip's last error line.
* ``run`` installs each release from its pins into ``_build/matrix/<release>`` (kept: a second run is fast),
  serves it on SQLite and records, per release: the series, the API version it serves, the revision its
  ``db_sync`` leaves, the layout and format version the binding reads it as, the scenario steps its API does
  not support, and the same after Glance 33's ``db_sync``.  Every image exports, validates and reads as the
  release's API returns it; after the upgrade every image exports again, equal to ``imgspec upgrade`` of its
  first record.
* ``run --servers`` does the same on a MariaDB and a PostgreSQL server of its own (tests/dbservers.py) for the oldest
  release of each layout era, recorded under ``servers``; where a release's own pins cannot reach an engine, the
  releases file's ``engine_overrides`` names the pins its venv for that engine replaces
  (``_build/matrix/<release>+<pin>``), and the row says so.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from glance_scenarios import Api, api_version, current_version, features, make_images  # noqa: E402
from support import ROOT  # noqa: E402

from glance_live import PYTHON as GLANCE_33  # noqa: E402
from glance_live import GlanceServer  # noqa: E402

RELEASES = ROOT / "schemas" / "bindings" / "glance-matrix.json"
# the release .venv-glance holds (requirements-glance.txt): every other test's Glance, the matrix's newest
NEWEST = re.search(r"^glance==(\S+)$", (ROOT / "requirements-glance.txt").read_text(), re.M).group(1)
PINS = ROOT / "tools" / "matrix"
HOME = ROOT / "_build" / "matrix"
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
REQUIREMENTS_REPO = Path(os.environ.get("IMGSPEC_REQUIREMENTS_REPO", "/work/.mirror/openstack+requirements/repo"))
PIP = ["--disable-pip-version-check", "--no-input", "--quiet"]






class MatrixError(Exception):
    """A release that cannot be installed or run, with the one line that says why."""


def load() -> dict:
    return json.loads(RELEASES.read_text())


def save(data: dict) -> None:
    data["releases"].sort(key=lambda r: [int(n) for n in r["release"].split(".")])
    RELEASES.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def _changing():
    """The releases file as it is now, written back when the block ends (several runs may write at once)."""
    import fcntl
    HOME.mkdir(parents=True, exist_ok=True)
    with open(HOME / "releases.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = load()
        yield data
        save(data)


def record(release: str, one: dict) -> None:
    """Write one release's entry into the releases file."""
    with _changing() as data:
        current = entry(data, release)
        current.clear()
        current.update(one)


def entry(data: dict, release: str) -> dict:
    for one in data["releases"]:
        if one["release"] == release:
            return one
    one = {"release": release}
    data["releases"].append(one)
    return one


def record_key(path: list[str], value) -> None:
    """Write ``value`` at ``path`` (keys from the top) of the releases file."""
    with _changing() as data:
        node = data
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value


def pythons() -> dict[str, Path]:
    """``{"3.8": path, ...}``: the Pythons of this machine (pyenv's), newest patch level of each."""
    found: dict[str, Path] = {}
    for folder in sorted(PYENV.glob("[23].*"), key=lambda p: [int(n) for n in re.findall(r"\d+", p.name)]):
        if (folder / "bin" / "python").exists() and re.fullmatch(r"\d+\.\d+\.\d+", folder.name):
            found[".".join(folder.name.split(".")[:2])] = folder / "bin" / "python"
    return found


def last_line(text: str) -> str:
    """The line of pip's or Glance's output that says what went wrong: Glance's "Unhandled error", else the last
    line that says something (warnings and log prefixes left out)."""
    for ln in text.splitlines():
        if "Unhandled error: " in ln:
            return ln.split("Unhandled error: ", 1)[1].strip()[:400]
    lines = [re.sub(r"^\S+ \S+ \d+ ERROR \S+ ", "", ln).strip() for ln in text.splitlines()
             if ln.strip() and not ln.startswith(("WARNING:", "DEPRECATION"))]
    lines = [ln for ln in lines if ln]
    return lines[-1][:400] if lines else "(no output)"


def wheel_facts(release: str, work: Path) -> dict:
    """From the release's own wheel: the Pythons its classifiers name and its series (``CURRENT_RELEASE`` of
    ``glance/db/migration.py``)."""
    ran = subprocess.run([sys.executable, "-m", "pip", "download", *PIP, "--no-deps", "--only-binary", ":all:",
                          "-d", str(work), f"glance=={release}"], capture_output=True, text=True)
    wheels = list(work.glob(f"glance-{release}-*.whl"))
    if ran.returncode or not wheels:
        raise MatrixError(f"pip download glance=={release}: {last_line(ran.stderr + ran.stdout)}")
    with zipfile.ZipFile(wheels[0]) as whl:
        meta = whl.read(f"glance-{release}.dist-info/METADATA").decode()
        migration = whl.read("glance/db/migration.py").decode()
    named = re.findall(r"^Classifier: Programming Language :: Python :: (\d\.\d+)$", meta, re.M)
    series = re.search(r"^CURRENT_RELEASE = '([^']+)'", migration, re.M)
    return {"classifiers": named, "series": series.group(1) if series else None}


def constraints_ref(series: str) -> str:
    """The openstack/requirements reference that holds the series' upper-constraints.txt."""
    name = series.replace("_", ".")
    refs = [f"stable/{name}", f"unmaintained/{name}", f"{name}-eom", f"{name}-eol", "master"]
    for ref in refs:
        if subprocess.run(["git", "-C", str(REQUIREMENTS_REPO), "rev-parse", "--verify", "-q", ref],
                          capture_output=True).returncode == 0:
            return ref
    raise MatrixError(f"{REQUIREMENTS_REPO}: none of {', '.join(refs)}")


def make_venv(python: Path, venv: Path) -> Path:
    """A virtual environment for ``python`` (virtualenv for Python 2, which has no venv module)."""
    if (venv / "bin" / "python").exists():
        return venv / "bin" / "python"
    if python.parent.parent.name.startswith("2."):
        tool = HOME / "virtualenv-py2"
        if not tool.exists():
            subprocess.run([str(python), "-m", "pip", *PIP, "install", "--target", str(tool), "virtualenv<20.22"],
                           check=True, capture_output=True)
        made = subprocess.run([str(python), "-m", "virtualenv", "-q", str(venv)], capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=str(tool)))
    else:
        made = subprocess.run([str(python), "-m", "venv", str(venv)], capture_output=True, text=True)
    if made.returncode:
        raise MatrixError(f"venv with {python}: {last_line(made.stderr)}")
    return venv / "bin" / "python"


def etc_files(release: str, venv: Path, work: Path) -> None:
    """Wheels of older releases leave out ``etc/``: take ``glance-api-paste.ini`` and ``policy.json`` from the
    release's sdist."""
    in_code = any(venv.glob("lib/python*/site-packages/glance/policies"))  # policies in code: Train and later
    wanted = ["glance-api-paste.ini"] + ([] if in_code else ["policy.json"])
    if all((venv / "etc" / "glance" / name).exists() for name in wanted):
        return
    ran = subprocess.run([sys.executable, "-m", "pip", "download", *PIP, "--no-deps", "--no-binary", ":all:",
                          "-d", str(work), f"glance=={release}"], capture_output=True,
                         text=True)
    sdists = list(work.glob(f"glance-{release}.tar.gz"))
    if not sdists:
        raise MatrixError(f"glance {release}: no etc/glance-api-paste.ini and no sdist: {last_line(ran.stderr)}")
    (venv / "etc" / "glance").mkdir(parents=True, exist_ok=True)
    with tarfile.open(sdists[0]) as tar:
        names = set(tar.getnames())
        for name in wanted:
            if f"glance-{release}/etc/{name}" in names and not (venv / "etc" / "glance" / name).exists():
                (venv / "etc" / "glance" / name).write_bytes(tar.extractfile(f"glance-{release}/etc/{name}").read())


DRIVERS = ["PyMySQL", "psycopg2-binary"]  # what Glance needs to reach MariaDB and PostgreSQL (not in its requirements)


def resolve(release: str, data: dict, drivers: bool = False) -> None:
    """Try to install ``release`` with its series' constraints (and, with ``drivers``, the database drivers the
    rolling-upgrade test needs, from the same constraints); record the pins or the error."""
    one = entry(data, release)
    for key in ("python", "series", "constraints", "installs", "error"):
        one.pop(key, None)
    if release == NEWEST:  # the Glance every other test runs: .venv-glance, from requirements-glance.txt
        said = subprocess.run([str(GLANCE_33), "-c", "import sys; from glance.db import migration; "
                               "print('%d.%d' % sys.version_info[:2], migration.CURRENT_RELEASE)"],
                              capture_output=True, text=True, check=True).stdout.split()
        one.update(series=said[1], python=said[0], constraints="requirements-glance.txt", installs=True)
        return
    with tempfile.TemporaryDirectory(prefix="imgspec-matrix-") as tmp:
        work = Path(tmp)
        try:
            facts = wheel_facts(release, work)
            one["series"] = facts["series"]
            have = pythons()
            usable = sorted((v for v in facts["classifiers"] if v in have), key=lambda v: [int(n) for n in v.split(".")])
            if not usable:
                raise MatrixError(f"none of the Pythons its classifiers name ({', '.join(facts['classifiers'])}) "
                                  f"is on this machine ({', '.join(have)})")
            one["python"] = usable[-1]
            ref = constraints_ref(facts["series"])
            one["constraints"] = f"openstack/requirements {ref}: upper-constraints.txt"
            upper = work / "upper-constraints.txt"
            upper.write_text(subprocess.run(["git", "-C", str(REQUIREMENTS_REPO), "show", f"{ref}:upper-constraints.txt"],
                                            capture_output=True, text=True, check=True).stdout)
            python = make_venv(have[one["python"]], work / "venv")
            ran = subprocess.run([str(python), "-m", "pip", *PIP, "install", f"glance=={release}",
                                  *(DRIVERS if drivers else []), "-c", str(upper)], capture_output=True, text=True)
            if ran.returncode:
                raise MatrixError(f"pip install glance=={release} -c upper-constraints.txt: "
                                  f"{last_line(ran.stderr + ran.stdout)}")
            frozen = subprocess.run([str(python), "-m", "pip", "freeze", "--all"], capture_output=True, text=True,
                                    check=True).stdout
            pins = [ln for ln in frozen.splitlines() if ln and not ln.startswith(("-", "pip==", "setuptools==", "wheel=="))]
            PINS.mkdir(exist_ok=True)
            (PINS / f"{release}.txt").write_text(
                f"# Glance {release} for the era matrix (tests/matrix.py), on Python {one['python']}: what pip chose\n"
                f"# for glance=={release} with {one['constraints']}\n" + "\n".join(sorted(pins)) + "\n")
            one["installs"] = True
        except MatrixError as exc:
            one["installs"], one["error"] = False, str(exc)


def _pinned(pins: str, name: str) -> str | None:
    found = re.search(rf"^{re.escape(name)}==(\S+)$", pins, re.M | re.I)
    return found.group(1) if found else None


def override(release: str, engine: str, data: dict) -> list[str]:
    """The pins ``release`` replaces on ``engine`` (the releases file's engine_overrides), or none."""
    rule = data.get("engine_overrides", {}).get(engine)
    if rule is None or release == NEWEST:
        return []
    pins = (PINS / f"{release}.txt").read_text()
    for name, below in rule["below"].items():
        have = _pinned(pins, name)
        if have is not None and release_key(have) < release_key(below):
            return rule["install"]
    return []


def install(release: str, one: dict, replaced: list[str] | None = None) -> Path:
    """The release's interpreter, installed from its pins into _build/matrix (once); with ``replaced`` (pins such as
    ``SQLAlchemy==1.2.19``), a venv of its own with those pins instead of the release's."""
    if release == NEWEST:
        return GLANCE_33  # .venv-glance, from requirements-glance.txt
    if not one.get("installs"):
        raise MatrixError(f"glance {release} does not install here: {one.get('error')}")
    pins = PINS / f"{release}.txt"
    wanted = pins.read_text()
    venv = HOME / release
    if replaced:
        names = {r.split("==")[0].lower() for r in replaced}
        wanted = "\n".join([ln for ln in wanted.splitlines() if ln.split("==")[0].lower() not in names] + replaced) + "\n"
        venv = HOME / f"{release}+{'+'.join(sorted(replaced))}"
    stamp = venv / ".installed"
    python = venv / "bin" / "python"
    if stamp.exists() and stamp.read_text() == wanted:
        with tempfile.TemporaryDirectory(prefix="imgspec-matrix-") as tmp:
            etc_files(release, venv, Path(tmp))
        return python
    have = pythons()
    if one["python"] not in have:
        raise MatrixError(f"glance {release} needs Python {one['python']}, which this machine lacks "
                          f"(it has {', '.join(have)})")
    make_venv(have[one["python"]], venv)
    with tempfile.TemporaryDirectory(prefix="imgspec-matrix-") as tmp:
        (Path(tmp) / "pins.txt").write_text(wanted)
        ran = subprocess.run([str(python), "-m", "pip", *PIP, "install", "--no-deps", "-r", str(Path(tmp) / "pins.txt")],
                             capture_output=True, text=True)
        if ran.returncode:
            raise MatrixError(f"pip install -r {pins.relative_to(ROOT)}{' with ' + ', '.join(replaced) if replaced else ''}: "
                              f"{last_line(ran.stderr + ran.stdout)}")
        etc_files(release, venv, Path(tmp))
    stamp.write_text(wanted)
    return python


def export(url: str, out: Path, to: str | None = None) -> tuple[dict[str, dict], str]:
    """The records ``imgspec export-sql --strict`` gives for the database at ``url`` (at ``to``, default the newest
    released version), validated by ``imgspec validate``, and its summary line."""
    ran = subprocess.run([sys.executable, "-m", "imgspec", "export-sql", "--strict", *(["--to", to] if to else []),
                          url, str(out)], capture_output=True, text=True, cwd=ROOT)
    if ran.returncode:
        raise MatrixError(f"export-sql {url}: {last_line(ran.stderr)}")
    checked = subprocess.run([sys.executable, "-m", "imgspec", "validate", "-q", str(out)], capture_output=True,
                             text=True, cwd=ROOT)
    if checked.returncode:
        raise MatrixError(f"imgspec validate {out}: {last_line(checked.stdout + checked.stderr)}")
    records = {p.stem: json.loads(p.read_text()) for p in (out / "records").glob("*.json")}
    return records, ran.stderr.strip().splitlines()[-1]


# the driver a release's Glance reaches each engine with: the matrix's venvs hold PyMySQL and psycopg2 (DRIVERS),
# Glance 33's .venv-glance PyMySQL and psycopg 3 (requirements-glance.txt)
GLANCE_DRIVER = {"mariadb": "mysql+pymysql", "postgresql": "postgresql+psycopg2"}
GLANCE_33_DRIVER = {"mariadb": "mysql+pymysql", "postgresql": "postgresql+psycopg"}


class Database:
    """Where a release's Glance keeps its rows: an SQLite file, or a database on a server tests/dbservers.py
    started.  ``url(python)`` is the URL that release's Glance reaches it by, ``export_url`` imgspec's; ``copy``
    makes another database of the same rows (to try one way of upgrading and then another from the same start)."""

    def __init__(self, engine: str, name: str, work: Path, server=None):
        self.engine, self.name, self.work, self.server = engine, name, work, server
        if server is not None:
            self.export_url = server.url("glance", "glance-secret", name)

    @classmethod
    def create(cls, engine: str, work: Path, server=None) -> Database:
        if engine == "sqlite":
            return cls(engine, "glance", work)
        server.create_database("glance", "glance", "glance-secret")
        return cls(engine, "glance", work, server)

    @property
    def path(self) -> Path:
        return self.work / f"{self.name}.sqlite"

    def url(self, python: Path) -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{self.path}"
        drivers = GLANCE_33_DRIVER if python == GLANCE_33 else GLANCE_DRIVER
        return drivers[self.engine] + self.export_url[self.export_url.index("://"):]

    @property
    def export(self) -> str:
        return f"sqlite:///{self.path}" if self.engine == "sqlite" else self.export_url

    def copy(self, name: str) -> Database:
        if self.engine == "sqlite":
            shutil.copyfile(self.path, self.work / f"{name}.sqlite")
        elif self.engine == "postgresql":
            self.server.admin(f"CREATE DATABASE {name} TEMPLATE {self.name} OWNER glance")
        else:  # MariaDB has no copy of a database: its dump, read into a new one
            self.server.admin(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4",
                              f"GRANT ALL ON `{name}`.* TO 'glance'@'127.0.0.1'")
            login = ["--socket", self.server.socket, "-uroot", f"-p{self.server.password}"]
            dump = subprocess.run(["mariadb-dump", *login, "--single-transaction", self.name], capture_output=True,
                                  check=True)
            subprocess.run(["mariadb", *login, name], input=dump.stdout, capture_output=True, check=True)
        return Database(self.engine, name, self.work, self.server)


SUMMARY = re.compile(r"revision (?P<revision>[^(]+?) \(layout (?P<layout>[^,]+), read as (?P<version>[\d.]+)\)")


def read_summary(line: str) -> dict:
    found = SUMMARY.search(line)
    if not found:
        raise MatrixError(f"export-sql said: {line}")
    return {"revision": found["revision"], "layout": found["layout"], "format_version": found["version"]}


def manage(python: Path, url: str, work: Path, *command: str, during=None) -> str | None:
    """A release's own ``glance-manage COMMAND`` on the database at ``url``: None, or the line that says why it
    failed.  ``during``: called while the command runs (after it started, before it is waited for); it is told
    whether the command was still running when it returned."""
    conf = work / "glance-manage.conf"
    conf.write_text(f"[database]\nconnection = {url}\n")
    proc = subprocess.Popen([str(python.parent / "glance-manage"), "--config-file", str(conf), *command],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        if during is not None:
            during.still_running = None
            during()
            during.still_running = proc.poll() is None
        out, _ = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return last_line(out) if proc.returncode else None


def db_sync(python: Path, database: Database, work: Path) -> str | None:
    """A release's own ``glance-manage db_sync`` over a database."""
    return manage(python, database.url(python), work, "db_sync")


def upgrade_with_33(release: str, database: Database, work: Path, data: dict, engine: str = "sqlite") -> tuple[dict, Database]:
    """Glance 33's ``db_sync`` over the database; where it fails, what it said, and the same through the oldest
    later release of the matrix whose own ``db_sync`` takes the database (as an operator would step), each tried
    on a copy of the database as the release left it.  Returns what happened and the database upgraded."""
    saved = database.copy("before33")
    failed = db_sync(GLANCE_33, database, work)
    if failed is None:
        return {}, database
    out = {"refused": failed}
    for n, later in enumerate(data["releases"]):
        if release_key(later["release"]) <= release_key(release) or later["release"] == NEWEST or not later.get("installs"):
            continue
        trying = saved.copy(f"via{n}")
        python = install(later["release"], later, override(later["release"], engine, data))
        if db_sync(python, trying, work) is None and db_sync(GLANCE_33, trying, work) is None:
            return {**out, "via": later["release"]}, trying
    raise MatrixError(f"glance {release}: Glance 33's db_sync fails ({failed}) and no later release bridges it")


def _flat(doc, at: str = "") -> dict[str, str]:
    """``{JSON pointer: JSON text}`` of every leaf of ``doc`` (to say where two records differ)."""
    if isinstance(doc, dict) and doc:
        return {k: v for name, sub in doc.items() for k, v in _flat(sub, f"{at}/{name}").items()}
    if isinstance(doc, list) and doc:
        return {k: v for i, sub in enumerate(doc) for k, v in _flat(sub, f"{at}/{i}").items()}
    return {at: json.dumps(doc)}


def release_key(release: str) -> list[int]:
    return [int(n) for n in release.split(".")]


def run(release: str, one: dict, work: Path, spec, data: dict, engine: str = "sqlite") -> dict:
    """The matrix row of one release on ``engine`` (SQLite, or a MariaDB or PostgreSQL server of its own): what it
    serves and writes, read before and after Glance 33's db_sync."""
    from dbservers import ENGINES
    replaced = override(release, engine, data)
    python = install(release, one, replaced)
    server = None if engine == "sqlite" else ENGINES[engine]().start()
    try:
        (work / "server").mkdir(parents=True)
        database = Database.create(engine, work / "server", server)
        row = _run(release, one, python, database, work, spec, data, engine)
        return {**({"replaced": replaced} if replaced else {}), **row}
    finally:
        if server is not None:
            server.stop()


def _run(release: str, one: dict, python: Path, database: Database, work: Path, spec, data: dict, engine: str) -> dict:
    from differential import disagreements

    from imgspec.upgrade import upgrade

    single = data["single_store"].get(release) or data["single_store"].get(one["series"])
    server = GlanceServer(work / "server", python=python, env={"IMGSPEC_GLANCE_SINGLE_STORE": "1"} if single else {},
                          database_url=None if database.engine == "sqlite" else database.url(python))
    try:
        server.start(timeout=180)
        api = Api(server.url)
        newest = api_version(api)
        can = features(api)
        made = make_images(api, can)
        _, line = export(database.export, work / "export-newest")
        read = read_summary(line)  # the version the binding reads the release's revision as: export at it
        records, _ = export(database.export, work / "export", read["format_version"])
        row = {"api": f"{newest[0]}.{newest[1]}", "current": current_version(api), **read, "images": len(records),
               **({"single_store": single} if single else {}),
               "left_out": {step: why for step, why in sorted(can.items()) if why}}
        if newest >= (2, 17):  # the locations list, which the mapping compares, where the release's policy shows it
            status, _ = api.status("GET", f"/v2/images/{made['full']}/locations")
            if status != 200:
                row["locations_route"] = status
        missing = sorted(set(made.values()) - set(records))
        if missing:
            raise MatrixError(f"glance {release}: images not exported: {', '.join(missing)}")
        for image_id in made.values():
            if not records[image_id]["deleted"]:
                found = disagreements(api, records[image_id], spec, newest)
                if found:
                    raise MatrixError(f"glance {release}: the record and the API disagree: {found[0]}")
    finally:
        server.stop()
    how, upgraded = upgrade_with_33(release, database, work, data, engine)
    after, line = export(upgraded.export, work / "export-33")
    row["after_33"] = {**how, **read_summary(line), "images": len(after)}
    if set(after) != set(records):
        raise MatrixError(f"glance {release}: Glance 33's db_sync changed which images there are")
    unlike: set[str] = set()
    for image_id, record in records.items():
        expected = upgrade(record, to=after[image_id]["format_version"], spec=spec)
        differ = {re.sub(r"/\d+(?=/|$)", "/*", at) for at, _ in set(_flat(expected).items()) ^
                  set(_flat(after[image_id]).items())}
        cases = data["not_as_the_rules_say"]
        known = {name for name, case in cases.items() if set(case["pointers"]) & differ}
        left = differ - {p for name in known for p in cases[name]["pointers"]}
        if left:
            raise MatrixError(f"glance {release}: image {image_id} after Glance 33's db_sync is not the upgrade of "
                              f"its record at {', '.join(sorted(left))}")
        unlike |= known
    if unlike:
        row["after_33"]["not_as_the_rules_say"] = sorted(unlike)
    return row


ENGINES = ("mariadb", "postgresql")  # the servers each layout era also runs on (tests/dbservers.py)


def on_servers(data: dict) -> list[str]:
    """The releases the matrix also runs on MariaDB and PostgreSQL: the oldest of each layout era (the layout its
    own db_sync leaves, as the SQLite run found it)."""
    out: dict[str, str] = {}
    for r in data["releases"]:
        layout = (r.get("matrix") or {}).get("layout")
        if layout and layout not in out:
            out[layout] = r["release"]
    return list(out.values())


def in_make_test(data: dict) -> list[str]:
    """The releases ``make test`` runs: the oldest that installs, and Glance 33."""
    installs = [r["release"] for r in data["releases"] if r.get("installs")]
    return [installs[0], NEWEST]


def needed(data: dict, releases: list[str]) -> list[str]:
    """The releases whose environments a run of ``releases`` needs: them, and the releases it steps through."""
    out = []
    for release in releases:
        via = (entry(data, release).get("matrix") or {}).get("after_33", {}).get("via")
        out += [r for r in (release, via) if r and r not in out]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["resolve", "install", "run"])
    p.add_argument("releases", nargs="*", help="default: every release of the releases file")
    p.add_argument("--write", action="store_true", help="record the results in the releases file")
    p.add_argument("--make-test", action="store_true", help="the releases make test runs, the rolling pair's too (with install)")
    p.add_argument("--drivers", action="store_true", help="resolve: with the MariaDB and PostgreSQL drivers")
    p.add_argument("--servers", action="store_true",
                   help="run on MariaDB and PostgreSQL, not SQLite (default releases: the oldest of each layout era)")
    args = p.parse_intermixed_args(argv)
    data = load()
    rolling = [data["rolling"]["from"], data["rolling"]["to"]] if "rolling" in data else []
    if args.releases:
        chosen = args.releases
    elif args.make_test:
        chosen = needed(data, in_make_test(data)) + rolling
    elif args.servers:
        chosen = on_servers(data)
        chosen += [r for r in needed(data, chosen) if r not in chosen] if args.what == "install" else []
    else:
        chosen = [r["release"] for r in data["releases"]]
    if args.what == "resolve":
        for release in chosen:
            resolve(release, data, args.drivers)
            one = entry(data, release)
            print(f"{release}: {'installs on Python ' + one['python'] if one['installs'] else one['error']}",
                  flush=True)
            record(release, one)
        return 0
    if args.what == "install":  # the venvs a run needs, made before it (make test's setup)
        for release in chosen:
            print(f"{release}: {install(release, entry(data, release))}", flush=True)
        return 0
    from imgspec.spec import Spec
    spec = Spec.default()
    failed = 0
    for release in chosen:
        one = entry(data, release)
        if release != NEWEST and not one.get("installs"):
            print(f"{release}: does not install ({one.get('error')})")
            continue
        for engine in ENGINES if args.servers else ("sqlite",):
            with tempfile.TemporaryDirectory(prefix=f"imgspec-matrix-{release}-") as tmp:
                try:
                    row = run(release, one, Path(tmp), spec, data, engine)
                except (MatrixError, RuntimeError, AssertionError, subprocess.CalledProcessError) as exc:
                    failed += 1
                    print(f"{release} on {engine}: FAILED: {exc}", flush=True)
                    continue
            print(f"{release} on {engine}: {json.dumps(row)}", flush=True)
            recorded = one.get("matrix") if engine == "sqlite" else one.get("servers", {}).get(engine)
            if args.write:
                if engine == "sqlite":
                    one["matrix"] = row
                else:
                    one.setdefault("servers", {})[engine] = row
                record(release, one)
            elif recorded != row:
                failed += 1
                print(f"{release} on {engine}: differs from {RELEASES.relative_to(ROOT)}: {json.dumps(recorded)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
