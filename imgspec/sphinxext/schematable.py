"""Turning a schema into rows a reader can scan: type, limits, default, since."""
from __future__ import annotations

import json


def type_text(node: dict) -> str:
    if "const" in node:
        return f"`{json.dumps(node['const'])}` (constant)"
    if "enum" in node:
        return "string (enum)"
    if "$ref" in node and "type" not in node:
        return f"see `{node['$ref']}`"
    types = node.get("type")
    if isinstance(types, list):
        text = " or ".join(types)
    else:
        text = types or "any"
    if types == "array" or (isinstance(types, list) and "array" in types):
        items = node.get("items", {})
        inner = f"`{items['$ref'][:-5]}`" if "$ref" in items else type_text(items)
        text = f"array of {inner}"
    if node.get("format"):
        text += f" ({node['format']})"
    return text


def limits_text(node: dict) -> str:
    parts = []
    if "enum" in node:
        parts.append("one of " + ", ".join(f"`{v}`" for v in node["enum"]))
    for key, word in (("minLength", "at least {} characters"), ("maxLength", "at most {} characters"),
                      ("minimum", "≥ {}"), ("maximum", "≤ {}"), ("maxItems", "at most {} items"),
                      ("maxProperties", "at most {} entries")):
        if key in node:
            parts.append(word.format(node[key]))
    if node.get("uniqueItems"):
        parts.append("no duplicates")
    if "maxContains" in node:
        cond = node.get("contains", {}).get("properties", {})
        what = "not deleted" if cond.get("deleted") == {"const": False} else "matching"
        parts.append(f"at most {node['maxContains']} {what}")
    if "pattern" in node:
        parts.append(f"pattern `{node['pattern']}`")
    names = node.get("propertyNames")
    if names:
        if "maxLength" in names:
            parts.append(f"keys of {names.get('minLength', 0)} to {names['maxLength']} characters")
        if "not" in names and "const" in names["not"]:
            parts.append(f"no key `{names['not']['const']}`")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and "type" in extra:
        parts.append(f"values: {extra['type']}")
    return "; ".join(parts)


def default_text(node: dict) -> str:
    return f"`{json.dumps(node['default'])}`" if "default" in node else ""
