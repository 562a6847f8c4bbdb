"""``imgspec export-sql DB_URL OUT_DIR``: a Glance database, read through the binding, as a record store.

1. Open the database read-only (SQLite: ``mode=ro``; others: one transaction that is
   rolled back) in one snapshot (REPEATABLE READ where the database offers it, an explicit
   BEGIN on SQLite) and find its migration revision; refuse a revision the binding does
   not list, and a database whose tables differ from the layout that revision names.
2. Read the images in batches, in the binding's image order, each with its child rows (the ids stream
   from the database, so memory does not grow with it), and build each record at the layout's
   native version exactly as the binding says; validate it.
3. Upgrade each record to the target version (default: the newest) with the
   published upgrade rules, and write it to ``records/<id>.json`` of a hidden
   folder beside OUT_DIR, then the manifest and ``export-report.json``.  An image
   whose rows make no valid record is written to ``refused/<id>.json`` instead: its
   problems (pointer, rule, message) and its rows exactly as the database holds them,
   so nothing is lost and nothing is changed to fit (``strict``: refuse the whole export).
4. Rename the folder to OUT_DIR: the store appears complete or not at all.
"""
from __future__ import annotations

import base64
import functools
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from imgspec import atomic, jsonfile, resources
from imgspec import pointer as ptr
from imgspec.format.validation import errors
from imgspec.problems import INVALID, Problem, ProblemError
from imgspec.spec import Spec, version_key
from imgspec.sql.binding import Binding, Layout, load
from imgspec.sql.engines import connection_problem, need_sqlalchemy, open_engine
from imgspec.sql.glancecrypt import decrypt, is_ciphertext, unpickle
from imgspec.text import now
from imgspec.upgrade import upgrade, upgrade_manifest
from imgspec.upgrade.operations import operation
from imgspec.upgrade.rules import canonical_order

BATCH = 500
GENERATOR = "imgspec export-sql"
REPORT = "export-report.json"


REFUSED = "refused"


def raw(value: Any) -> Any:
    """A column's value as the database holds it, as JSON: bytes as base64, times as the database's text."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else repr(value)
    return str(value)


def raw_rows(row, children: dict) -> dict:
    """The image's row and its child rows (table -> rows), each column as :func:`raw` gives it."""
    out = {"images": [{k: raw(v) for k, v in row._mapping.items()}]}
    for table, rows in children.items():
        out[table] = [{k: raw(v) for k, v in r._mapping.items()} for r in rows]
    return out


@dataclass
class Summary:
    url: str
    revision: str
    layout: str
    read_as: str
    target: str
    counts: dict = field(default_factory=dict)
    other_tables: dict = field(default_factory=dict)  # table -> rows: Glance data outside the record format

    def text(self) -> str:
        c = self.counts
        other = ", ".join(f"{t} ({n} rows)" for t, n in self.other_tables.items()) or "none"
        dropped = ", ".join(f"{n} {key.replace('_', ' ')}" for key, n in c.items()
                            if key.startswith("deleted_") and key.endswith("_rows"))
        refused = (f"; REFUSED {c['refused_images']} image(s) whose rows make no valid record: each is in "
                   f"{REFUSED}/<id>.json with its problems and its rows as the database holds them"
                   if c.get("refused_images") else "")
        return (f"exported {c['images']} images ({c['deleted_images']} deleted) from {self.url}, revision "
                f"{self.revision} (layout {self.layout}, read as {self.read_as}), as format {self.target}: "
                f"{c['locations']} locations, {c['members']} members, {c['properties']} properties, {c['tags']} tags; "
                f"not exported: {dropped}, {c['orphan_rows']} rows of no image; tables outside the record format, "
                f"not exported: {other}"
                f"{refused}")


@functools.cache
def _stored_time(sa):
    """DATETIME as the database holds it: a time where it is one, else its text (SQLite keeps any text in a
    DATETIME column, and SQLAlchemy's own parser would stop the whole batch at the first that is no time)."""

    class StoredTime(sa.types.TypeDecorator):  # type: ignore[name-defined]
        impl = sa.DateTime  # its DDL and how it writes a time: SQLAlchemy's own
        cache_ok = True

        def result_processor(self, dialect, coltype):
            if dialect.name != "sqlite":
                return super().result_processor(dialect, coltype)

            def read(value):
                if isinstance(value, str):
                    try:
                        return datetime.fromisoformat(value)
                    except ValueError:
                        return value  # the record's reader says which column holds what
                return value
            return read

    return StoredTime


def _sa_type(sa, type_: str):
    if type_.startswith("VARCHAR"):
        return sa.String(int(type_[8:-1]))
    return {"TEXT": sa.Text, "BLOB": sa.LargeBinary, "INTEGER": sa.Integer, "BIGINT": sa.BigInteger,
            "BOOLEAN": sa.Boolean, "DATETIME": _stored_time(sa)}[type_]()


def _text(value, column: str, where: str, at: str):
    """A text column's value as text: bytes (which SQLite and MySQL may hand back) decoded as UTF-8, or refused."""
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProblemError(Problem(where, at, "type", f"{column} holds bytes that are not UTF-8 text "
                                       f"(invalid byte at offset {exc.start})")) from None
    return value


def tables(layout: Layout) -> dict:
    """SQLAlchemy ``Table`` objects of a layout (for reading; the DDL on the page is the layout's own)."""
    sa = need_sqlalchemy()
    meta = sa.MetaData()
    out = {}
    for t in layout.tables.values():
        out[t.name] = sa.Table(t.name, meta, *[sa.Column(c.name, _sa_type(sa, c.type), primary_key=c.primary_key,
                                                         nullable=c.null) for c in t.columns])
    return out


def detect(conn, binding: Binding, shown: str) -> tuple[Layout, str]:
    """The layout of the database behind ``conn`` and the revision that names it."""
    sa = need_sqlalchemy()
    names = set(sa.inspect(conn).get_table_names())
    known = {}
    for layout in binding.layouts.values():
        for value in layout.revision["values"]:
            known[(layout.revision["table"], value)] = layout
    for table in ("alembic_version", "migrate_version"):  # a database converted to alembic keeps migrate_version
        if table not in names:
            continue
        column = next(lay.revision["column"] for lay in binding.layouts.values() if lay.revision["table"] == table)
        rows = sorted(str(r[0]) for r in conn.execute(sa.text(f"SELECT {column} FROM {table}")))
        listed = ", ".join(v for (t, v) in known if t == table)
        window = binding.window(rows) if table == "alembic_version" else None
        if window is not None:  # a rolling upgrade whose expand step changes no table the layout binds
            within = binding.layouts[window["layout"]]
            _check_columns(conn, within, names, shown, f"{table} {' + '.join(rows)}")
            return within, " + ".join(rows)
        if len(rows) != 1:
            what = "no revision" if not rows else f"{len(rows)} heads ({', '.join(rows)})"
            raise ProblemError(Problem(shown, f"/{table}", "rolling-upgrade" if rows else "unknown-revision",
                                       f"{table} holds {what}: a database in the middle of a rolling upgrade "
                                       "(expand without contract) cannot be exported; finish `glance-manage db sync` "
                                       f"first. Known revisions: {listed}"))
        found = known.get((table, rows[0]))
        refusal = binding.refusal(table, rows[0])
        if found is None and refusal is not None:
            raise ProblemError(Problem(shown, f"/{table}/{column}", refusal["rule"],
                                       f"revision {rows[0]!r}: {refusal['why']}"))
        if found is None:
            raise ProblemError(Problem(shown, f"/{table}/{column}", "unknown-revision",
                                       f"revision {rows[0]!r} is not one the binding knows ({listed}); refusing "
                                       "to guess its columns"))
        _check_columns(conn, found, names, shown, f"{table} {rows[0]}")
        return found, rows[0]
    raise ProblemError(Problem(shown, "", "unknown-revision", "neither alembic_version nor migrate_version exists: "
                               "this is not a Glance database, or not one the binding knows"))


def _check_columns(conn, layout: Layout, names: set, shown: str, revision: str) -> None:
    sa = need_sqlalchemy()
    inspector = sa.inspect(conn)
    for t in layout.tables.values():
        if t.name not in names:
            raise ProblemError(Problem(shown, f"/{t.name}", "layout-mismatch",
                                       f"table {t.name} is missing, yet {revision} names layout {layout.name}"))
        have = {c["name"] for c in inspector.get_columns(t.name)}
        want = {c.name for c in t.columns}
        if have != want:
            parts = []
            if want - have:
                parts.append("missing " + ", ".join(sorted(want - have)))
            if have - want:
                parts.append("not in the layout " + ", ".join(sorted(have - want)) + " (their data would be lost)")
            raise ProblemError(Problem(shown, f"/{t.name}", "layout-mismatch",
                                       f"{t.name}: {'; '.join(parts)}; {revision} names layout {layout.name}"))


def rfc3339(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


FATAL = {"encrypted-location", "decrypt-failed"}  # stop the export at once: one line, not one per image
class _Reader:
    """Builds records at one native version from rows, as the binding says."""

    def __init__(self, binding: Binding, layout: Layout, version: str, shown: str, key: str | None = None):
        self.binding, self.layout, self.version, self.shown = binding, layout, version, shown
        self.tables = tables(layout)
        self.key = key  # Glance's metadata_encryption_key, for encrypted location URLs

    def value(self, row, f: dict, table: str, where: str, at: str):
        raw = row._mapping[f["column"]]
        if raw is None:
            null = f.get("null")  # a fresh copy of the binding's value where it is a container
            return json.loads(json.dumps(null)) if isinstance(null, dict | list) else null
        column = self.layout.tables[table].column(f["column"])
        kind = getattr(column, "type", None)
        if f.get("pickle"):
            raw = unpickle(raw, f"{table}.{f['column']}", where, at)
        elif kind != "BLOB":
            raw = _text(raw, f"{table}.{f['column']}", where, at)
        if isinstance(raw, datetime):
            raw = rfc3339(raw)
        elif kind == "DATETIME":
            raise ProblemError(Problem(where, at, "format", f"{table}.{f['column']} holds {raw!r}, not a date "
                                       "and time"))
        elif kind == "BOOLEAN":
            raw = bool(raw)
        if f.get("json") == "object":
            try:
                raw = jsonfile.loads(raw, source=where)
            except ProblemError as exc:
                raise ProblemError([Problem(where, at + p.pointer, p.rule, f"{table}.{f['column']}: {p.message}")
                                    for p in exc.problems]) from None
            if not isinstance(raw, dict):
                raise ProblemError(Problem(where, at, "type",
                                           f"{table}.{f['column']} holds {type(raw).__name__} JSON, not an object"))
        if f.get("encrypted") and isinstance(raw, str) and is_ciphertext(raw):
            raw = self.decrypted(raw, f"{table}.{f['column']}", where, at)
        if "values" in f:
            key = json.dumps(raw) if not isinstance(raw, str) else raw
            if key not in f["values"]:
                raise ProblemError(Problem(where, at, "enum",
                                           f"{table}.{f['column']} holds {raw!r}, which the binding does not map"))
            raw = f["values"][key]
        return raw

    def decrypted(self, value: str, column: str, where: str, at: str) -> str:
        if self.key is None:
            raise ProblemError(Problem(where, at, "encrypted-location",
                                       f"{column} is encrypted with Glance's metadata_encryption_key "
                                       "(glance/common/crypt.py): give it with --metadata-encryption-key or "
                                       "IMGSPEC_METADATA_ENCRYPTION_KEY; ciphertext is never exported as a URL"))
        try:
            return decrypt(self.key, value)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProblemError(Problem(where, at, "decrypt-failed",
                                       f"{column} does not decrypt with the key given ({exc}): the wrong "
                                       "metadata_encryption_key?")) from None

    def record(self, row, children: dict, where: str) -> dict:
        """The image record of ``row``: fields read from the columns, then the rules of fields the layout lacks."""
        rules: list[str] = []
        out = self.build("image", row, children, where, rules=rules)
        for ref in sorted(set(rules), key=lambda r: (version_key(r.split("-")[0]), int(r.rsplit("/", 1)[1]))):
            _, rule = self.binding.rule(ref)
            operation(rule).apply(out, rule, lambda tokens: None)
        return canonical_order(self.binding.spec, out, self.version) if rules else out

    def build(self, obj: str, row, children: dict, where: str, prefix: str = "", rules: list | None = None) -> dict:
        table = self.binding.table_of(obj)
        out: dict[str, Any] = {}
        rules = [] if rules is None else rules
        for f in self.binding.fields(obj, self.version, self.layout.name):
            rules += f.get("rules", [])
            if "computed" in f:
                out[f["field"]] = self.version
            elif "value" in f:
                out[f["field"]] = json.loads(json.dumps(f["value"]))
            elif "column" in f:
                out[f.get("read_as", f["field"])] = self.value(row, f, table, where, f"{prefix}/{f['field']}")
            elif "rows" not in f:
                continue  # derived by its rules, once the whole record is read
            else:
                r = f["rows"]
                rows = children.get(r["table"], [])
                if r["include"] == "live":
                    rows = [c for c in rows if not c._mapping["deleted"]]
                if "object" in r:
                    out[f["field"]] = [self.build(r["object"], c, {}, where, f"{prefix}/{f['field']}/{i}", rules)
                                       for i, c in enumerate(rows)]
                elif "key" in r:
                    found: dict[str, Any] = {}
                    for c in rows:
                        key = _text(c._mapping[r["key"]], f"{r['table']}.{r['key']}", where, f"{prefix}/{f['field']}")
                        value = _text(c._mapping[r["value"]], f"{r['table']}.{r['value']}", where,
                                      ptr.render([*ptr.parse(f"{prefix}/{f['field']}"), str(key)]))
                        found[key] = value if value is not None else r.get("null")
                    out[f["field"]] = found
                else:
                    values = [_text(c._mapping[r["value"]], f"{r['table']}.{r['value']}", where,
                                    f"{prefix}/{f['field']}/{i}") for i, c in enumerate(rows)]
                    out[f["field"]] = list(dict.fromkeys(values)) if r.get("distinct") else values
        return out

    def child_fields(self) -> list[dict]:
        return [f["rows"] for f in self.binding.fields("image", self.version, self.layout.name) if "rows" in f]

    def fetch(self, conn, ids: list[str]) -> tuple[list, dict]:
        sa = need_sqlalchemy()
        images = self.tables[self.binding.table_of("image")]
        order = [images.c[c] for c in self.binding.image_order()]
        rows = list(conn.execute(sa.select(images).where(images.c.id.in_(ids)).order_by(*order)))
        children: dict[str, dict[str, list]] = {}
        for r in self.child_fields():
            t = self.tables[r["table"]]
            keys = [t.c[c] for c in r.get("order", [])] + [t.c.id]
            per = children.setdefault(r["table"], {})
            for c in conn.execute(sa.select(t).where(t.c.image_id.in_(ids)).order_by(t.c.image_id, *keys)):
                per.setdefault(c._mapping["image_id"], []).append(c)
        return rows, children


def export(url: str, out_dir: Path | str, to: str | None = None, spec: Spec | None = None, durable: bool = True,
           progress: Callable[[int, int], None] | None = None, encryption_key: str | None = None,
           strict: bool = False, connect_seconds: int = resources.DB_CONNECT_SECONDS,
           read_seconds: int = resources.DB_READ_SECONDS) -> Summary:
    """Export the database at ``url`` into the new store ``out_dir``.

    Images whose rows make no valid record are written to ``refused/`` (and counted in the summary) unless
    ``strict``, which refuses the whole export with every problem (exit status 1), writing nothing."""
    spec = spec or Spec.default()
    binding = load(spec)
    target = to or spec.latest_released
    spec.release(target)
    out_dir = Path(out_dir)
    with resources.writes(str(out_dir)):  # a folder it cannot look into is no place for an export
        occupied = out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir()))
    if occupied:
        raise ProblemError(Problem(str(out_dir), "", "out-not-empty",
                                   "OUT_DIR exists and is not an empty folder: refusing to mix an export with other files"))
    sa = need_sqlalchemy()
    engine, shown = open_engine(url, connect_seconds, read_seconds)
    work = out_dir.parent / f".{out_dir.name}.export-{os.getpid()}"
    try:
        try:
            with engine.connect() as conn, conn.begin() as txn:
                summary = _export(spec, conn, binding, shown, target, work, durable, progress, encryption_key, strict)
                txn.rollback()  # nothing was written; never commit to a database we only read
        except sa.exc.SQLAlchemyError as exc:  # connect, credentials, time bounds, a query the database refused
            raise ProblemError(connection_problem(shown, exc)) from None
        except OSError as exc:  # OUT_DIR's file system: read-only, full
            raise resources.unwritable(str(out_dir), f"{resources.reason(exc)} ({exc.filename})") from None
        except ProblemError as exc:  # a file of the export that could not be written: named as OUT_DIR's
            if {p.rule for p in exc.problems} != {"unwritable"}:
                raise
            raise resources.unwritable(str(out_dir), "; ".join(f"{p.message} ({p.file})" for p in exc.problems)) \
                from None
        if durable:
            atomic.sync_dir(work / "records")
            if (work / REFUSED).is_dir():
                atomic.sync_dir(work / REFUSED)
            atomic.sync_dir(work)
        if out_dir.exists():
            out_dir.rmdir()  # empty, checked above
        os.replace(work, out_dir)
        if durable:
            atomic.sync_dir(out_dir.parent)
        return summary
    finally:
        engine.dispose()
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def _export(spec, conn, binding, shown, target, work: Path, durable, progress, key: str | None = None,
            strict: bool = False) -> Summary:
    sa = need_sqlalchemy()
    layout, revision = detect(conn, binding, shown)
    native = binding.native_for_layout(layout.name)
    if version_key(target) < version_key(native):
        raise ProblemError(Problem(shown, "", "downgrade-refused",
                                   f"layout {layout.name} holds format {native} records; they cannot be exported "
                                   f"as the older {target}"))
    for name in binding.by_layout[layout.name].get("empty", []):
        if conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one():
            raise ProblemError(Problem(shown, f"/{name}", "layout-mismatch",
                                       f"{name} holds rows, yet at {revision} Glance's migrations leave it empty "
                                       "(the next migration fills it): refusing to guess which rows are the data"))
    reader = _Reader(binding, layout, native, shown, key)
    images = reader.tables[binding.table_of("image")]
    order = [images.c[c] for c in binding.image_order()]
    total = conn.execute(sa.select(sa.func.count()).select_from(images)).scalar_one()
    counts = dict(images=0, deleted_images=0, locations=0, members=0, properties=0, tags=0,
                  **dict.fromkeys(binding.deleted_counts(), 0), orphan_rows=0, refused_images=0)
    for r in reader.child_fields():
        t = reader.tables[r["table"]]
        counts["orphan_rows"] += conn.execute(sa.select(sa.func.count()).select_from(t).where(
            t.c.image_id.not_in(sa.select(images.c.id)))).scalar_one()
        if r["include"] == "live":
            counts[r["deleted_count"]] += conn.execute(sa.select(sa.func.count()).select_from(t).where(
                t.c.deleted == sa.true(), t.c.image_id.in_(sa.select(images.c.id)))).scalar_one()
    own = set(layout.tables) | binding.revision_tables()
    other_tables = {t: conn.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one()
                    for t in sorted(set(sa.inspect(conn).get_table_names()) - own)}
    (work / "records").mkdir(parents=True)
    problems: list[Problem] = []
    for start, ids in _id_batches(conn, sa.select(images.c.id).order_by(*order)):
        rows, children = reader.fetch(conn, ids)
        for n, row in enumerate(rows, start + 1):
            image_id = row._mapping["id"]
            where = f"{shown}#images/{image_id}"
            mine = {t: per.get(image_id, []) for t, per in children.items()}
            try:
                record = reader.record(row, mine, where)
                if jsonfile.too_deep(record):  # a store whose reader refuses the record is no export of it
                    raise ProblemError(Problem(where, "", "max-depth",
                                               f"the record nests deeper than {jsonfile.MAX_DEPTH} levels"))
                found = errors(record, "image", native, where, spec)
                if found:
                    raise ProblemError(found)
                record = upgrade(record, target, spec, where, checked=True)  # valid at ``native``: just checked
            except ProblemError as exc:
                if any(p.rule in FATAL for p in exc.problems):
                    raise
                problems += exc.problems
                if not strict:
                    counts["refused_images"] += 1
                    refusal = {"image_id": raw(image_id), "source": where, "read_as": native,
                               "problems": [{"pointer": p.pointer, "rule": p.rule, "message": p.message}
                                            for p in exc.problems],
                               "rows": raw_rows(row, mine)}
                    (work / REFUSED).mkdir(exist_ok=True)
                    atomic.write_text(work / REFUSED / f"{_file_name(image_id)}.json",
                                      json.dumps(refusal, indent=2, ensure_ascii=False) + "\n", durable)
                continue
            counts["images"] += 1
            counts["deleted_images"] += bool(record["deleted"])
            counts["locations"] += len(record.get("locations", [])) + (record.get("location") is not None)
            counts["members"] += len(record["members"])
            counts["properties"] += len(record["properties"])
            counts["tags"] += len(record.get("tags", []))
            if not (strict and problems):
                atomic.write_text(work / "records" / f"{image_id}.json", jsonfile.dumps(record), durable)
            if progress:
                progress(n, total)
    if strict and problems:
        raise ProblemError(problems, status=INVALID)  # the database was read: its rows are what is wrong
    manifest = {"format_version": native, "kind": "imgspec.store", "created_at": now(),
                "generator": f"{GENERATOR} from {layout.revision['table']} {revision}", "upgrade_in_progress": None}
    manifest = upgrade_manifest(spec, manifest, native, target, str(work / "manifest.json"))
    summary = Summary(shown, revision, layout.name, native, target, counts, other_tables)
    report = {"kind": "imgspec.export-report", "source": shown,
              "revision": {"table": layout.revision["table"], "value": revision},
              "layout": layout.name, "read_as": native, "format_version": target, "counts": counts,
              "not_in_the_format": {"tables": other_tables, "why": "Glance's tasks, metadata definitions, image "
                                    "cache and node tables are not part of the Image Record Format"},
              "binding": "schemas/bindings/glance-sql.json",
              "refused": {"images": counts["refused_images"], "folder": REFUSED,
                          "why": "rows that make no valid record of the format, kept as the database holds them "
                                 "with each problem's pointer, rule and message: nothing is dropped or changed to fit"}}
    atomic.write_text(work / REPORT, json.dumps(report, indent=2) + "\n", durable)
    atomic.write_text(work / "manifest.json", jsonfile.dumps(manifest), durable)
    return summary


# Drivers whose server-side cursor leaves the connection free for the batches' own queries meanwhile (a MySQL
# unbuffered result would have to be read to its end first): there the ids stream, so memory stays flat.
_STREAMS_IDS = {"sqlite", "postgresql"}


def _id_batches(conn, query) -> Iterator[tuple[int, list]]:
    """``(how many ids came before, the next BATCH ids)`` in the query's order: streamed from the database where
    its driver can (:data:`_STREAMS_IDS`), else read whole first."""
    if conn.dialect.name in _STREAMS_IDS:
        result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
    else:
        result = conn.execute(query)
    start = 0
    for part in result.partitions(BATCH):
        ids = [row[0] for row in part]
        yield start, ids
        start += len(ids)


def _file_name(image_id: Any) -> str:
    """A file name for a refused image: its id where that is a safe name, else a hash of it."""
    text = str(image_id)
    if re.fullmatch(r"[A-Za-z0-9._-]{1,128}", text) and text not in (".", ".."):
        return text
    import hashlib
    return "id-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
