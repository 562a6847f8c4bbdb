"""Strict JSON reading: every unusable input becomes one problem naming file, pointer and rule."""
import json

import pytest

from imgspec import jsonfile
from imgspec.problems import ProblemError


def problem(data, **kw):
    with pytest.raises(ProblemError) as info:
        jsonfile.loads(data, "f.json", **kw)
    assert len(info.value.problems) == 1
    return info.value.problems[0]


def test_reads_plain_json():
    assert jsonfile.loads('{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}


def test_duplicate_key_names_its_pointer():
    p = problem('{"a": {"b": [{"c~/d": 1, "c~/d": 2}]}}')
    assert (p.pointer, p.rule) == ("/a/b/0/c~0~1d", "duplicate-key")
    assert str(p).startswith("f.json: /a/b/0/c~0~1d: duplicate-key: ")


def test_duplicate_key_at_top_level():
    assert problem('{"name": "a", "name": "b"}').pointer == "/name"


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(token):
    assert problem(f'{{"size": {token}}}').rule == "non-finite-number"


def test_overflowing_number_is_refused():
    p = problem('{"size": 1e999}')
    assert (p.pointer, p.rule) == ("/size", "non-finite-number")


def test_malformed_json_gives_line_and_column():
    p = problem('{\n  "a": 1,\n  "b" 2\n}')
    assert p.rule == "malformed-json" and p.line == 3
    assert "line 3, column 7" in p.message


def test_deep_nesting_is_refused_without_recursion_error():
    assert problem("[" * 100000 + "]" * 100000).rule == "max-depth"


def test_nesting_over_the_limit_is_refused_at_the_root():
    """The reader contract: max-depth names the root (a parser need not know where it stopped); 3 levels are read."""
    p = problem('{"a": ' * 4 + "1" + "}" * 4, max_depth=3)
    assert (p.pointer, p.rule) == ("", "max-depth")
    assert jsonfile.loads('{"a": ' * 3 + "1" + "}" * 3, max_depth=3) == {"a": {"a": {"a": 1}}}


def test_binary_garbage_is_refused():
    assert problem(b"\x89PNG\r\n\x1a\n\x00\x00\x00").rule == "not-json"


def test_invalid_utf8_is_refused():
    p = problem(b'{"a": "\xff"}')
    assert p.rule == "not-utf8" and "offset 7" in p.message


def test_utf8_bom_is_accepted():
    assert jsonfile.loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    f = tmp_path / "big.json"
    f.write_text(json.dumps({"x": "y" * 1000}))
    with pytest.raises(ProblemError) as info:
        jsonfile.load(f, max_bytes=100)
    assert info.value.problems[0].rule == "max-size"


def test_missing_file(tmp_path):
    with pytest.raises(ProblemError) as info:
        jsonfile.load(tmp_path / "nope.json")
    assert info.value.problems[0].rule == "unreadable"


def test_dumps_round_trips_key_order():
    doc = {"z": 1, "a": [1, {"é": None}]}
    text = jsonfile.dumps(doc)
    assert text.endswith("\n") and "é" in text and list(jsonfile.loads(text)) == ["z", "a"]


def test_a_problem_error_is_of_the_kind_its_status_gives():
    """Raised as ProblemError, an error is UnusableInput (2) or InvalidInput (1), and keeps both across processes."""
    import pickle

    import imgspec
    from imgspec.problems import INVALID, Problem

    with pytest.raises(imgspec.UnusableInput) as info:
        jsonfile.loads(b'{"a": 1, "a": 2}', "x.json")
    assert info.value.status == 2 and isinstance(info.value, imgspec.ProblemError)
    with pytest.raises(imgspec.InvalidInput) as invalid:
        imgspec.validate({"format_version": "2.3"})
    assert invalid.value.status == 1 and not isinstance(invalid.value, imgspec.UnusableInput)
    told = ProblemError(Problem("db", "", "unknown-version", "x"), status=INVALID)  # the raiser knows better
    assert type(told) is imgspec.InvalidInput and told.status == 1
    assert type(ProblemError(Problem("f", "", "unreadable", "x"))) is imgspec.UnusableInput
    again = pickle.loads(pickle.dumps(told))
    assert type(again) is imgspec.InvalidInput and again.problems == told.problems and again.status == 1
    assert imgspec.UnusableInput([Problem("f", "", "required", "x")]).status == 2  # a kind raised by name keeps it


def test_every_duplicate_key_of_a_document_is_reported_in_document_order():
    with pytest.raises(ProblemError) as info:
        jsonfile.loads(b'{"a": 1, "a": 2, "b": {"c": 1, "c": 2, "e": [1, {"d": 0, "d": 1}]}}', "x.json")
    assert [(p.pointer, p.rule) for p in info.value.problems] == [
        ("/a", "duplicate-key"), ("/b/c", "duplicate-key"), ("/b/e/1/d", "duplicate-key")]
