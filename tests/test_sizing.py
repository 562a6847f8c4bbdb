"""Sizing figures follow from the code: hand-computed cases, a valid corpus, and the page's sentences."""
import json
import subprocess
import sys

import pytest
from support import ROOT, SPEC

from imgspec.format import validation
from imgspec.sizing import storage as sizing


@pytest.fixture(scope="module")
def corpus():
    return sizing.corpus(SPEC, images=150)


def test_total_storage_by_hand():
    # 10 images of 1,000 bytes, 3 copies in each of 2 sites, 500 bytes of metadata each
    assert sizing.total_bytes(10, 1000, 6, 500) == 65000
    policy = json.loads((ROOT / "examples/record/2.4/placement/valid/hybrid-swift-per-site.json").read_text())
    assert sizing.physical_copies(policy) == 3 * 2


def test_record_bytes_is_the_size_of_the_file_imgspec_writes():
    for path in sorted((ROOT / "examples/record").glob("*/image/valid/*.json")):
        assert sizing.record_bytes(json.loads(path.read_text())) == len(path.read_bytes()), path


def test_mean_median_p95_and_growth_by_hand():
    small = {"format_version": "2.3"}  # written as 30 bytes: an indented object and a final newline
    big = {"format_version": "2.3", "x": "y" * 73}
    assert (sizing.record_bytes(small), sizing.record_bytes(big)) == (30, 114)
    a = sizing.VersionSize.of("a", [small, small, big])
    assert (a.mean, a.median, a.p95) == (58.0, 30, 114)
    b = sizing.VersionSize.of("b", [big, big, big])
    assert sizing.growth(a, b) == pytest.approx((114 / 58 - 1) * 100)


def test_corpus_is_the_same_images_valid_at_every_version(corpus):
    assert list(corpus) == SPEC.versions
    ids = [r["id"] for r in corpus["1.0"]]
    for version, records in corpus.items():
        assert [r["id"] for r in records] == ids
        for r in records:
            assert validation.errors(r, "image", version, spec=SPEC) == []


def test_corpus_is_deterministic():
    assert sizing.corpus(SPEC, images=20) == sizing.corpus(SPEC, images=20)


def test_corpus_follows_the_distributions(corpus):
    from imgspec.sizing import corpus as corpus_mod
    dist = corpus_mod.distributions(SPEC)
    latest = corpus[SPEC.latest]
    allowed = {n for n, _ in dist["properties"]["counts"]}
    assert {len(r["properties"]) for r in latest} <= allowed
    assert {len(r["tags"]) for r in latest} <= {n for n, _ in dist["tags"]["counts"]}
    assert all(r["os_hash_algo"] == "sha512" for r in latest if r["checksum"])
    assert {x["site"] for r in latest for x in r["locations"]} <= set(dist["locations"]["sites"].values())


def test_new_fields_cost_what_the_corpus_says(corpus):
    sizes = {v: sizing.VersionSize.of(v, recs) for v, recs in corpus.items()}
    assert sizes["2.0"].mean > sizes["1.0"].mean  # tags, locations list, member status, virtual_size
    assert sizes["2.2"].mean > sizes["2.1"].mean  # os_hidden, multihash, location status


def test_every_store_the_corpus_uses_is_in_the_placement_policy(corpus):
    from imgspec.sizing import corpus as corpus_mod
    dep = json.loads((ROOT / "schemas/sizing/deployment.json").read_text())
    policy = json.loads((ROOT / dep["placement"]).read_text())
    stores = {s["id"]: site["name"] for site in policy["sites"] for s in site["stores"]}
    used = {x["metadata"]["store"] for r in corpus[SPEC.latest] for x in r["locations"]}
    assert used and used <= set(stores)
    assert all(x["site"] == stores[x["metadata"]["store"]] for r in corpus[SPEC.latest] for x in r["locations"])
    assert corpus_mod.distributions(SPEC)["locations"]["sites"] == stores  # taken from the policy: one source


def test_the_average_data_size_is_the_corpus_mean_and_counts_only_images_holding_data():
    records = [{"status": "active", "size": 100, "deleted": False}, {"status": "deleted", "size": 700, "deleted": True},
               {"status": "queued", "size": None, "deleted": False}, {"status": "pending_delete", "size": 300,
                                                                      "deleted": True}]
    assert sizing.data_profile(records) == (0.5, 200, 0.5)
    dep = {"images": 10, "concurrent_imports": 2, "api_nodes": 3, "image_cache_max_size": 1000}
    policy = {"within_site": {"copies": 3}, "across_sites": {"copies": 2}}
    st = sizing.storage(dep, policy, records, 50.0, previous_metadata_per_image=40.0)
    assert (st.data, st.metadata, st.soft_deleted_metadata, st.upgrade_peak, st.staging, st.cache) == (
        10 * 0.5 * 200 * 6, 500, 250, 500, 400, 3000)
    assert st.total == 6000 + 500 + 500 + 400 + 3000
    assert sizing.storage(dep, policy, records, 50.0).upgrade_peak == 0  # no upgrade to the first version
    out = subprocess.run([sys.executable, "-m", "imgspec", "sizing", "--corpus", "50"], capture_output=True, text=True,
                         cwd=ROOT)
    mean = sizing.data_profile(sizing.corpus(SPEC, images=50)[SPEC.latest_released])[1]
    assert out.returncode == 0 and f"(average data {sizing.human(round(mean))}," in out.stderr
    pg = subprocess.run([sys.executable, "-m", "imgspec", "sizing", "--corpus", "50", "--engine", "postgresql"],
                        capture_output=True, text=True, cwd=ROOT)
    measured = sizing.measured_per_image(SPEC, "postgresql")
    row = next(line for line in pg.stdout.splitlines() if line.startswith("2.2 "))
    assert f"{measured['2.2']:,.0f}" in row.split() and "metadata as measured on postgresql" in pg.stderr


def test_the_measured_figures_match_the_corpus_and_every_version():
    data = sizing.measured(SPEC)
    dist = json.loads((ROOT / "schemas/sizing/distributions.json").read_text())
    assert (data["images"], data["seed"]) == (dist["images"], dist["seed"])
    assert [e["engine"] for e in data["engines"]] == ["sqlite", "mariadb", "postgresql"]
    for e in data["engines"]:
        assert [x["version"] for x in e["eras"]] == SPEC.versions and e["version"]
        for era in e["eras"]:
            assert era["bytes"] == sum(era["tables"].values()) > 0
            assert era["bytes_per_image"] == round(era["bytes"] / data["images"], 1)


AGAIN = ["1.0", "2.2"]  # one era of each way of making the tables: the binding's columns, Glance's alembic


@pytest.mark.glance
def test_sqlite_figures_are_measured_again_and_agree(tmp_path):
    """make sizing's SQLite figures, measured again here (Glance's migrations, the same corpus)."""
    import measure_sizing

    from imgspec.sizing.corpus import distributions
    corpus = sizing.corpus(SPEC, distributions(SPEC))
    again = {e["version"]: e["bytes_per_image"] for e in measure_sizing.era_figures(SPEC, corpus, "sqlite", versions=AGAIN)}
    recorded = sizing.measured_per_image(SPEC, "sqlite")
    assert set(again) == set(AGAIN)
    for version, value in again.items():
        assert value == pytest.approx(recorded[version], rel=0.02), version
    assert again["2.2"] > again["1.0"]


def test_a_step_of_read_time_rules_rewrites_nothing_and_an_install_time_one_every_record_it_changes():
    corpus = sizing.corpus(SPEC, images=60)
    assert sizing.rewritten_share(SPEC, corpus["1.0"], "2.0") == 1.0  # is_public becomes visibility everywhere
    assert sizing.rewritten_share(SPEC, corpus["2.1"], "2.2") == 0.0  # defaults read, never written
    assert sizing.rewritten_share(SPEC, corpus["2.3"], "2.4") == 0.0
    shared = sum(1 for r in corpus["2.1"] if r["visibility"] == "shared") / 60  # 2.0 -> 2.1 rewrites those only
    assert 0 < sizing.rewritten_share(SPEC, corpus["2.0"], "2.1") == pytest.approx(shared)
    dep = {"images": 10, "concurrent_imports": 0, "api_nodes": 0, "image_cache_max_size": 0}
    policy = {"within_site": {"copies": 1}, "across_sites": {"copies": 1}}
    assert sizing.storage(dep, policy, corpus["2.2"], 100.0, 90.0, rewritten=0.0).upgrade_peak == 0
    assert sizing.storage(dep, policy, corpus["2.2"], 100.0, 90.0, rewritten=0.5).upgrade_peak == 500
