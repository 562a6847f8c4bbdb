"""Generated records, from the distributions of ``schemas/sizing/distributions.json``.

One generator of 1.0 records serves everything that needs realistic records: the
sizing corpus, the generated stores of the tests and benchmarks, and the crash test.
Records are made deterministically from a seed: the same seed gives the same
records.  They are 1.0 records (the oldest version, so that every upgrade step has
work to do); :func:`write_store` writes a directory store of them.
"""
from __future__ import annotations

import hashlib
import random
import string
import uuid
from pathlib import Path

from imgspec import jsonfile
from imgspec.spec import Spec

DISTRIBUTIONS = "schemas/sizing/distributions.json"
_ALPHA = string.ascii_lowercase + string.digits + "-_"


DEPLOYMENT = "schemas/sizing/deployment.json"


def distributions(spec: Spec) -> dict:
    """The corpus distributions, with the stores and sites of the reference deployment's placement policy."""
    return spec.once(("distributions",), lambda: _distributions(spec))


def _distributions(spec: Spec) -> dict:
    dist = dict(spec.load_once(DISTRIBUTIONS))
    policy = spec.load_once(spec.load_once(DEPLOYMENT)["placement"])
    sites = {store["id"]: site["name"] for site in policy["sites"] for store in site["stores"]}
    dist["locations"] = dict(dist["locations"], stores=list(sites), sites=sites)
    return dist


def pick(rng: random.Random, pairs):
    """One value of ``[[value, weight], ...]``."""
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def text(rng: random.Random, span) -> str:
    return "".join(rng.choices(_ALPHA, k=rng.randint(*span)))


def timestamp(rng: random.Random) -> str:
    return f"{rng.randint(2013, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:" \
           f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"


def record_1_0(rng: random.Random, dist: dict) -> dict:
    """One image as a 1.0 record, drawn from the distributions."""
    status = pick(rng, dist["status"])
    has_data = status in ("active", "pending_delete", "deleted")
    image_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    created = timestamp(rng)
    props = {text(rng, dist["properties"]["key_length"]): text(rng, dist["properties"]["value_length"])
             for _ in range(pick(rng, dist["properties"]["counts"]))}
    members = []
    for _ in range(pick(rng, dist["members"]["counts"])):
        deleted = rng.random() < dist["members"]["deleted"]
        members.append({"member": uuid.UUID(int=rng.getrandbits(128)).hex, "can_share": False, "created_at": created,
                        "updated_at": None, "deleted": deleted, "deleted_at": created if deleted else None})
    locs = dist["locations"]
    return {
        "format_version": "1.0", "id": image_id,
        "name": None if rng.random() < dist["null_name"] else text(rng, dist["name_length"]),
        "status": status, "is_public": rng.random() < dist["is_public"], "protected": False,
        "checksum": hashlib.md5(image_id.encode()).hexdigest() if has_data else None,
        "owner": uuid.UUID(int=rng.getrandbits(128)).hex,
        "size": rng.randint(*dist["data_bytes"]) if has_data else None,
        "container_format": "bare", "disk_format": "qcow2", "min_disk": 0, "min_ram": 0,
        "location": (f"swift+https://{rng.choice(locs['stores'])}.example.net/v1/AUTH_glance/glance/" +
                     text(rng, [max(1, locs["url_length"][0] - 60), max(1, locs["url_length"][1] - 60)]))
        if has_data else None,
        "properties": props, "members": members,
        "created_at": created, "updated_at": created,
        "deleted": status == "deleted", "deleted_at": created if status == "deleted" else None,
    }


def write_store(folder: Path | str, count: int, seed: int = 1, spec: Spec | None = None) -> Path:
    """A 1.0 directory store of ``count`` generated records."""
    folder = Path(folder)
    (folder / "records").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    dist = distributions(spec or Spec.default())
    for _ in range(count):
        rec = record_1_0(rng, dist)
        (folder / "records" / f"{rec['id']}.json").write_text(jsonfile.dumps(rec), encoding="utf-8")
    manifest = {"format_version": "1.0", "kind": "imgspec.store", "created_at": "2014-01-01T00:00:00Z",
                "generator": "imgspec corpus", "upgrade_in_progress": None}
    (folder / "manifest.json").write_text(jsonfile.dumps(manifest), encoding="utf-8")
    return folder
