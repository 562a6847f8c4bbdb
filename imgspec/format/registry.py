"""The local registry of every schema ``$id``: references never touch the network.

:func:`build` reads every schema file below ``schemas/``, checks that it is a
valid 2020-12 schema whose ``$id`` names its own path, and returns a
``referencing.Registry`` that resolves nothing else (no retrieval function), so
a ``$ref`` to anything not on disk fails with a clear problem.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from imgspec.messages import message
from imgspec.problems import Problem, ProblemError, pointer_from_parts
from imgspec.spec import BASE_URI, Spec


def expected_id(spec: Spec, path: Path) -> str:
    return BASE_URI + spec.rel(path)  # the path inside the tree (a symlink loop too: its reader refuses it)


def _refs(node, parts=()):
    """Every ``$ref`` in a schema document, with its JSON pointer parts."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield parts + (key,), value
            else:
                yield from _refs(value, parts + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _refs(value, parts + (i,))


def _patterns(node) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        if isinstance(node.get("patternProperties"), dict):
            yield from node["patternProperties"]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def _surely_valid(schema: dict) -> bool:
    """The verdict of ``Draft202012Validator.check_schema`` where it is a pass, fast: jsonschema-rs checks the
    2020-12 meta-schema, and every regular expression is compiled as the reference check does (its format checker
    checks ``regex`` only among the meta-schema's formats).  False means "ask the reference check", which then
    names the error; a CLI run builds the registry each time, so this is most of its start-up."""
    try:
        import jsonschema_rs
    except ImportError:
        return False
    if not jsonschema_rs.meta.is_valid(schema):
        return False
    try:
        for pattern in _patterns(schema):
            re.compile(pattern)
    except re.error:
        return False
    return True


def check_schema_file(spec: Spec, path: Path) -> tuple[dict | None, list[Problem]]:
    """Load one schema file and check it against the 2020-12 meta-schema and its ``$id``."""
    name = spec.rel(path)
    try:
        schema = spec.load_once(path)
    except ProblemError as exc:
        return None, exc.problems
    problems = []
    if not isinstance(schema, dict):
        return None, [Problem(name, "", "type", "a schema file must hold a JSON object")]
    if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
        problems.append(Problem(name, "/$schema", "$schema", "must be https://json-schema.org/draft/2020-12/schema"))
    if not _surely_valid(schema):  # the reference check, for its exact error; the fast one answers most files
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            problems.append(Problem(name, pointer_from_parts(exc.absolute_path), "metaschema", message(exc)))
    want = expected_id(spec, path)
    if schema.get("$id") != want:
        problems.append(Problem(name, "/$id", "$id", f"is {schema.get('$id')!r}; a schema's $id must name its own path: {want}"))
    return schema, problems


def build(spec: Spec) -> tuple[Registry, list[Problem]]:
    """The registry of every schema in ``spec``, and every problem found building it."""
    problems: list[Problem] = []
    resources = {}
    unreadable = set()  # files already reported; references to them are not reported again
    for path in spec.schema_files():
        schema, found = check_schema_file(spec, path)
        problems += found
        if schema is None:
            unreadable.add(expected_id(spec, path))
        if schema is not None and isinstance(schema.get("$id"), str):
            if schema["$id"] in resources:
                problems.append(Problem(spec.rel(path), "/$id", "$id", f"{schema['$id']} is also the $id of another file"))
            resources[schema["$id"]] = (path, schema)
    registry = Registry().with_resources(
        (uri, Resource.from_contents(schema, default_specification=DRAFT202012))
        for uri, (_, schema) in resources.items()).crawl()
    for uri, (path, schema) in resources.items():
        resolver = registry.resolver(base_uri=uri)
        for parts, ref in _refs(schema):
            if urljoin(uri, ref).split("#")[0] in unreadable:
                continue
            try:
                resolver.lookup(ref)
            except Unresolvable as exc:
                problems.append(Problem(spec.rel(path), pointer_from_parts(parts), "unresolvable-ref",
                                        f"{ref!r} does not resolve to a local schema ({type(exc).__name__})"))
    return registry, problems


def of(spec: Spec) -> Registry:
    """The checked registry of ``spec``, built once; raises ProblemError if any schema is broken.

    The verdict is built once either way: a broken tree is not checked again by every caller (a site
    build asks hundreds of times), and its files are not expected to mend themselves meanwhile.
    """
    registry, problems = spec.once(("registry",), lambda: build(spec))
    if problems:
        raise ProblemError(problems)
    return registry
