"""The scenarios run through a real Glance API before its database is exported (on every engine)."""
from __future__ import annotations

import json
import time
import uuid

from imgspec.api import conformance

OWNER = conformance.OWNER
MEMBERS = {name: uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.imgspec").hex for name in
           ("pending", "accepted", "rejected", "removed")}
DATA = conformance.DATA


class Api:
    def __init__(self, url: str):
        self.client = conformance.Client(url, conformance.default_headers())

    def __call__(self, method, path, body=None, ctype=None, expect=None, project=None):
        headers = None
        if project:
            headers = {"X-Project-Id": project, "X-Roles": "member,reader"}
        ex = self.client.call(method, path, body, ctype, headers)
        if expect is not None:
            assert ex.status == expect, (method, path, ex.status, ex.body[:300])
        return json.loads(ex.body) if ex.body and ex.headers.get("Content-Type", "").startswith("application/json") else ex

    def status(self, method, path, body=None, ctype=None, project=None) -> tuple[int, object]:
        """(the status, the JSON body or None): for requests that Glance may refuse."""
        headers = {"X-Project-Id": project, "X-Roles": "member,reader"} if project else None
        ex = self.client.call(method, path, body, ctype, headers)
        is_json = ex.body and ex.headers.get("Content-Type", "").startswith("application/json")
        return ex.status, (json.loads(ex.body) if is_json else None)

    def create(self, **body):
        return self("POST", "/v2/images", body, expect=201)["id"]

    def upload(self, image_id):
        self("PUT", f"/v2/images/{image_id}/file", DATA, "application/octet-stream", expect=204)

    def patch(self, image_id, ops):
        self("PATCH", f"/v2/images/{image_id}", ops, "application/openstack-images-v2.1-json-patch", expect=200)


# What a step needs of the API, and the API version (``/versions``) that brought it
NEEDS = {"deactivate": (2, 3), "community": (2, 5), "os_hidden": (2, 7)}


def api_version(api: Api) -> tuple[int, int]:
    """The newest Images API version the server lists (``/versions``)."""
    listed = api("GET", "/versions")["versions"]
    return max(tuple(int(n) for n in v["id"].lstrip("v").split(".")) for v in listed)


def current_version(api: Api) -> str:
    """The version ``/versions`` lists as CURRENT, as listed (``2.9``, or ``2.1`` where Ussuri means 2.10)."""
    return next(v["id"].lstrip("v") for v in api("GET", "/versions")["versions"] if v["status"] == "CURRENT")


def features(api: Api) -> dict[str, str | None]:
    """Each step of :func:`make_images` that needs more than API 2.1: None where the server supports it, else why
    not (an older release serves an older API; copy-image needs the import method and a second store)."""
    newest = api_version(api)
    out: dict[str, str | None] = {name: None if newest >= need else f"API {newest[0]}.{newest[1]} (needs "
                                  f"{need[0]}.{need[1]})" for name, need in NEEDS.items()}
    status, methods = api.status("GET", "/v2/info/import")
    status_stores, stores = api.status("GET", "/v2/info/stores")
    copies = status == 200 and "copy-image" in methods["import-methods"]["value"]
    two = status_stores == 200 and {s["id"] for s in stores["stores"]} >= {"fs", "fs2"}
    out["copy-image"] = None if copies and two else ("no copy-image import method" if not copies else
                                                     "no second store (multiple stores: enabled_backends)")
    return out


def make_images(api: Api, can: dict[str, str | None] | None = None) -> dict[str, str]:
    """Images in every state the binding covers: multi-store locations, members, tags, deactivated, deleted, ...

    ``can`` (from :func:`features`) leaves out the steps an older release's API does not support; by default
    every step runs (Glance 33 supports them all)."""
    can = can or {}
    made = {}
    full = made["full"] = api.create(name="sql-full", disk_format="raw", container_format="bare", min_ram=128,
                                     tags=["alpha", "beta", "gamma"], os_distro="cirros", hw_disk_bus="virtio")
    api.upload(full)
    if can.get("copy-image") is None:
        copy_to_second_store(api, full)
    api.patch(full, [{"op": "remove", "path": "/hw_disk_bus"}, {"op": "add", "path": "/os_version", "value": "0.6"}])
    api("DELETE", f"/v2/images/{full}/tags/gamma", expect=204)
    for project in MEMBERS.values():
        api("POST", f"/v2/images/{full}/members", {"member": project}, expect=200)
    api("PUT", f"/v2/images/{full}/members/{MEMBERS['accepted']}", {"status": "accepted"},
        project=MEMBERS["accepted"], expect=200)
    api("PUT", f"/v2/images/{full}/members/{MEMBERS['rejected']}", {"status": "rejected"},
        project=MEMBERS["rejected"], expect=200)
    api("DELETE", f"/v2/images/{full}/members/{MEMBERS['removed']}", expect=204)
    made["deactivated"] = api.create(name="sql-deactivated", disk_format="raw", container_format="bare")
    api.upload(made["deactivated"])
    if can.get("deactivate") is None:
        api("POST", f"/v2/images/{made['deactivated']}/actions/deactivate", expect=204)
    made["deleted"] = api.create(name="sql-deleted", disk_format="raw", container_format="bare")
    api.upload(made["deleted"])
    api("DELETE", f"/v2/images/{made['deleted']}", expect=204)
    made["queued"] = api.create()
    hidden = {"visibility": "community" if can.get("community") is None else "public", "protected": True,
              "min_disk": 2, **({"os_hidden": True} if can.get("os_hidden") is None else {})}
    made["hidden"] = api.create(name="sql-hidden", **hidden)
    return made


def copy_to_second_store(api: Api, full: str) -> None:
    """copy-image the image to store fs2 and wait until the task has finished writing it."""
    api("POST", f"/v2/images/{full}/import", {"method": {"name": "copy-image"}, "stores": ["fs2"]}, expect=202)
    deadline = time.monotonic() + 60
    while True:  # the copy runs as a task: wait until it has finished writing the image
        shown = api("GET", f"/v2/images/{full}", expect=200)
        if shown.get("stores") == "fs,fs2" and not shown.get("os_glance_importing_to_stores"):
            time.sleep(1)
            if api("GET", f"/v2/images/{full}", expect=200) == shown:
                break
        assert time.monotonic() < deadline, "copy-image did not finish"
        time.sleep(0.5)
