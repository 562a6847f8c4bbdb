"""Run with Glance's own interpreter (.venv-glance): every (method, path) Glance 33's v2 router serves, as JSON.

    python served_routes.py                # the v2 router
    python served_routes.py cachemanage    # the deprecated cachemanage filter of the *cachemanagement flavors

Builds glance.api.v2.router.API on a routes.Mapper, as the API pipeline does, and lists each route with
its methods, controller action and whether it refuses any request body with 400 (``body_reject``, read by
glance/common/wsgi.py Resource), leaving out the catch-all routes that answer 405 (action ``reject``).
"""
import json
import sys

import routes
from glance.api.v2 import router
from oslo_config import cfg


def main() -> None:
    cfg.CONF([], project="glance", default_config_files=[])
    if sys.argv[1:] == ["cachemanage"]:
        from glance.api.middleware.cache_manage import CacheManageFilter
        mapper = CacheManageFilter(app=None)._mapper
        prefix = ""
    else:
        mapper = routes.Mapper()
        router.API(mapper)
        prefix = "/v2"
    served = set()
    for route in mapper.matchlist:
        action = route.defaults.get("action")
        if action == "reject":
            continue
        for method in (route.conditions or {}).get("method") or []:
            body_reject = str(route.defaults.get("body_reject", "")).lower() in ("true", "1", "yes")
            served.add((method, prefix + route.routepath, action, body_reject))
    print(json.dumps(sorted(served), indent=1))


if __name__ == "__main__":
    main()
