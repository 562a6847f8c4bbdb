"""What each format version costs in storage, computed from the schemas and a generated corpus.

The corpus follows ``schemas/sizing/distributions.json``: each image is generated once
as a 1.0 record, upgraded to every later version by the upgrade rules, and filled in,
at the version that introduces them, with the values the distributions give for the
fields the version's schema adds (tags, member answers, multihash, store names,
sites).  A record's metadata cost is the size of the file imgspec writes for it.

Storage for a deployment = images x (average data size x physical copies + metadata
per image), where physical copies = copies within a site x sites holding a copy,
from the placement policy.
"""
from __future__ import annotations

import hashlib
import random
import statistics
import string
import uuid
from dataclasses import dataclass

from . import jsonfile
from .spec import Spec
from .upgrade import upgrade

_ALPHA = string.ascii_lowercase + string.digits + "-_"


def _pick(rng: random.Random, pairs):
    values, weights = zip(*pairs)
    return rng.choices(values, weights)[0]


def _text(rng: random.Random, span) -> str:
    return "".join(rng.choices(_ALPHA, k=rng.randint(*span)))


def _ts(rng: random.Random) -> str:
    return f"{rng.randint(2013, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:" \
           f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"


def base_record(rng: random.Random, dist: dict) -> dict:
    """One image as a 1.0 record, drawn from the distributions."""
    status = _pick(rng, dist["status"])
    has_data = status in ("active", "pending_delete", "deleted")
    image_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    created = _ts(rng)
    props = {_text(rng, dist["properties"]["key_length"]): _text(rng, dist["properties"]["value_length"])
             for _ in range(_pick(rng, dist["properties"]["counts"]))}
    members = []
    for _ in range(_pick(rng, dist["members"]["counts"])):
        deleted = rng.random() < dist["members"]["deleted"]
        members.append({"member": uuid.UUID(int=rng.getrandbits(128)).hex, "can_share": False, "created_at": created,
                        "updated_at": None, "deleted": deleted, "deleted_at": created if deleted else None})
    locs = dist["locations"]
    return {
        "format_version": "1.0", "id": image_id,
        "name": None if rng.random() < dist["null_name"] else _text(rng, dist["name_length"]),
        "status": status, "is_public": rng.random() < dist["is_public"], "protected": False,
        "checksum": hashlib.md5(image_id.encode()).hexdigest() if has_data else None,
        "owner": uuid.UUID(int=rng.getrandbits(128)).hex,
        "size": rng.randint(*dist["data_bytes"]) if has_data else None,
        "container_format": "bare", "disk_format": "qcow2", "min_disk": 0, "min_ram": 0,
        "location": (f"swift+https://{rng.choice(locs['stores'])}.example.net/v1/AUTH_glance/glance/" +
                     _text(rng, [max(1, locs["url_length"][0] - 60), max(1, locs["url_length"][1] - 60)]))
        if has_data else None,
        "properties": props, "members": members,
        "created_at": created, "updated_at": created,
        "deleted": status == "deleted", "deleted_at": created if status == "deleted" else None,
    }


def _fill(doc: dict, version: str, spec: Spec, rng: random.Random, dist: dict) -> dict:
    """Give the fields ``version`` introduces the values the distributions say."""
    new = lambda kind, field: spec.since(kind, field) == version  # noqa: E731
    locs = dist["locations"]
    if new("image", "tags"):
        doc["tags"] = sorted({_text(rng, dist["tags"]["length"]) for _ in range(_pick(rng, dist["tags"]["counts"]))})
    if new("image", "virtual_size") and doc.get("size"):
        doc["virtual_size"] = doc["size"] * rng.randint(*dist["virtual_size_factor"])
    if new("image", "locations") and doc["locations"]:
        first = doc["locations"][0]
        extra = _pick(rng, locs["counts"]) - 1
        doc["locations"] += [dict(first, url=first["url"] + f"-copy{i}") for i in range(extra)]
    if new("member", "status"):
        for m in doc["members"]:
            m["status"] = _pick(rng, dist["members"]["status"])
    if new("image", "os_hash_algo") and doc.get("checksum"):
        doc["os_hash_algo"] = "sha512"
        doc["os_hash_value"] = hashlib.sha512(doc["id"].encode()).hexdigest()
    if version == "2.2":  # Rocky multi-store named the store under metadata.backend
        for loc in doc["locations"]:
            loc["metadata"] = {"backend": rng.choice(locs["stores"])}
    if new("location", "site"):
        for loc in doc["locations"]:
            loc["site"] = locs["sites"].get(loc["metadata"].get("store"))
    return doc


def corpus(spec: Spec, dist: dict | None = None, images: int | None = None) -> dict[str, list[dict]]:
    """The same images at every version: {version: [record, ...]}."""
    dist = dist or spec.load("schemas/sizing/distributions.json")
    rng = random.Random(dist["seed"])
    out: dict[str, list[dict]] = {v: [] for v in spec.versions}
    for _ in range(images or dist["images"]):
        doc = base_record(rng, dist)
        out["1.0"].append(doc)
        for prev, version in zip(spec.versions, spec.versions[1:]):
            doc = _fill(upgrade(doc, version, spec), version, spec, rng, dist)
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
    def of(version: str, records: list[dict]) -> "VersionSize":
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


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,.1f} {unit}" if unit != "B" else f"{n:,.0f} B"
        n /= 1024
    return f"{n:,.1f} PiB"
