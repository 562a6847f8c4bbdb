"""Generated stores of realistic records, for tests, benchmarks and the crash test.

Records are made deterministically from a seed: the same seed gives the same
store.  They are 1.0 records (the oldest version, so that every upgrade step
has work to do); :func:`write_store` writes a directory store of them.
"""
from __future__ import annotations

import random
import uuid
from pathlib import Path

from . import jsonfile
from .spec import Spec

DISTROS = ["ubuntu", "centos", "debian", "fedora", "rhel", "cirros", "windows", "opensuse"]
FORMATS = [("bare", "qcow2"), ("bare", "raw"), ("ovf", "vmdk"), ("bare", "vhd"), ("bare", "iso")]
STATUSES = ["active"] * 16 + ["queued", "killed", "deleted", "pending_delete"]


def _ts(rng: random.Random, year=2013) -> str:
    return f"{year + rng.randrange(5)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T" \
           f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"


def record_1_0(rng: random.Random) -> dict:
    image_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    status = rng.choice(STATUSES)
    has_data = status in ("active", "pending_delete", "deleted")
    distro = rng.choice(DISTROS)
    container, disk = rng.choice(FORMATS)
    created = _ts(rng)
    props = {"os_distro": distro, "os_version": f"{rng.randrange(5, 25)}.{rng.randrange(10)}"}
    for i in range(rng.randrange(0, 10)):
        props[rng.choice(["hw_", "img_", "os_", "custom_"]) + f"key{i}"] = "v" * rng.randrange(1, 40)
    members = [{"member": uuid.UUID(int=rng.getrandbits(128)).hex, "can_share": rng.random() < 0.1,
                "created_at": created, "updated_at": None, "deleted": d, "deleted_at": created if d else None}
               for d in (rng.random() < 0.2 for _ in range(rng.choice([0, 0, 0, 1, 2, 3])))]
    return {
        "format_version": "1.0", "id": image_id,
        "name": None if rng.random() < 0.05 else f"{distro}-{rng.randrange(100)}-" + "x" * rng.randrange(0, 30),
        "status": status, "is_public": rng.random() < 0.3, "protected": rng.random() < 0.05,
        "checksum": f"{rng.getrandbits(128):032x}" if has_data else None,
        "owner": uuid.UUID(int=rng.getrandbits(128)).hex,
        "size": rng.randrange(10**6, 10**10) if has_data else None,
        "container_format": container, "disk_format": disk,
        "min_disk": rng.choice([0, 1, 10, 20]), "min_ram": rng.choice([0, 512, 1024, 2048]),
        "location": f"swift+https://swift.example.net/v1/AUTH_glance/images/{image_id}" if has_data else None,
        "properties": props, "members": members,
        "created_at": created, "updated_at": _ts(rng, 2018),
        "deleted": status == "deleted", "deleted_at": _ts(rng, 2018) if status == "deleted" else None,
    }


def write_store(folder: Path | str, count: int, seed: int = 1, spec: Spec | None = None) -> Path:
    """A 1.0 directory store of ``count`` generated records."""
    folder = Path(folder)
    (folder / "records").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for _ in range(count):
        rec = record_1_0(rng)
        (folder / "records" / f"{rec['id']}.json").write_text(jsonfile.dumps(rec), encoding="utf-8")
    manifest = {"format_version": "1.0", "kind": "imgspec.store", "created_at": "2014-01-01T00:00:00Z",
                "generator": "imgspec corpus", "upgrade_in_progress": None}
    (folder / "manifest.json").write_text(jsonfile.dumps(manifest), encoding="utf-8")
    return folder
