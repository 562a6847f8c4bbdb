"""Differential testing against a real Glance 33: what Glance accepts through its API, the format exports and
reads back as Glance means it.

A *plan* is data (JSON): a list of images, each with the attributes of its create request (names, custom
properties, tags, ids and limits drawn to the edges Glance allows) and what happens to it afterwards (members
and their answers, a tag added alone, data uploaded, deactivation, a location added with metadata, visibility
changed, deletion).  :func:`run_plan` sends it through Glance's API and notes what Glance answered;
:func:`check` exports the database with ``imgspec export-sql`` and holds every image Glance answered 2xx for to
three promises: it is exported (none refused), its record validates, and the record read through
``schemas/mappings/image-api.json`` equals Glance's own GET of it, field by field (:func:`disagreements`).

``tests/test_differential.py`` draws plans with hypothesis (a small budget in ``make test``, a long one in
``make fuzz``) and replays every plan kept in ``examples/differential/``: the audit's findings, and any case
``make fuzz`` found.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import uuid
from pathlib import Path

from glance_scenarios import Api

from imgspec.format import validation
from imgspec.sql import binding as sqlbinding
from imgspec.sql.export import export

from glance_live import PYTHON

PATCH = "application/openstack-images-v2.1-json-patch"


def _second(stamp: str) -> str:
    return stamp[:19] + "Z"


# The location metadata key that names a store, where it is not `store`: Rocky and Stein wrote `backend`, the 2.2
# key (schemas/upgrades/2.2-2.3.json renames it)
STORE_KEY = {"2.2": "backend"}


def disagreements(api: Api, record: dict, spec, served: tuple[int, int] | None = None) -> list[str]:
    """Where the exported ``record`` of a live image and Glance's GET of it differ, one line each.

    Every field the binding reads at the record's version is compared through the mapping file; a bound field
    left uncompared is a disagreement too.  ``served``, the API version of an older release (the era matrix),
    leaves out what its API cannot show: the locations list before API 2.17 (only ``stores`` then, where the
    release shows it)."""
    binding = sqlbinding.load(spec)
    version = record["format_version"]
    native = binding.native(version)
    bound = {f["field"] for f in binding.fields("image", native)}
    mapping = {a["record"]: a for a in spec.mapping("image-api")["attributes"] if a["record"]}
    base = set(spec.load("schemas/service/image.json")["properties"])
    image_id = record["id"]
    shown = api("GET", f"/v2/images/{image_id}", expect=200)
    out: list[str] = []

    def differ(name, ours, theirs):
        if ours != theirs:
            out.append(f"{image_id}: {name}: the record says {ours!r}, Glance says {theirs!r}")
    for name in sorted(bound):
        m = mapping[name]
        if name == "format_version":
            if m["access"] != "internal":
                out.append("format_version is not internal in the mapping")
        elif name in ("deleted", "deleted_at"):
            differ(name, record[name], False if name == "deleted" else None)
        elif name in ("created_at", "updated_at"):
            differ(name, _second(record[name]), shown[m["api"]])
        elif name == "tags":
            differ(name, sorted(record["tags"]), sorted(shown["tags"]))
        elif name == "properties":
            differ(name, record["properties"], {k: v for k, v in shown.items() if k not in base})
        elif name == "locations":
            live = [{"url": x["url"], "metadata": x["metadata"]} for x in record["locations"] if not x["deleted"]]
            if served is None:
                differ(name, live, api("GET", f"/v2/images/{image_id}/locations", expect=200))
            elif served >= (2, 17):  # GET /v2/images/{image_id}/locations came with API 2.17
                status, listed = api.status("GET", f"/v2/images/{image_id}/locations")
                if status != 403:  # 29.0.0's policy keeps the list from the scenarios' admin (the matrix notes it)
                    differ(name, live, listed)
            if served is None or "stores" in shown:
                key = STORE_KEY.get(version, "store")
                differ("stores", ",".join(x["metadata"].get(key, "") for x in live), shown.get("stores", ""))
        elif name == "members":
            mine = {m_["member"]: m_ for m_ in record["members"] if not m_["deleted"]}
            if record["visibility"] != "shared":  # "Only shared images have members" (403): the rows stay
                differ("members (not shared: 403)", api.status("GET", f"/v2/images/{image_id}/members")[0], 403)
                continue
            served = api("GET", f"/v2/images/{image_id}/members", expect=200)["members"]
            differ(name, {k: v["status"] for k, v in mine.items()}, {s["member_id"]: s["status"] for s in served})
            for s in served:
                if s["member_id"] in mine:
                    differ(f"members/{s['member_id']}/created_at", _second(mine[s["member_id"]]["created_at"]),
                           s["created_at"])
        elif not m["api"]:
            out.append(f"{name}: bound but the mapping names no API attribute")
        else:
            differ(name, record[name], shown[m["api"]])
    return out


def _create_body(image: dict) -> dict:
    body = {k: image[k] for k in ("name", "visibility", "protected", "os_hidden", "min_ram", "min_disk", "tags")
            if k in image and image[k] is not None}
    body.update(image.get("properties", {}))
    if image.get("id") == "upper":
        body["id"] = str(uuid.uuid4()).upper()
    elif image.get("id") == "hyphenless":
        body["id"] = uuid.uuid4().hex
    if image.get("upload") or image.get("location_with_backend"):
        body.update(disk_format="raw", container_format="bare")
    return body


def set_location_metadata(image_id: str, metadata: dict) -> None:
    """Rewrite the image's first live location's metadata with Glance's DB API (tests/glance/set_location_metadata.py)."""
    if CONF is None:
        raise RuntimeError("differential.CONF names no glance-api.conf: set it to the server's")
    subprocess.run([str(PYTHON), str(Path(__file__).parent / "glance" / "set_location_metadata.py"), str(CONF),
                    image_id, json.dumps(metadata)], check=True, capture_output=True, text=True)


CONF: Path | None = None  # the glance-api.conf of the server plans run against (the fixture sets it)


def run_plan(api: Api, plan: dict) -> dict[str, dict]:
    """Send the plan through Glance. Returns ``{image id: what became of it}`` for every image created (201):
    ``{"deleted": bool, "plan": the image's entry}``; requests Glance refuses are part of the exploration."""
    made: dict[str, dict] = {}
    for image in plan["images"]:
        status, answer = api.status("POST", "/v2/images", _create_body(image))
        if status != 201 or not isinstance(answer, dict):
            continue  # Glance refused it (4xx): nothing to export
        image_id = answer["id"]
        made[image_id] = {"deleted": False, "plan": image}
        for project in image.get("members", []):
            added, _ = api.status("POST", f"/v2/images/{image_id}/members", {"member": project})
            if added == 200 and image.get("member_status") not in (None, "pending"):
                api.status("PUT", f"/v2/images/{image_id}/members/{urllib.parse.quote(project, safe='')}",
                           {"status": image["member_status"]}, project=project)
        if image.get("add_tag"):
            api.status("PUT", f"/v2/images/{image_id}/tags/{urllib.parse.quote(image['add_tag'], safe='')}")
        if image.get("upload"):
            api.upload(image_id)
            if image.get("deactivate"):
                api.status("POST", f"/v2/images/{image_id}/actions/deactivate")
                if image.get("deactivate") == "and-reactivate":
                    api.status("POST", f"/v2/images/{image_id}/actions/reactivate")
        if image.get("location_with_backend"):
            # data in the fs store, then its location's metadata as Rocky and Stein wrote it ({"backend": ...}),
            # written through Glance's own DB API; Glance 33 loads the image (GET) and sets `store` from the URL,
            # leaving `backend` (glance/common/store_utils.py: update_store_in_locations)
            if not image.get("upload"):
                api.upload(image_id)
            set_location_metadata(image_id, {"backend": image["location_with_backend"]})
            api("GET", f"/v2/images/{image_id}", expect=200)
        if image.get("then") == "private":
            api.status("PATCH", f"/v2/images/{image_id}", [{"op": "replace", "path": "/visibility", "value": "private"}],
                       PATCH)
        elif image.get("then") == "delete" and not image.get("location_with_backend"):
            if image.get("protected"):
                api.status("PATCH", f"/v2/images/{image_id}", [{"op": "replace", "path": "/protected", "value": False}],
                           PATCH)
            gone, _ = api.status("DELETE", f"/v2/images/{image_id}")
            made[image_id]["deleted"] = gone == 204
    return made


def check(api: Api, database: Path, made: dict[str, dict], spec, work: Path) -> list[str]:
    """Export a copy of ``database`` and hold every image Glance created to the three promises."""
    snapshot = work / "snapshot.sqlite"
    shutil.copyfile(database, snapshot)
    out = work / "store"
    summary = export(f"sqlite:///{snapshot}", out, durable=False)
    problems = []
    refused = sorted(p.stem for p in (out / "refused").glob("*.json")) if (out / "refused").is_dir() else []
    for name in refused:
        doc = json.loads((out / "refused" / f"{name}.json").read_text())
        problems += [f"{name}: refused: {p['pointer']}: {p['rule']}: {p['message']}" for p in doc["problems"]]
    records = {p.stem: json.loads(p.read_text()) for p in (out / "records").glob("*.json")}
    for image_id, fate in made.items():
        record = records.get(image_id)
        if record is None:
            if image_id not in refused:
                problems.append(f"{image_id}: Glance created it, yet it was not exported")
            continue
        found = validation.errors(record, "image", record["format_version"], spec=spec)
        problems += [f"{image_id}: {p}" for p in found]
        if fate["deleted"]:  # delayed_delete: an image with data waits for the scrubber, its locations too
            want = "pending_delete" if record["locations"] else "deleted"
            if (record["deleted"], record["status"]) != (True, want) or any(
                    (x["status"], x["deleted"]) != ("pending_delete", True) for x in record["locations"]):
                problems.append(f"{image_id}: deleted through the API (delayed_delete), exported as "
                                f"{record['status']}, deleted={record['deleted']}, locations "
                                f"{[(x['status'], x['deleted']) for x in record['locations']]}")
            continue
        problems += disagreements(api, record, spec)
    if summary.counts["refused_images"] != len(refused):
        problems.append(f"the summary counts {summary.counts['refused_images']} refused, the folder holds {len(refused)}")
    return problems
