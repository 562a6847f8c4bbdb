"""Turning a schema into words a reader can scan: type, limits, default."""
from __future__ import annotations

import json

from imgspec.format.formats import PATTERNS

FORMAT_WORDS = {"date-time": "date-time (RFC 3339)", "uuid": "UUID", "uri": "URI"}


def type_text(node: dict) -> str:
    if "const" in node:
        return f"`{json.dumps(node['const'])}` (constant)"
    if "enum" in node:
        kinds = sorted({type(v).__name__ for v in node["enum"]} - {"NoneType"})
        word = {"str": "string", "int": "integer", "bool": "boolean"}.get(kinds[0], kinds[0]) if len(kinds) == 1 else "value"
        return word + (" or null" if None in node["enum"] else "")
    if "$ref" in node and "type" not in node:
        return f"`{node['$ref'].removesuffix('.json')}`"
    types = node.get("type")
    if isinstance(types, list):
        text = " or ".join(t for t in types if t != "null") + (" or null" if "null" in types else "")
    else:
        text = types or "any"
    if types == "array" or (isinstance(types, list) and "array" in types):
        items = node.get("items", {})
        inner = f"`{items['$ref'].removesuffix('.json')}`" if "$ref" in items else type_text(items)
        text = f"array of {inner}"
    if node.get("format"):
        text = FORMAT_WORDS.get(node["format"], f"{text} ({node['format']})")
    return text


def limits(node: dict) -> list[str]:
    """Each constraint of a field as a short phrase (a format's own grammar is not repeated as a pattern)."""
    parts = []
    if "enum" in node:
        parts.append("one of " + ", ".join(f"`{json.dumps(v)}`" if not isinstance(v, str) else f"`{v}`"
                                            for v in node["enum"]))
    for key, word in (("minLength", "at least {} characters"), ("maxLength", "at most {} characters"),
                      ("minimum", "at least {}"), ("maximum", "at most {}"), ("maxItems", "at most {} items"),
                      ("maxProperties", "at most {} entries")):
        if key in node:
            parts.append(word.format(node[key]))
    if node.get("uniqueItems"):
        parts.append("no duplicates")
    if "maxContains" in node:
        cond = node.get("contains", {}).get("properties", {})
        what = "not deleted" if cond.get("deleted") == {"const": False} else "matching"
        parts.append(f"at most {node['maxContains']} {what}")
    if "pattern" in node and node["pattern"] != PATTERNS.get(node.get("format", "")):
        parts.append("matches the pattern below")
    names = node.get("propertyNames")
    if names:
        if "maxLength" in names:
            parts.append(f"keys of {names.get('minLength', 0)} to {names['maxLength']} characters")
        if "not" in names and "const" in names["not"]:
            parts.append(f"no key `{names['not']['const']}`")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and "type" in extra:
        kinds = extra["type"] if isinstance(extra["type"], list) else [extra["type"]]
        parts.append("values: " + " or ".join(kinds))
    return parts


def pattern(node: dict) -> str | None:
    """The field's pattern where it says more than its format."""
    found = node.get("pattern")
    return found if found and found != PATTERNS.get(node.get("format", "")) else None


def default_text(node: dict) -> str:
    return f"`{json.dumps(node['default'])}`" if "default" in node else ""
