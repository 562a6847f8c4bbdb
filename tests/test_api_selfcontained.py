"""The self-contained API document (schemas/bundled/api/images-v2.openapi.json), as the tools of the OpenAPI
ecosystem take it: one file, no reference out of it, unique component names, Glance's bodies as its examples,
valid, linted with no ignore file, locked with the API release, and regenerated from the modular files."""
from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from support import ROOT, SPEC

from imgspec import pointer as ptr
from imgspec.api import document as api
from imgspec.api import lint, selfcontained
from imgspec.format.validation import FORMAT_CHECKER
from imgspec.release import api as api_release
from imgspec.spec import Spec

FILE = ROOT / selfcontained.FILE
DOC = json.loads(FILE.read_text())


def refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for v in node.values():
            yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def test_it_is_what_the_modular_files_give_now_and_names_its_lock():
    assert api_release.stale_self_contained(SPEC) == []
    lock = DOC["x-imgspec-bundle"]["lock"]
    last = json.loads((ROOT / api_release.RELEASES).read_text())["api"][-1]
    assert lock["state"] == "locked" and lock["api_release"] == last["version"] == DOC["info"]["version"]
    assert lock["correction"] == last["corrections"][-1]["id"]
    assert lock["files"] == api_release.locked_files(last)


def test_no_reference_leaves_the_file_and_every_one_resolves():
    found = list(refs(DOC))
    assert len(found) > 200
    for ref in found:
        assert ref.startswith("#/"), ref
        assert ptr.get(DOC, ptr.parse(ref[1:]), None) is not None, ref


def test_component_names_are_unique_however_a_generator_folds_case():
    # the sections generators make types of (a header named Location beside the schema Location makes none)
    names = [n for section in ("schemas", "responses", "requestBodies") for n in DOC["components"].get(section, {})]
    assert len({selfcontained.folded(n) for n in names}) == len(names) > 40
    served = {n for n in DOC["components"]["schemas"] if n.startswith(("Served", "Metadef"))}
    assert {"ServedImage", "ServedImages", "ServedMember", "ServedMembers", "MetadefNamespace", "MetadefTags"} <= served


def test_it_passes_openapi_spec_validator():
    validate_openapi(copy.deepcopy(DOC))


def test_every_example_file_is_in_it_and_validates_there_with_plain_jsonschema():
    """Held by python-jsonschema against the file alone (no imgspec registry): the examples and the schemas it
    carries agree, so its rewrites changed no verdict on Glance's bodies."""
    registry = Registry().with_resource("urn:doc", DRAFT202012.create_resource(DOC))
    placed = 0
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            bodies = [op.get("requestBody", {})] + list(op.get("responses", {}).values())
            for body in bodies:
                for media, node in body.get("content", {}).items():
                    for name, example in node.get("examples", {}).items():
                        where = ptr.render(["paths", path, method]) + "..." + media
                        schema = {"$ref": "urn:doc#" + ptr.render(ptr.parse(_pointer(DOC, node)) + ("schema",))}
                        errors = list(Draft202012Validator(schema, registry=registry, format_checker=FORMAT_CHECKER)
                                      .iter_errors(example["value"]))
                        assert errors == [], (where, name, errors[0].message)
                        assert (ROOT / example["summary"]).is_file()
                        placed += 1
    assert placed == sum(1 for e in api.api_examples(SPEC) if e.valid) >= 60


def _pointer(doc, target, where=()):
    """The JSON pointer of the node ``target`` (by identity) in ``doc``."""
    stack = [(doc, ())]
    while stack:
        node, at = stack.pop()
        if node is target:
            return ptr.render(at)
        if isinstance(node, dict):
            stack += [(v, at + (k,)) for k, v in node.items()]
        elif isinstance(node, list):
            stack += [(v, at + (str(i),)) for i, v in enumerate(node)]
    raise AssertionError("not in the document")


def test_its_rewrites_are_stated_and_change_no_key_a_validator_reads():
    rewrites = DOC["x-imgspec-bundle"]["rewrites"]
    assert any(r.endswith("/name -> x-glance-name") for r in rewrites)
    assert any("/enum: 1 value(s)" in r for r in rewrites)
    schemas = json.dumps(DOC["components"]["schemas"])
    assert '"name": "image"' not in schemas and '"x-glance-name": "image"' in schemas
    # the served schemas keep their own shape in their files
    assert json.loads((ROOT / "schemas/service/image.json").read_text())["name"] == "image"


def test_a_changed_modular_document_makes_it_stale_and_bundle_makes_it_anew(tmp_path):
    """The test can fail: an edit of the modular document is drift until `imgspec bundle`, which stamps the file
    unreleased (the document no longer is its locked files) and rewrites Redocly's ignore file too."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "schemas", tree / "schemas")
    shutil.copytree(ROOT / "examples", tree / "examples")
    shutil.copy(ROOT / lint.CONFIG, tree)
    shutil.copy(ROOT / lint.IGNORE_FILE, tree)
    doc_path = tree / api.DOCUMENT
    doc = json.loads(doc_path.read_text())
    doc["paths"]["/v2/images"]["get"]["summary"] = "List images (edited)"
    doc["x-lint-exceptions"] = [e for e in doc["x-lint-exceptions"] if e["rule"] != "struct"]
    doc_path.write_text(json.dumps(doc))
    stale = {str(p) for p in api_release.stale_self_contained(Spec(tree))}
    assert any(s.startswith(f"{selfcontained.FILE}: (root): bundle-stale") for s in stale)
    assert any(s.startswith(f"{lint.IGNORE_FILE}: (root): bundle-stale") for s in stale)
    done = subprocess.run([sys.executable, "-m", "imgspec", "bundle", "--root", str(tree)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert api_release.stale_self_contained(Spec(tree)) == []
    made = json.loads((tree / selfcontained.FILE).read_text())
    assert made["paths"]["/v2/images"]["get"]["summary"] == "List images (edited)"
    assert made["x-imgspec-bundle"]["lock"]["state"].startswith("unreleased")
    assert "struct:" not in (tree / lint.IGNORE_FILE).read_text()


def test_the_package_ships_it(tmp_path):
    from imgspec.spec import Spec as PackagedSpec
    assert (PackagedSpec.default().root / selfcontained.FILE).is_file()


@pytest.mark.parametrize("name, want", [("schemas/service/image.json", "ServedImage"),
                                        ("schemas/service/metadefs/resource-types.json", "MetadefResourceTypes")])
def test_component_names(name, want):
    assert selfcontained.component_name(name) == want
