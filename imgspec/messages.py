"""jsonschema errors as the one-line problems imgspec prints: where (a pointer) and a short message."""
from __future__ import annotations

from collections.abc import Callable

from imgspec.pointer import render
from imgspec.problems import Problem

_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
               type(None): "null"}


def _size(inst) -> int | None:
    return len(inst) if isinstance(inst, (str, list, dict)) else None


def _max_contains(error) -> str:
    deleted = error.schema.get("contains", {}).get("properties", {}).get("deleted")
    what = "that are not deleted" if deleted == {"const": False} else "matching 'contains'"
    return f"more than {error.validator_value} items {what}"


def _type(error) -> str:
    limit = error.validator_value
    expected = " or ".join(limit) if isinstance(limit, list) else limit
    return f"{_JSON_TYPES.get(type(error.instance), 'value')} where {expected} is required"


def _additional(error) -> str:
    if not isinstance(error.instance, dict):
        return error.message
    extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
    return "not allowed here: " + ", ".join(repr(k) for k in extra)


# One function per JSON Schema keyword whose default message would echo a large value back.
MESSAGES: dict[str, Callable] = {
    "maxLength": lambda e: f"longer than {e.validator_value} characters ({_size(e.instance)})",
    "minLength": lambda e: (f"shorter than {e.validator_value} character{'s' if e.validator_value != 1 else ''} "
                            f"({_size(e.instance)})"),
    "maxItems": lambda e: f"more than {e.validator_value} items ({_size(e.instance)})",
    "maxProperties": lambda e: f"more than {e.validator_value} entries ({_size(e.instance)})",
    "maxContains": _max_contains,
    "required": lambda e: "missing",
    "type": _type,
    "additionalProperties": _additional,
}


def message(error) -> str:
    """A short message that names the limit without echoing a large value back."""
    describe = MESSAGES.get(error.validator)
    return describe(error) if describe else error.message


def error_path(error) -> list:
    """Where an error is: for a missing required property, the pointer the property would have."""
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        for name in missing:
            if error.message.startswith(repr(name)):
                return [*error.absolute_path, name]
    return list(error.absolute_path)


def problem(error, source: str, line: int | None = None, note: str = "") -> Problem:
    """A jsonschema error as the one problem imgspec reports for it: the file, the pointer (:func:`error_path`),
    the keyword as its rule and the short :func:`message` (with ``note`` after it).  Every conversion of a
    jsonschema error into a problem goes through here."""
    return Problem(source, render(error_path(error)), str(error.validator), message(error) + note, line)
