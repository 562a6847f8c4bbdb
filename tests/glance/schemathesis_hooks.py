"""Schemathesis hooks for the fuzz run of tests/test_api_fuzz.py (loaded through SCHEMATHESIS_HOOKS): Glance's
JSON-patch media types are JSON documents (RFC 6902 bodies; glance/api/v2/images.py RequestDeserializer.update
reads them with jsonutils.loads), so a generated patch is sent as its JSON text."""
from __future__ import annotations

import json

import schemathesis

PATCH_MEDIA_TYPES = ("application/openstack-images-v2.1-json-patch", "application/openstack-images-v2.0-json-patch")


@schemathesis.serializer(*PATCH_MEDIA_TYPES)
def json_patch(ctx, value):
    return json.dumps(value).encode()
