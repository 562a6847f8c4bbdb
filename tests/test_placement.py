"""Placement: exactly one party owns each replication scope, in policies and in records."""
import copy
import json
import subprocess
import sys

import pytest
from support import ROOT, SPEC

from imgspec.format import placement
from imgspec.upgrade import upgrade

POLICIES = ROOT / "examples/record/2.4/placement/valid"
HYBRID = json.loads((POLICIES / "hybrid-swift-per-site.json").read_text())
EVERYWHERE = json.loads((POLICIES / "image-service-everywhere.json").read_text())
GLOBAL = json.loads((POLICIES / "global-swift.json").read_text())


def record(*copies, status="active"):
    """A 2.4 image record with one live location per (store, site)."""
    doc = upgrade(json.loads((ROOT / "examples/record/2.3/image/valid/active-public.json").read_text()), "2.4", SPEC)
    base = doc["locations"][0]
    doc["locations"] = [dict(base, url=f"swift://{store}/{i}", metadata={"store": store}, site=site)
                        for i, (store, site) in enumerate(copies)]
    doc["status"] = status
    return doc


def rules(doc, policy):
    return [(p.pointer, p.rule) for p in placement.check_record(doc, policy, "r.json")]


def test_all_valid_policies_pass():
    for path in sorted(POLICIES.glob("*.json")):
        assert placement.check_policy(json.loads(path.read_text())) == [], path.name


def test_hybrid_records():
    assert rules(record(("swift-a", "site-a"), ("swift-b", "site-b")), HYBRID) == []
    assert rules(record(("swift-a", "site-a")), HYBRID) == [("/locations", "across-sites-neither")]
    assert rules(record(("swift-a", "site-a"), ("swift-a", "site-a"), ("swift-b", "site-b")), HYBRID) == [
        ("/locations", "within-site-both")]


def test_image_service_everywhere_records():
    ok = record(("site-a-file0", "site-a"), ("site-a-file1", "site-a"), ("site-b-file0", "site-b"),
                ("site-b-file1", "site-b"))
    assert rules(ok, EVERYWHERE) == []
    short = record(("site-a-file0", "site-a"), ("site-b-file0", "site-b"), ("site-b-file1", "site-b"))
    assert rules(short, EVERYWHERE) == [("/locations", "within-site-neither")]


def test_global_store_records():
    assert rules(record(("swift-global", "region-one")), GLOBAL) == []
    assert rules(record(("swift-global", "region-one"), ("swift-global-r2", "region-two")), GLOBAL) == [
        ("/locations", "across-sites-both")]


def test_unknown_store_and_wrong_site():
    doc = record(("swift-a", "site-b"), ("nfs", None))
    assert rules(doc, HYBRID) == [("/locations/0/site", "wrong-site"), ("/locations/1/metadata/store", "unknown-store"),
                                  ("/locations", "across-sites-neither")]


def test_images_without_data_are_not_checked():
    assert rules(record(status="queued"), HYBRID) == []


def test_deleted_and_pending_delete_copies_do_not_count():
    doc = record(("swift-a", "site-a"), ("swift-b", "site-b"), ("swift-b", "site-b"))
    doc["locations"][2]["status"] = "pending_delete"
    assert rules(doc, HYBRID) == []


@pytest.mark.parametrize("change,rule", [
    (lambda p: p["sites"][0]["stores"].append(dict(p["sites"][1]["stores"][0])), "duplicate-store"),
    (lambda p: p["across_sites"].update(copies=5), "too-many-copies"),
    (lambda p: p["across_sites"].update(copies=1), "across-sites-neither"),
    (lambda p: p.update(across_sites={"owner": "store", "copies": 2}), "across-sites-neither"),
])
def test_policy_rules(change, rule):
    policy = copy.deepcopy(HYBRID)
    change(policy)
    assert [p.rule for p in placement.check_policy(policy)] == [rule]


def test_every_rule_is_documented_and_reachable():
    source = (ROOT / "imgspec/format/placement.py").read_text()
    for rule in placement.RULES:
        assert source.count(f'"{rule}"') >= 2, rule  # documented in RULES and raised somewhere


def run(*args):
    return subprocess.run([sys.executable, "-m", "imgspec", "placement", *args], capture_output=True, text=True)


def test_cli_on_a_store(tmp_path):
    store = tmp_path / "store"
    (store / "records").mkdir(parents=True)
    manifest = json.loads((ROOT / "examples/record/2.4/store/valid/with-placement-policy.json").read_text())
    (store / "manifest.json").write_text(json.dumps(manifest))
    (store / "records" / "a.json").write_text(json.dumps(record(("swift-a", "site-a"), ("swift-b", "site-b"))))
    assert run(str(store)).returncode == 0
    (store / "records" / "b.json").write_text(json.dumps(record(("swift-a", "site-a"))))
    result = run(str(store))
    assert result.returncode == 1
    assert result.stdout == (f"{store}/records/b.json: /locations: across-sites-neither: "
                             "copies in 1 of the 2 sites asked\n")


def test_cli_on_a_bad_policy_file():
    result = run(str(ROOT / "examples/record/2.4/placement/invalid/within-site-neither.json"))
    assert result.returncode == 1
    assert ": /sites/0/stores/0/replicas: within-site-neither: " in result.stdout
