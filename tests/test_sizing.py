"""Sizing figures follow from the code: hand-computed cases, a valid corpus, and the page's sentences."""
import json
import re

import pytest

from imgspec import sizing, validation
from imgspec.spec import Spec

from conftest import ROOT

SPEC = Spec(ROOT)


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
    dist = json.loads((ROOT / "schemas/sizing/distributions.json").read_text())
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


@pytest.mark.site
def test_the_sizing_page_states_the_computed_growth(tmp_path):
    from conftest import sphinx_build
    result = sphinx_build(tmp_path / "site")
    assert result.returncode == 0, result.stderr
    html = re.sub(r"<[^>]+>", "", (tmp_path / "site" / "format" / "sizing.html").read_text())
    sizes = sizing.per_version(SPEC)
    a, b = sizes[0], sizes[1]
    assert (f"Upgrading from 1.0 to 2.0 adds about {sizing.growth(a, b):.1f}% metadata per image "
            f"({a.mean:,.0f} → {b.mean:,.0f} bytes on average).") in html
