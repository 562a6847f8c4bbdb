"""A rolling upgrade with two Glance releases serving one database (MariaDB or PostgreSQL, tests/dbservers.py).

    python tests/rolling.py [--write] [ENGINE ...]

Release N (``ROLLING["from"]`` of schemas/bindings/glance-matrix.json) serves and writes images; release N+1's
``glance-manage db expand`` runs; N+1 starts beside N on the same database; both write and read while N+1's
``db migrate`` runs; then ``db contract``, and N stops.  After every step ``imgspec export-sql`` reads the
database in one snapshot: every image made so far is exported whole, validates, and reads through each server
still serving as that server's GET returns it (field by field through the mapping).  Each step is recorded:
the alembic heads, how the export reads them, the format versions of the records, who serves, who wrote, what
N makes of what N+1 wrote.  ``--write`` records the steps under ``rolling`` in the releases file, which the
operators' guide renders; ``tests/test_rolling_upgrade.py`` runs the same and compares.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matrix  # noqa: E402
from dbservers import ENGINES  # noqa: E402
from glance_scenarios import Api, api_version, features, make_images  # noqa: E402
from support import ROOT  # noqa: E402

from glance_live import GlanceServer  # noqa: E402


class Window:
    """Two releases and one database server, the steps recorded as they are taken."""

    def __init__(self, old: str, new: str, engine: str, work: Path, spec):
        self.old, self.new, self.engine, self.work, self.spec = old, new, engine, work, spec
        data = matrix.load()
        self.python = {r: matrix.install(r, matrix.entry(data, r)) for r in (old, new)}
        self.db = ENGINES[engine]().start()
        url = self.db.create_database("glance", "glance", "glance-secret")
        self.export_url = url
        self.glance_url = matrix.GLANCE_DRIVER[engine] + url[url.index("://"):]
        self.servers: dict[str, GlanceServer] = {}
        self.made: dict[str, str] = {}  # image id -> the release that wrote it
        self.steps: list[dict] = []

    def serve(self, release: str, sync: bool) -> Api:
        folder = self.work / release
        folder.mkdir()
        server = GlanceServer(folder, database_url=self.glance_url, python=self.python[release], sync=sync)
        server.start(timeout=180)
        self.servers[release] = server
        return Api(server.url)

    def manage(self, release: str, *command: str, during=None) -> str | None:
        """``glance-manage db COMMAND`` of ``release``: None, or the line that says why it failed."""
        return matrix.manage(self.python[release], self.glance_url, self.work, "db", *command, during=during)

    def write(self, release: str, name: str) -> None:
        """An image with data, a tag and a property, written through ``release``'s API."""
        api = Api(self.servers[release].url)
        image = api.create(name=f"rolling-{name}", disk_format="raw", container_format="bare", tags=[name],
                           written_by=release)
        api.upload(image)
        self.made[image] = release

    def observe(self, step: str, ran: str, refused: str | None = None) -> dict:
        """Export the database now and hold it to every server still serving."""
        from differential import disagreements
        out = self.work / f"export-{len(self.steps)}"
        done = subprocess.run([sys.executable, "-m", "imgspec", "export-sql", "--strict", self.export_url, str(out)],
                              capture_output=True, text=True, cwd=ROOT)
        row: dict = {"step": step, "ran": ran, "serving": sorted(self.servers, key=matrix.release_key)}
        if refused:
            row["refused"] = refused
        if done.returncode:
            row["export"] = {"refused": matrix.last_line(done.stderr)}
            self.steps.append(row)
            return row
        summary = matrix.read_summary(done.stderr.strip().splitlines()[-1])
        records = {p.stem: json.loads(p.read_text()) for p in (out / "records").glob("*.json")}
        checked = subprocess.run([sys.executable, "-m", "imgspec", "validate", "-q", str(out)], capture_output=True,
                                 text=True, cwd=ROOT)
        missing = sorted(set(self.made) - set(records))
        if checked.returncode or missing:
            raise matrix.MatrixError(f"{step}: the export is not whole: {missing or checked.stdout[-300:]}")
        row["export"] = {**summary, "images": len(records),
                         "versions": sorted({r["format_version"] for r in records.values()})}
        reads = {}
        for release, server in self.servers.items():
            api = Api(server.url)
            served = api_version(api)
            wrong = [line for image, writer in self.made.items() if not records[image]["deleted"]
                     for line in disagreements(api, records[image], self.spec, served)]
            if wrong:
                raise matrix.MatrixError(f"{step}: Glance {release} reads otherwise than the export: {wrong[0]}")
            writers = sorted({w for w in self.made.values()}, key=matrix.release_key)
            reads[release] = f"every image ({', '.join('written by ' + w for w in writers)}) as the export reads it"
        row["reads"] = reads
        row["written"] = {w: sum(1 for x in self.made.values() if x == w) for w in self.made.values()}
        self.steps.append(row)
        return row

    def run(self) -> list[dict]:
        old, new = self.old, self.new
        try:
            api = self.serve(old, sync=True)
            self.made.update({i: old for i in make_images(api, features(api)).values()})
            self.observe(f"Glance {old} serving", f"Glance {old}'s glance-manage db_sync")
            refused = self.manage(new, "expand")
            self.observe(f"Glance {new}'s db expand", f"Glance {new}'s glance-manage db expand", refused)
            if refused:  # no rolling upgrade on this engine: the offline way, N stopped first
                self.servers.pop(old).stop()
                failed = self.manage(new, "sync")
                self.serve(new, sync=False)
                self.write(new, "after")
                self.observe(f"Glance {new} alone", f"Glance {old} stopped, then Glance {new}'s glance-manage db "
                             "sync (offline)", failed)
                return self.steps
            self.serve(new, sync=False)
            self.write(old, "window-old")
            self.write(new, "window-new")
            self.observe("both serving", f"Glance {new} started beside Glance {old}; each writes an image")
            def writes():  # while db migrate runs: both servers at once
                from concurrent.futures import ThreadPoolExecutor
                with ThreadPoolExecutor(2) as pool:
                    for done in [pool.submit(self.write, r, f"migrate-{n}") for r, n in ((old, "old"), (new, "new"))]:
                        done.result()
            failed = self.manage(new, "migrate", during=writes)
            when = "while it runs" if writes.still_running else "after it ended (it ended before they did)"
            self.observe(f"Glance {new}'s db migrate", f"Glance {new}'s glance-manage db migrate; each server writes an image "
                         + when, failed)
            failed = self.manage(new, "contract")
            self.observe(f"Glance {new}'s db contract", f"Glance {new}'s glance-manage db contract", failed)
            self.servers.pop(old).stop()
            self.write(new, "after")
            self.observe(f"Glance {new} alone", f"Glance {old} stopped; Glance {new} writes an image")
            return self.steps
        finally:
            for server in self.servers.values():
                server.stop()
            self.db.stop()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("engines", nargs="*", default=sorted(ENGINES))
    p.add_argument("--write", action="store_true", help="record the steps in the releases file")
    args = p.parse_args(argv)
    from imgspec.spec import Spec
    spec = Spec.default()
    data = matrix.load()
    pair = data["rolling"]
    for engine in args.engines:
        with tempfile.TemporaryDirectory(prefix=f"imgspec-rolling-{engine}-") as tmp:
            steps = Window(pair["from"], pair["to"], engine, Path(tmp), spec).run()
        print(json.dumps({engine: steps}, indent=1), flush=True)
        if args.write:
            matrix.record_key(["rolling", "engines", engine], steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
