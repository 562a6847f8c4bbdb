"""``make bench``: throughput figures, printed (never asserted by the tests).

    python tools/bench.py [--records N] [--only upgrade|first-use|validate|cli|export] [--export-sizes A,B,...]
                        [--export-engines sqlite,postgresql]

upgrade   upgrade-store on a generated 1.0 store of N records, next to the floor of
          reading, strictly parsing and atomically rewriting the same files
first-use a service's get of N/10 records a first-use rule must rewrite (a store at 2.2 under a lazy upgrade
          to 2.3), next to a plain strict read of the same files, and the second get
validate  N generated records (newest version) as JSON Lines, compact (as orjson, jq -c and JSON.stringify
          write them) and spaced (Python's json.dumps): imgspec's strict parse and validation, next to the
          floor of parsing alone (orjson) and to plain jsonschema
cli       the `imgspec validate` command on N records as one JSON Lines file (compact on every core and on
          one, spaced on every core) and on a folder of N/5 files, next to the single-core orjson parse floor
          of the same bytes (per CPU second used), to ajv on the same lines and bundled schema (one Node
          process), and to `check-jsonschema --schemafile` on the self-contained schema (on a sample, scaled)

export    `imgspec export-sql --no-fsync` of generated Glance databases (layout train: each image with 3
          properties, 2 tags, a location and a member) of N/10, N and, with --export-sizes, other sizes (make
          bench: 10k, 100k, 1M images) on SQLite and, where PostgreSQL is installed, on a server of its own:
          time and peak memory of the process, next to the floor of a plain SELECT of the same rows and a
          write of one JSON file per image (no validation, no mapping)

Every figure's work is checked: all records valid, all upgraded, each peer's count as expected.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from imgspec import atomic, jsonfile
from imgspec.format import validation
from imgspec.sizing import corpus
from imgspec.spec import Spec
from imgspec.store.upgrade import record_files, upgrade_store
from imgspec.upgrade import upgrade


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:10,.0f} records/s  ({seconds:6.2f} s)"


def bench_upgrade(records: int, durable: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="imgspec-bench-"))
    try:
        t = time.perf_counter()
        store = corpus.write_store(work / "store", records, seed=42)
        print(f"generated a 1.0 store of {records:,} records in {time.perf_counter() - t:.1f} s"
              f" ({'fsync per record' if durable else 'no fsync'})")
        files = record_files(store)
        os.sync()  # each timed phase starts with no writeback left over from the one before
        t = time.perf_counter()
        for path in files:  # the floor: what any upgrader must do at least
            atomic.write_text(path, jsonfile.dumps(jsonfile.load(path)), durable)
        floor = time.perf_counter() - t
        os.sync()
        t = time.perf_counter()
        outcome = upgrade_store(store, None, durable=durable)
        spent = time.perf_counter() - t
        assert outcome.upgraded == records
        print(f"  floor: read + strict parse + atomic write  {_rate(records, floor)}")
        print(f"  upgrade-store 1.0 -> newest                {_rate(records, spent)}")
        print(f"  upgrade / floor                            {floor / spent:10.0%}   (aim: at least 70%)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_first_use(records: int, durable: bool) -> None:
    """A service's get under a lazy upgrade: each record at 2.2 is rewritten at its first get (2.2 -> 2.3 is
    first-use), next to a plain strict read of the same files, then the second get (nothing left to write)."""
    from imgspec.store import service
    work = Path(tempfile.mkdtemp(prefix="imgspec-bench-first-use-"))
    try:
        store = corpus.write_store(work / "store", records, seed=7)
        upgrade_store(store, "2.2", durable=False)
        service.begin_first_use(store, "2.3")
        opened = service.open(store, version="2.3", durable=durable)
        ids = opened.ids()
        pending = sum(1 for i in ids if opened.pending(jsonfile.load(opened.record_path(i))["format_version"]))
        assert pending == len(ids) == records  # every get below has a record to rewrite
        print(f"a store of {records:,} records at 2.2 under a lazy upgrade to 2.3 (first-use)"
              f" ({'fsync per record' if durable else 'no fsync'})")
        os.sync()
        t = time.perf_counter()
        for i in ids:
            jsonfile.load(opened.record_path(i))
        floor = time.perf_counter() - t
        copies = work / "copies"
        shutil.copytree(store / "records", copies)
        os.sync()
        t = time.perf_counter()
        for i in ids:  # what any first-use writer must do at least: read, parse, and atomically replace a record
            path = copies / f"{i}.json"
            atomic.write_text(path, jsonfile.dumps(jsonfile.load(path)), durable)
        rewrite = time.perf_counter() - t
        os.sync()
        t = time.perf_counter()
        for i in ids:
            opened.get(i)
        first = time.perf_counter() - t
        t = time.perf_counter()
        for i in ids:
            assert opened.get(i)["format_version"] == "2.3"
        again = time.perf_counter() - t
        assert all(jsonfile.load(opened.record_path(i))["format_version"] == "2.3" for i in ids)  # all rewritten
        print(f"  floor: plain strict read of the record      {_rate(records, floor)}")
        print(f"  floor: read + strict parse + atomic write   {_rate(records, rewrite)}")
        print(f"  get, first use (upgrade + lock + rewrite)    {_rate(records, first)}")
        print(f"  get, again (upgraded: read + check)          {_rate(records, again)}")
        print(f"  first get / plain read                       {first / floor:10.1f}x  (aim: within 2x)")
        print(f"  first get / read + atomic write              {first / rewrite:10.1f}x")
        print(f"  second get / plain read                      {again / floor:10.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


LINE_FORMS = {  # how JSON Lines writers lay out a record: the form, and what writes it so
    "compact": ("orjson.dumps, jq -c, JSON.stringify", lambda orjson, doc: orjson.dumps(doc)),
    "spaced": ("Python's json.dumps", lambda orjson, doc: json.dumps(doc).encode()),
}


def generated_lines(seed: int, records: int) -> tuple[list[bytes], list[bytes]]:
    """``records`` generated records of the newest released version, as compact and as spaced JSON Lines."""
    import random

    import orjson
    rng = random.Random(seed)
    dist = corpus.distributions(Spec.default())
    docs = [upgrade(corpus.record_1_0(rng, dist)) for _ in range(records)]
    return tuple([write(orjson, doc) for doc in docs] for _, write in LINE_FORMS.values())  # type: ignore[return-value]


def bench_validate(records: int) -> None:
    import orjson

    spec = Spec.default()
    forms = dict(zip(LINE_FORMS, generated_lines(7, records), strict=True))
    lines = forms["compact"]
    size = sum(map(len, lines)) / len(lines)
    print(f"{records:,} generated records of the newest version, {size:,.0f} bytes each on average (compact)")
    t = time.perf_counter()
    for line in lines:
        orjson.loads(line)
    floor = time.perf_counter() - t
    print(f"  floor: orjson parse alone, compact lines     {_rate(records, floor)}")
    for form, (writer, _) in LINE_FORMS.items():
        t = time.perf_counter()
        bad = sum(1 for line in forms[form] if validation.check(jsonfile.loads(line), spec=spec))
        ours = time.perf_counter() - t
        assert bad == 0, f"{bad} records invalid: the figure would measure refusals"
        print(f"  imgspec: strict parse + validate, {form:8}   {_rate(records, ours)}   ({writer})")
        print(f"  imgspec / floor                              {floor / ours:10.0%}   (aim: at least 50%)")
    sample = lines[: max(1, records // 20)]
    version = spec.latest_released  # what the records are (upgrade() writes the newest released version)
    assert all(orjson.loads(line)["format_version"] == version for line in sample)
    v = validation.validator("image", version)  # the reference validator alone, no fast path
    t = time.perf_counter()
    plain_valid = sum(v.is_valid(orjson.loads(line)) for line in sample)
    plain = (time.perf_counter() - t) * len(lines) / len(sample)
    assert plain_valid == len(sample), f"plain jsonschema found {len(sample) - plain_valid} invalid: it measured no work"
    print(f"  plain jsonschema {version} (on {len(sample):,}, scaled)    {_rate(records, plain)}   (all valid)")


def bench_cli(records: int) -> None:
    import subprocess
    import sys

    import orjson

    spec = Spec.default()
    forms = dict(zip(LINE_FORMS, generated_lines(11, records), strict=True))
    lines = forms["compact"]
    work = Path(tempfile.mkdtemp(prefix="imgspec-bench-cli-"))
    try:
        streams = {}
        for form, written in forms.items():
            streams[form] = work / f"records-{form}.jsonl"
            streams[form].write_bytes(b"\n".join(written) + b"\n")
        stream = streams["compact"]
        folder = work / "records"
        folder.mkdir()
        files = lines[: max(1, records // 5)]
        for i, line in enumerate(files):
            (folder / f"{i}.json").write_bytes(line)
        cores = os.cpu_count() or 1
        print(f"{records:,} records as JSON Lines; {len(files):,} of them as files; {cores} cores")

        def timed_cpu(cmd, env=None) -> tuple[float, float, bytes]:
            """Wall and CPU seconds (the children's user + system time) of a command that must succeed."""
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            ran = subprocess.run(cmd, capture_output=True, env=env)
            wall = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            assert ran.returncode == 0, ran.stdout[-500:] + ran.stderr[-500:]
            return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, ran.stdout + ran.stderr

        t = time.perf_counter()
        for line in stream.read_bytes().splitlines():
            orjson.loads(line)
        floor_lines = time.perf_counter() - t
        t = time.perf_counter()
        for path in folder.iterdir():
            orjson.loads(path.read_bytes())
        floor_files = time.perf_counter() - t
        print(f"  floor: orjson parse, one core, JSON Lines    {_rate(records, floor_lines)}")
        cpu = {}
        for form, jobs in (("compact", "0"), ("compact", "1"), ("spaced", "0")):
            wall, cpu[form, jobs], said = timed_cpu([sys.executable, "-m", "imgspec", "validate", "-j", jobs,
                                                     str(streams[form])])
            assert f"{records} record(s) checked: all valid".encode() in said, said[-300:]
            used = f"{cores} cores" if jobs == "0" else "1 core"
            print(f"  imgspec validate FILE.jsonl, {form}, {used:7} {_rate(records, wall)}  "
                  f"{cpu[form, jobs]:.2f} CPU s")
            print(f"  imgspec / floor, per CPU second              {floor_lines / cpu[form, jobs]:10.0%}   "
                  "(aim: at least 50%)")
        node, ajv_home = shutil.which("node"), spec.root / "_build" / "ajv"
        if node and (ajv_home / "node_modules" / "ajv").is_dir():
            schema = spec.root / "schemas" / "bundled" / spec.latest_released / "image.json"
            ajv_wall, ajv_cpu, said = timed_cpu([node, str(spec.root / "tools" / "ajv" / "validate-lines.mjs"),
                                                 str(schema), str(stream)], {**os.environ, "AJV_HOME": str(ajv_home)})
            assert said.strip() == f"{records} valid 0 invalid".encode(), said[-300:]  # it did the work it names
            print(f"  ajv 2020 + ajv-formats, one Node process     {_rate(records, ajv_wall)}  {ajv_cpu:.2f} CPU s")
            for jobs in ("0", "1"):
                print(f"  imgspec -j {jobs} / ajv, records per CPU second    {ajv_cpu / cpu['compact', jobs]:10.2f}x  "
                      "(aim: above 1)")
        else:
            print("  ajv: not installed (make ajv)")
        print(f"  floor: read + orjson parse, one core, files  {_rate(len(files), floor_files)}")
        files_wall, files_cpu, _ = timed_cpu([sys.executable, "-m", "imgspec", "validate", "--quiet", str(folder)])
        print(f"  imgspec validate DIR, {cores} cores              {_rate(len(files), files_wall)}  {files_cpu:.2f} CPU s")
        print(f"  imgspec / floor, wall                        {floor_files / files_wall:10.0%}")
        print(f"  imgspec / floor, per CPU second              {floor_files / files_cpu:10.0%}   (aim: at least 50%)")
        checker = Path(sys.executable).parent / "check-jsonschema"
        if checker.exists():
            sample = sorted(folder.iterdir())[: max(1, len(files) // 10)]
            schema = spec.root / "schemas" / "bundled" / spec.latest_released / "image.json"
            other = timed_cpu([str(checker), "--schemafile", str(schema), *map(str, sample)])[0] * len(files) / len(sample)
            print(f"  check-jsonschema (on {len(sample):,}, scaled)       {_rate(len(files), other)}")
            print(f"  imgspec / check-jsonschema, files            {other / files_wall:10.1f}x  (aim: at least 10x)")
        else:
            print("  check-jsonschema: not installed (pip install check-jsonschema)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


# The indexes Glance 33's models declare (glance/db/sqlalchemy/models.py, __table_args__) on the columns an export
# selects and orders by: without them each batch's child rows are a scan of the whole table, as no Glance has it.
GLANCE_INDEXES = [("images", "created_at_image_idx", "created_at"),
                  ("image_properties", "ix_image_properties_image_id", "image_id"),
                  ("image_tags", "ix_image_tags_image_id", "image_id"),
                  ("image_locations", "ix_image_locations_image_id", "image_id"),
                  ("image_members", "ix_image_members_image_id", "image_id")]


def fill_glance_database(url: str, images: int, batch: int = 20_000) -> None:
    """A Glance database at ``url`` in layout train (revision 2024_1_contract01), tables made from the binding's
    columns: ``images`` active public images, each with 3 properties, 2 tags, a location and a member."""
    import datetime
    import uuid

    import sqlalchemy as sa

    from imgspec.sql import binding as sqlbinding
    from imgspec.sql import export as sqlexport
    layout = sqlbinding.load(Spec.default()).layouts["train"]
    meta = sa.MetaData()
    tables = sqlexport.tables(layout)
    for table in tables.values():
        table.to_metadata(meta)
    rev = layout.revision_table
    version = sa.Table(rev.name, meta, *[sa.Column(c.name, sqlexport._sa_type(sa, c.type), primary_key=c.primary_key,
                                                   nullable=c.null) for c in rev.columns])
    engine = sa.create_engine(url)
    made = datetime.datetime(2026, 1, 2, 3, 4, 5)
    common = {"created_at": made, "updated_at": made, "deleted_at": None, "deleted": False}
    for table, index, column in GLANCE_INDEXES:
        sa.Index(index, meta.tables[table].c[column])
    try:
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(version.insert(), [{"version_num": "2024_1_contract01"}])
        for start in range(0, images, batch):
            rows: dict[str, list] = {name: [] for name in tables}
            for n in range(start, min(images, start + batch)):
                image = str(uuid.UUID(int=n + 1))
                rows["images"].append({
                    "id": image, "name": f"image-{n}", "disk_format": "qcow2", "container_format": "bare",
                    "size": 1_073_741_824 + n, "virtual_size": 10_737_418_240, "status": "active",
                    "checksum": f"{n:032x}", "owner": "7d9e1a2f4b3c4e5f8a6b0c1d2e3f4a5b", "min_disk": 10,
                    "min_ram": 512, "protected": False, "visibility": "public", "os_hidden": False,
                    "os_hash_algo": "sha512", "os_hash_value": f"{n:0128x}", **common})
                for i, (key, value) in enumerate((("os_distro", "ubuntu"), ("os_version", "24.04"),
                                                  ("hw_disk_bus", "virtio"))):
                    rows["image_properties"].append({"id": 3 * n + i + 1, "image_id": image, "name": key,
                                                     "value": value, **common})
                for i, tag in enumerate(("bench", f"n{n % 100}")):
                    rows["image_tags"].append({"id": 2 * n + i + 1, "image_id": image, "value": tag, **common})
                rows["image_locations"].append({"id": n + 1, "image_id": image, "value": f"file:///var/lib/glance/"
                                                f"images/{image}", "meta_data": '{"store": "fs"}', "status": "active",
                                                **common})
                rows["image_members"].append({"id": n + 1, "image_id": image, "member": f"{n % 997:032x}",
                                              "can_share": False, "status": "accepted", **common})
            with engine.begin() as conn:
                for name in ("images", "image_properties", "image_tags", "image_locations", "image_members"):
                    conn.execute(tables[name].insert(), rows[name])
    finally:
        engine.dispose()


SELECT_AND_WRITE = """
import sys, orjson, sqlalchemy as sa
from pathlib import Path
url, out = sys.argv[1], Path(sys.argv[2])
out.mkdir()
engine = sa.create_engine(url)
images = {}
with engine.connect() as conn:
    for row in conn.execute(sa.text("SELECT * FROM images ORDER BY created_at, id")):
        images[row.id] = dict(row._mapping, properties={}, tags=[], locations=[], members=[])
    for table, key in (("image_properties", "properties"), ("image_tags", "tags"), ("image_locations", "locations"),
                       ("image_members", "members")):
        for row in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")):
            image = images[row.image_id]
            if key == "properties":
                image[key][row.name] = row.value
            else:
                image[key].append(dict(row._mapping))
for image_id, image in images.items():
    (out / f"{image_id}.json").write_bytes(orjson.dumps(image, default=str))
print(len(images))
"""


ENGINES = ("sqlite", "postgresql")  # the engines bench_export can run on (PostgreSQL where it is installed)


def bench_export(sizes: list[int], engines: tuple[str, ...] = ENGINES) -> None:
    import subprocess
    import sys
    sys.path.insert(0, str(Spec.default().root / "tests"))
    from dbservers import PostgreSQL, ServerError

    def measured(cmd: list[str]) -> tuple[float, int, str]:
        """Wall seconds and peak resident memory (MiB) of a command in a process of its own."""
        wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
                   "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
                   "w = time.perf_counter() - t; peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
                   "print(w, peak // 1024); print(r.returncode); sys.stdout.write(r.stdout + r.stderr)")
        ran = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, check=True)
        first, code, *said = ran.stdout.split("\n", 2)
        assert code == "0", said
        wall, peak = first.split()
        return float(wall), int(peak), "".join(said)

    def one(engine_name: str, url: str, images: int, work: Path) -> None:
        out = work / f"store-{engine_name}-{images}"
        wall, peak, said = measured([sys.executable, "-m", "imgspec", "export-sql", "--no-fsync", "--strict", url,
                                     str(out)])
        assert f"exported {images} images" in said, said[-300:]  # it did the work it names
        assert len(list((out / "records").iterdir())) == images
        floor_wall, floor_peak, counted = measured([sys.executable, "-c", SELECT_AND_WRITE, url,
                                                    str(work / f"floor-{engine_name}-{images}")])
        assert counted.strip() == str(images)
        print(f"  {engine_name:10} {images:>9,} images: export-sql {_rate(images, wall)}  peak {peak:5,} MiB | "
              f"SELECT + write floor {_rate(images, floor_wall)}  peak {floor_peak:5,} MiB | "
              f"{floor_wall / wall:4.0%} of the floor")
        shutil.rmtree(out)
        shutil.rmtree(work / f"floor-{engine_name}-{images}")

    work = Path(tempfile.mkdtemp(prefix="imgspec-bench-export-"))
    try:
        for images in sizes if "sqlite" in engines else ():
            database = work / f"glance-{images}.sqlite"
            fill_glance_database(f"sqlite:///{database}", images)
            one("SQLite", f"sqlite:///{database}", images, work)
            database.unlink()
        if "postgresql" not in engines:
            return
        try:
            server = PostgreSQL().start()
        except (ServerError, OSError) as exc:
            print(f"  PostgreSQL: no server ({exc})")
            return
        try:
            for images in sizes:
                name = f"glance{images}"
                url = server.create_database(name, f"owner{images}", "bench-secret")
                fill_glance_database(url, images)
                one("PostgreSQL", url, images, work)
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _engines(text: str) -> tuple[str, ...]:
    named = tuple(text.split(","))
    unknown = sorted(set(named) - set(ENGINES))
    if unknown:
        raise argparse.ArgumentTypeError(f"{', '.join(unknown)}: not one of {', '.join(ENGINES)}")
    return named


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python tools/bench.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--only", choices=["upgrade", "first-use", "validate", "cli", "export"])
    p.add_argument("--export-sizes", type=lambda t: [int(x) for x in t.split(",")],
                   help="image counts of the export databases (default: N/10 and N)")
    p.add_argument("--export-engines", type=_engines, default=ENGINES,
                   help="the engines of the export databases (default: sqlite,postgresql)")
    p.add_argument("--fsync", action="store_true", help="fsync every record (durable against power loss)")
    args = p.parse_args(argv)
    if args.only in (None, "upgrade"):
        print("== upgrade ==")
        bench_upgrade(args.records, args.fsync)
    if args.only in (None, "first-use"):
        print("== first use ==")
        bench_first_use(max(1, args.records // 10), args.fsync)
    if args.only in (None, "validate"):
        print("== validate ==")
        bench_validate(args.records)
    if args.only in (None, "cli"):
        print("== validate, the command ==")
        bench_cli(args.records)
    if args.only in (None, "export"):
        print("== export-sql ==")
        bench_export(args.export_sizes or [max(1, args.records // 10), args.records], args.export_engines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
