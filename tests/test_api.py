"""The OpenAPI document: valid, every reachable schema checked, every example validated."""
import json

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from support import ROOT, SPEC

from imgspec.api import document as api
from imgspec.problems import ProblemError

OPS = api.operations(SPEC)
EXAMPLES = api.api_examples(SPEC)


def test_the_document_passes_openapi_spec_validator():
    validate_openapi(api.bundled(SPEC))  # bundled: the validator never fetches a reference


def test_the_whole_core_api_is_covered():
    routes = {(op.method, op.path) for op in OPS.values()}
    expected = {("get", "/"), ("get", "/v2/images"), ("post", "/v2/images"), ("get", "/v2/images/{image_id}"),
                ("patch", "/v2/images/{image_id}"), ("delete", "/v2/images/{image_id}"),
                ("post", "/v2/images/{image_id}/actions/deactivate"), ("post", "/v2/images/{image_id}/actions/reactivate"),
                ("put", "/v2/images/{image_id}/file"), ("get", "/v2/images/{image_id}/file"),
                ("put", "/v2/images/{image_id}/stage"), ("post", "/v2/images/{image_id}/import"),
                ("put", "/v2/images/{image_id}/tags/{tag}"), ("delete", "/v2/images/{image_id}/tags/{tag}"),
                ("get", "/v2/images/{image_id}/members"), ("post", "/v2/images/{image_id}/members"),
                ("get", "/v2/images/{image_id}/members/{member_id}"), ("put", "/v2/images/{image_id}/members/{member_id}"),
                ("delete", "/v2/images/{image_id}/members/{member_id}"), ("get", "/v2/schemas/image"),
                ("get", "/v2/schemas/images"), ("get", "/v2/schemas/member"), ("get", "/v2/schemas/members"),
                ("get", "/v2/tasks"), ("post", "/v2/tasks"), ("get", "/v2/tasks/{task_id}"), ("get", "/v2/info/import"),
                ("get", "/v2/info/stores"), ("get", "/v2/info/usage"), ("get", "/v2/images/{image_id}/locations"),
                ("post", "/v2/images/{image_id}/locations"), ("delete", "/v2/stores/{store_id}/{image_id}")}
    assert expected <= routes


def test_documented_glance_facts():
    assert "200" in OPS["createImageMember"].node["responses"]  # 200, not 201
    assert set(OPS["updateImage"].node["requestBody"]["content"]) == {
        "application/openstack-images-v2.1-json-patch", "application/openstack-images-v2.0-json-patch"}
    assert "Accept-Patch" in OPS["updateImage"].node["responses"]["415"]["headers"]
    assert {"200", "204", "206"} <= set(OPS["downloadImageData"].node["responses"])
    assert "Location" in OPS["createImage"].node["responses"]["201"]["headers"]


def test_every_reachable_schema_is_checked_second_hop_included():
    reg = api.registry(SPEC)
    resolver = reg.resolver(base_uri=api.uri(SPEC))
    seen = set()

    def visit(node, resolver):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                resolved = resolver.lookup(ref)
                key = (str(resolved.resolver._base_uri), ref)
                if key not in seen:
                    seen.add(key)
                    if isinstance(resolved.contents, dict) and "$schema" in resolved.contents:
                        Draft202012Validator.check_schema(resolved.contents)
                    visit(resolved.contents, resolved.resolver)
            for v in node.values():
                visit(v, resolver)
        elif isinstance(node, list):
            for v in node:
                visit(v, resolver)

    visit(api.document(SPEC), resolver)
    files = {ref for _, ref in seen if not ref.startswith("#")}
    assert {"../service/image.json", "../service/images.json", "image.json"} <= files  # images.json -> image.json


def test_every_operation_with_a_json_body_has_examples():
    have = {(e.operation_id, e.part) for e in EXAMPLES if e.valid}
    for op in OPS.values():
        if "application/json" in op.node.get("requestBody", {}).get("content", {}) or any(
                m.endswith("json-patch") for m in op.node.get("requestBody", {}).get("content", {})):
            assert (op.operation_id, "request") in have, op.operation_id
        json_2xx = [s for s, r in op.node["responses"].items()
                    if s.startswith("2") and "application/json" in r.get("content", {})]
        if json_2xx and op.operation_id not in ("createTask",):  # creating a task needs an admin-only import flow
            assert (op.operation_id, "response") in have or api.served_schema(SPEC, op), op.operation_id


def test_a_served_schema_the_spec_keeps_is_its_operations_example():
    served = {op.operation_id: api.served_schema(SPEC, op) for op in OPS.values() if api.served_schema(SPEC, op)}
    assert len(served) == 10  # /v2/schemas/metadefs/*
    for op_id, (rel, body) in served.items():
        assert api.body_errors(body, OPS[op_id], "response", "200", spec=SPEC) == [], rel
        assert not (SPEC.examples / "api" / op_id).exists(), f"{op_id}: its example is {rel}, kept once"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: SPEC.rel(e.path))
def test_api_example_is_as_declared(example):
    assert len(EXAMPLES) >= 35
    assert api.example_verdict(SPEC, example) == []


def test_a_broken_api_example_is_one_clear_line(spec_copy):
    path = spec_copy.examples / "api" / "showImage" / "response-200.json"
    doc = json.loads(path.read_text())
    doc["visibility"] = "everyone"
    path.write_text(json.dumps(doc))
    (case,) = [e for e in api.api_examples(spec_copy) if e.path == path]
    assert api.example_verdict(spec_copy, case) == [
        "examples/api/showImage/response-200.json: /visibility: enum: 'everyone' is not one of "
        "['community', 'public', 'private', 'shared']"]


def test_a_badly_named_example_is_refused(spec_copy):
    (spec_copy.examples / "api" / "showImage" / "answer.json").write_text("{}")
    with pytest.raises(ProblemError, match="example-name"):
        api.api_examples(spec_copy)


def test_served_image_schema_works_for_python_glanceclient():
    schema = json.loads((ROOT / "schemas/service/image.json").read_text())
    assert schema["name"] == "image" and schema["additionalProperties"] == {"type": "string"}
    assert {link["rel"] for link in schema["links"]} == {"self", "enclosure", "describedby"}
    assert "required" not in schema  # the client validates partial images
    # warlock builds a model class and validates custom properties as strings
    from jsonschema import Draft202012Validator as V
    assert V(schema).is_valid({"name": "x", "os_distro": "cirros"})
    assert not V(schema).is_valid({"name": "x", "hw_cpu_cores": 4})


def test_every_field_of_every_operation_is_described_and_every_description_of_the_table_is_used():
    from imgspec.api import fields as apifields
    assert apifields.undocumented(SPEC) == []
    shown = set()
    for op in OPS.values():
        found = apifields.operation_fields(SPEC, op)
        shown |= {f.location for b in found.request for f in b.fields}
        shown |= {f.location for bodies in found.responses.values() for b in bodies for f in b.fields}
    assert len(shown) >= 380
    import fnmatch
    used = {id(entry) for pattern, entry in apifields.descriptions(SPEC)
            if any(fnmatch.fnmatchcase(loc, pattern) for loc in shown)}
    assert [e for _, e in apifields.descriptions(SPEC) if id(e) not in used] == []


def test_a_field_without_a_description_is_found(spec_copy):
    from imgspec.api import fields as apifields
    path = spec_copy.root / apifields.DESCRIPTIONS
    data = json.loads(path.read_text())
    data["descriptions"] = [d for d in data["descriptions"] if d["field"] != "operators"]
    path.write_text(json.dumps(data))
    bare = apifields.undocumented(spec_copy)
    assert bare and {name.rsplit(".", 1)[-1] for _, name, _ in bare} == {"operators"}


def test_the_fields_of_an_operation_read_as_an_api_reference():
    from imgspec.api import fields as apifields
    patch = apifields.operation_fields(SPEC, OPS["updateImage"])
    assert [b.media for b in patch.request] == ["application/openstack-images-v2.1-json-patch",
                                                  "application/openstack-images-v2.0-json-patch"]
    op = {f.name: f for f in patch.request[0].fields}["[].op"]
    assert [v.text for v in op.values] == ["add", "remove", "replace"] and op.required
    image = {f.name: f for f in patch.responses["200"][0].fields}
    assert image["os_hidden"].since == "2.7" and image["name"].type == "string or null"
    assert image["name"].limits == "at most 255 characters"
    assert {v.text: v.since for v in image["visibility"].values}["community"] == "2.5"
    assert not image["direct_url"].required and image["locations[].url"].description
    listing = {f.name: f for f in apifields.operation_fields(SPEC, OPS["listImages"]).parameters}
    assert listing["visibility"].where == "query" and not listing["visibility"].required
    assert apifields.type_words({"type": ["null", "string"], "format": "date-time"}) == "string (date-time) or null"
    assert apifields.type_words({"type": "array", "items": {"type": "string"}}) == "array of string"
    assert apifields.type_words({"enum": ["a", None]}) == "string or null"
