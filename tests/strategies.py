"""Hypothesis strategies built from the record schemas themselves (the subset of 2020-12 they use).

Records are generated in schema property order, so a generated record is also in
canonical key order.  Sizes are kept small; the limits themselves are exercised
by the examples.
"""
from __future__ import annotations

from datetime import datetime

from hypothesis import strategies as st

from imgspec.spec import Spec

_DT = st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2030, 1, 1)).map(
    lambda d: d.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"))
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


def _string(node: dict):
    if "pattern" in node:
        return st.from_regex(node["pattern"], fullmatch=True)
    if node.get("format") == "date-time":
        return _DT
    lo, hi = node.get("minLength", 0), min(node.get("maxLength", 40), 40)
    return st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=lo, max_size=hi)


def _keys(node: dict):
    names = node.get("propertyNames", {})
    banned = names.get("not", {}).get("const")
    keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=max(1, names.get("minLength", 1)),
                   max_size=16)
    return keys.filter(lambda k: k != banned) if banned else keys


def for_schema(node: dict, spec: Spec, version: str):
    if "$ref" in node and "properties" not in node:
        return for_schema(spec.schema(node["$ref"].removesuffix(".json"), version), spec, version)
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    types = node.get("type")
    if isinstance(types, list):
        return st.one_of(*[for_schema(dict(node, type=t), spec, version) for t in types])
    if types == "null":
        return st.none()
    if types == "boolean":
        return st.booleans()
    if types == "integer":
        return st.integers(min_value=node.get("minimum", -(2**40)), max_value=2**40)
    if types == "string":
        return _string(node)
    if types == "array":
        return st.lists(for_schema(node["items"], spec, version), max_size=4, unique=bool(node.get("uniqueItems")))
    if types == "object":
        props = node.get("properties", {})
        required = node.get("required", [])
        if node.get("additionalProperties") is False or required:
            order = [k for k in props if k in required]
            return st.fixed_dictionaries({k: for_schema(props[k], spec, version) for k in order}).map(
                lambda d: {k: d[k] for k in order})
        values = for_schema(node["additionalProperties"], spec, version) if isinstance(
            node.get("additionalProperties"), dict) else _TEXT
        fixed = {k: for_schema(v, spec, version) for k, v in props.items()}
        extra = st.dictionaries(_keys(node).filter(lambda k: k not in props), values, max_size=4)
        optional = st.fixed_dictionaries({}, optional=fixed)
        return st.tuples(optional, extra).map(lambda pair: {**pair[0], **pair[1]})
    raise ValueError(f"no strategy for {node}")


def records(spec: Spec, version: str, kind: str = "image"):
    return for_schema(spec.schema(kind, version), spec, version)
