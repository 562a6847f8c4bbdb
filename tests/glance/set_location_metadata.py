"""Rewrite one location's metadata through Glance's own DB API (run with Glance's Python, not the docs stack's).

    python set_location_metadata.py GLANCE_API_CONF IMAGE_ID METADATA_JSON

Sets the metadata of the image's first live location with glance.db.sqlalchemy.api.image_location_update, as a
row of an older release (Rocky and Stein named the store `backend`) or a tool writing through Glance's DB API
would hold it. The differential tests then let Glance 33 load the image (GET), which corrects the row its way
(glance/common/store_utils.py: update_store_in_locations).
"""
import json
import sys


def main() -> None:
    conf, image_id, metadata = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    from glance import context
    from glance.db.sqlalchemy import api as db_api
    from oslo_config import cfg
    cfg.CONF(["--config-file", conf], project="glance")
    ctx = context.RequestContext(is_admin=True)
    image = db_api.image_get(ctx, image_id)
    location = next(loc for loc in image["locations"] if loc["status"] == "active")
    db_api.image_location_update(ctx, image_id, {"id": location["id"], "url": location["url"],
                                                 "metadata": metadata, "status": location["status"]})
    print(json.dumps({"id": location["id"], "url": location["url"], "metadata": metadata}))


if __name__ == "__main__":
    main()
