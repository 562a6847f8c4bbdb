"""Records as rows of a Glance layout: the binding read backwards.

``export-sql`` reads rows into records through ``schemas/bindings/glance-sql.json``; this module
writes records into rows through the same file, so that the sizing measurements load a corpus into
the very tables an era of Glance had.  A record at a version the binding reads through another
(``via``: 2.4 is stored in the Train layout of 2.3) is written as that version's rows:
what the layout has no column for (a 2.4 location's ``site``) is not stored, as in Glance.

``rows(record, binding, version)`` gives ``{table: [row, ...]}``; child rows are numbered from the
counters passed in, so that many records can share one set of tables.
"""
from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from datetime import UTC, datetime

from imgspec import jsonfile
from imgspec.problems import Problem, ProblemError
from imgspec.sql.binding import Binding


class Unrepresentable(ValueError):
    """A valid record value that Glance's columns cannot hold (a leap second in a DATETIME)."""


def _column_value(value, column_type: str):
    if value is None:
        return None
    if column_type == "DATETIME":
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as exc:
            raise Unrepresentable(f"{value!r} cannot be stored in a DATETIME column: Glance writes times from "
                                  f"Python's datetime, which has no leap second ({exc})") from None
        return stamp.astimezone(UTC).replace(tzinfo=None)
    if column_type == "BOOLEAN":
        return bool(value)
    return value


def _stored(f: dict, value):
    """The column value a field's binding entry makes of the record's value."""
    if "values" in f:  # e.g. visibility read from is_public: the key whose reading is this value
        return json.loads(next(k for k, v in f["values"].items() if v == value))
    if f.get("json"):
        return jsonfile.compact(value)
    if f.get("pickle"):
        return pickle.dumps(value, protocol=0)
    return value


def _object_row(obj: dict, fields: list[dict], table, **extra) -> dict:
    row = dict(extra)
    for f in fields:
        if "column" not in f or f["field"] not in obj:
            continue  # computed, constant or rule-given: nothing stored
        column = table.column(f["column"])
        row[f["column"]] = _column_value(_stored(f, obj[f["field"]]), column.type)
    return row


def rows(record: dict, binding: Binding, version: str, counters: dict[str, int] | None = None) -> dict[str, list[dict]]:
    """The rows of ``record`` (at ``version``) in the layout ``version`` is stored in.

    Raises :class:`ProblemError` (rule ``not-representable``) for a valid record Glance's columns cannot hold."""
    try:
        return _rows(record, binding, version, counters)
    except Unrepresentable as exc:
        raise ProblemError(Problem(f"record {record.get('id')}", "", "not-representable", str(exc))) from None


def _rows(record: dict, binding: Binding, version: str, counters: dict[str, int] | None = None) -> dict[str, list[dict]]:
    native = binding.native(version)
    layout = binding.layout_of(version)
    counters = counters if counters is not None else {}
    images = layout.tables[binding.table_of("image")]
    out: dict[str, list[dict]] = {name: [] for name in layout.tables}
    out[images.name].append(_object_row(record, binding.fields("image", native, layout.name), images))
    stamps = {k: _column_value(record.get(k), "DATETIME") for k in ("created_at", "updated_at")}

    def number(table: str) -> int:
        counters[table] = counters.get(table, 0) + 1
        return counters[table]
    for f in binding.fields("image", native, layout.name):
        how = f.get("rows")
        if not how or f["field"] not in record:
            continue
        table = layout.tables[how["table"]]
        value = record[f["field"]]
        base = {"image_id": record["id"], "created_at": stamps["created_at"], "updated_at": None,
                "deleted": False, "deleted_at": None}
        if "object" in how:
            fields = binding.fields(how["object"], native, layout.name)
            for item in value:
                out[table.name].append(_object_row(item, fields, table, id=number(table.name), image_id=record["id"]))
        elif "key" in how:
            for key, val in value.items():
                out[table.name].append(dict(base, id=number(table.name), **{how["key"]: key, how["value"]: val}))
        else:
            for val in value:
                out[table.name].append(dict(base, id=number(table.name), **{how["value"]: val}))
    return out


def batches(records, binding: Binding, version: str, size: int = 500) -> Iterator[dict[str, list[dict]]]:
    """``rows`` of many records, merged table by table, ``size`` records at a time."""
    counters: dict[str, int] = {}
    merged: dict[str, list[dict]] = {}
    for n, record in enumerate(records, 1):
        for table, found in rows(record, binding, version, counters).items():
            merged.setdefault(table, []).extend(found)
        if n % size == 0:
            yield merged
            merged = {}
    if merged:
        yield merged
