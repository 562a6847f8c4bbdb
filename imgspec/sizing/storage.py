"""What each format version costs in storage, computed from the schemas and a generated corpus.

The corpus follows ``schemas/sizing/distributions.json``: each image is generated once
as a 1.0 record, upgraded to every later version by the upgrade rules, and filled in,
at the version that introduces them, with the values the distributions give for the
fields the version's schema adds (tags, member answers, multihash, store names,
sites).  A record's metadata cost is the size of the file imgspec writes for it.

Storage for a deployment (:func:`storage`): the data of the images that hold data, times
the physical copies of the placement policy (copies within a site x sites holding a copy);
the metadata, measured per image on the database engine (``schemas/sizing/measured.json``,
written by ``make sizing``), soft-deleted rows included until they are purged; the room an
upgrade needs while it runs; the staging store; the image cache.
"""
from __future__ import annotations

import hashlib
import random
import statistics
from dataclasses import dataclass

from imgspec import jsonfile
from imgspec.sizing.corpus import distributions, pick, record_1_0, text
from imgspec.spec import Spec
from imgspec.upgrade import upgrade
from imgspec.upgrade.rules import Step, chain


def _fill(spec: Spec, doc: dict, version: str, rng: random.Random, dist: dict) -> dict:
    """Give the fields ``version`` introduces the values the distributions say."""
    new = lambda kind, field: spec.since(kind, field) == version  # noqa: E731
    locs = dist["locations"]
    if new("image", "tags"):
        doc["tags"] = sorted({text(rng, dist["tags"]["length"]) for _ in range(pick(rng, dist["tags"]["counts"]))})
    if new("image", "virtual_size") and doc.get("size"):
        doc["virtual_size"] = doc["size"] * rng.randint(*dist["virtual_size_factor"])
    if new("image", "locations") and doc["locations"]:
        first = doc["locations"][0]
        extra = pick(rng, locs["counts"]) - 1
        doc["locations"] += [dict(first, url=first["url"] + f"-copy{i}") for i in range(extra)]
    if new("member", "status"):
        for m in doc["members"]:
            m["status"] = pick(rng, dist["members"]["status"])
    if new("image", "os_hash_algo") and doc.get("checksum"):
        doc["os_hash_algo"] = "sha512"
        doc["os_hash_value"] = hashlib.sha512(doc["id"].encode()).hexdigest()
    key = locs["store_key"].get(version)  # where the version's era names a location's store, if anywhere
    if key is not None:
        for loc in doc["locations"]:
            loc["metadata"] = {key: rng.choice(locs["stores"])}
    if new("location", "site"):
        for loc in doc["locations"]:
            loc["site"] = locs["sites"].get(loc["metadata"].get("store"))
    return doc


def corpus(spec: Spec, dist: dict | None = None, images: int | None = None) -> dict[str, list[dict]]:
    """The same images at every version: {version: [record, ...]}."""
    dist = dist or distributions(spec)
    rng = random.Random(dist["seed"])
    out: dict[str, list[dict]] = {v: [] for v in spec.versions}
    for _ in range(images or dist["images"]):
        doc = record_1_0(rng, dist)
        out["1.0"].append(doc)
        for version in spec.versions[1:]:
            doc = _fill(spec, upgrade(doc, version, spec), version, rng, dist)
            out[version].append(doc)
    return out


def record_bytes(doc: dict) -> int:
    """What one record costs: the size of the file imgspec writes for it."""
    return len(jsonfile.dumps(doc).encode("utf-8"))


@dataclass(frozen=True)
class VersionSize:
    version: str
    mean: float
    median: float
    p95: float

    @staticmethod
    def of(version: str, records: list[dict]) -> VersionSize:
        sizes = sorted(record_bytes(r) for r in records)
        return VersionSize(version, statistics.fmean(sizes), statistics.median(sizes),
                           sizes[min(len(sizes) - 1, int(0.95 * len(sizes)))])


def per_version(spec: Spec, images: int | None = None) -> list[VersionSize]:
    return [VersionSize.of(v, recs) for v, recs in corpus(spec, images=images).items()]


def growth(old: VersionSize, new: VersionSize) -> float:
    """Metadata growth per image from ``old`` to ``new``, in percent."""
    return (new.mean / old.mean - 1) * 100


def physical_copies(policy: dict) -> int:
    return policy["within_site"]["copies"] * policy["across_sites"]["copies"]


def total_bytes(images: int, average_data_bytes: int, copies: int, metadata_bytes_per_image: float) -> float:
    return images * (average_data_bytes * copies + metadata_bytes_per_image)


# statuses whose image keeps data in the stores: active (and deactivated) images, and pending_delete ones
# until the scrubber deletes their data (glance/scrubber.py); deleted, killed and queued ones hold none
HOLDS_DATA = ("active", "deactivated", "pending_delete")


def data_profile(records: list[dict]) -> tuple[float, float, float]:
    """(share of images holding data, their average data size, share of soft-deleted images) of a corpus."""
    holding = [r["size"] for r in records if r["status"] in HOLDS_DATA and r.get("size")]
    deleted = sum(1 for r in records if r["deleted"])
    return len(holding) / len(records), statistics.fmean(holding), deleted / len(records)


@dataclass(frozen=True)
class Storage:
    """What a deployment stores at one format version, part by part (bytes)."""
    data: float
    metadata: float
    soft_deleted_metadata: float
    upgrade_peak: float
    staging: float
    cache: float

    @property
    def total(self) -> float:
        return self.data + self.metadata + self.upgrade_peak + self.staging + self.cache


def rewritten_share(spec: Spec, records: list[dict], target: str) -> float:
    """The share of ``records`` (of the version before ``target``) that the step to ``target`` makes a store
    rewrite: those an install-time or first-use rule changes.  Read-time rules are applied by readers and never
    written, so a step of read-time rules only rewrites nothing."""
    step = chain(spec, records[0]["format_version"], target)[-1] if records else None
    if step is None:
        return 0.0
    strict = [r for r in step.rules if r["mode"] != "read-time"]
    if not strict:
        return 0.0
    only = Step(step.path, {**step.data, "rules": strict, "store_rules": []}, spec)
    changed = 0
    for doc in records:
        touched: list = []
        only.apply(doc, touched=touched)
        changed += bool(touched)
    return changed / len(records)


def rewritten_shares(spec: Spec) -> dict[str, float]:
    """{version: the share of the sizing corpus' records of the version before it that the step to it rewrites}
    (the corpus made once per build: the sizing page and the upgrade guide read the same one)."""
    records = spec.once(("sizing-corpus",), lambda: corpus(spec, distributions(spec)))
    return spec.once(("sizing-rewritten",), lambda: {
        b: rewritten_share(spec, records[a], b) for a, b in zip(spec.versions, spec.versions[1:], strict=False)})


def storage(deployment: dict, policy: dict, records: list[dict], metadata_per_image: float,
            previous_metadata_per_image: float | None = None, rewritten: float = 1.0) -> Storage:
    """The storage of ``deployment`` at a version whose metadata costs ``metadata_per_image`` (measured).

    ``previous_metadata_per_image``: the version upgraded from, whose rows stay until the upgrade has
    rewritten them: the peak extra space is a second copy of the metadata of the records the step rewrites
    (``rewritten``, a share: :func:`rewritten_share`).
    """
    images = deployment["images"]
    holding, average, deleted = data_profile(records)
    return Storage(
        data=images * holding * average * physical_copies(policy),
        metadata=images * metadata_per_image,
        soft_deleted_metadata=images * deleted * metadata_per_image,
        upgrade_peak=images * metadata_per_image * rewritten if previous_metadata_per_image is not None else 0.0,
        staging=deployment["concurrent_imports"] * average,
        cache=deployment["api_nodes"] * deployment["image_cache_max_size"])


def measured(spec: Spec) -> dict:
    """``schemas/sizing/measured.json``: bytes per image per version and engine, as ``make sizing`` measured them."""
    return spec.load_once("schemas/sizing/measured.json")


def measured_per_image(spec: Spec, engine: str) -> dict[str, float]:
    entry = next(e for e in measured(spec)["engines"] if e["engine"] == engine)
    return {era["version"]: era["bytes_per_image"] for era in entry["eras"]}


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,.1f} {unit}" if unit != "B" else f"{n:,.0f} B"
        n /= 1024
    return f"{n:,.1f} PiB"


@dataclass
class Estimate:
    """A deployment's storage at every version: what ``imgspec sizing`` prints."""
    deployment: dict
    policy: dict
    engine: str
    rows: list[tuple[VersionSize, float, Storage, bool]]  # (JSON size, metadata bytes per image, storage, upgraded)
    holding: float
    average: float
    deleted: float


def estimate(spec: Spec, images: int | None = None, engine: str | None = None, copies: int | None = None,
             average_size: float | None = None, corpus_images: int | None = None) -> Estimate:
    """The reference deployment (``schemas/sizing/deployment.json``) with any of its figures replaced: its storage
    at every version, on the metadata measured on ``engine``."""
    dep = dict(spec.load("schemas/sizing/deployment.json"))
    if images is not None:
        dep["images"] = images
    engine = engine or dep["engine"]
    per_image = measured_per_image(spec, engine)
    policy = jsonfile.load(spec.root / dep["placement"])
    if copies is not None:
        policy = {"within_site": {"copies": copies}, "across_sites": {"copies": 1}}
    records = corpus(spec, images=corpus_images)
    holding, average, deleted = data_profile(records[spec.latest_released])
    if average_size is not None:  # the corpus' sizes scaled to the average asked for
        records = {v: [dict(r, size=round(r["size"] * average_size / average)) if r.get("size") else r
                       for r in recs] for v, recs in records.items()}
        average = average_size
    rows = []
    previous: float | None = None
    before: str | None = None
    for size in per_version(spec, images=corpus_images):
        share = rewritten_share(spec, records[before], size.version) if before else 0.0
        rows.append((size, per_image[size.version],
                     storage(dep, policy, records[size.version], per_image[size.version], previous, share),
                     before is not None))
        previous, before = per_image[size.version], size.version
    return Estimate(dep, policy, engine, rows, holding, average, deleted)
