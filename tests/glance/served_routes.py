"""Run with Glance's own interpreter (.venv-glance): every (method, path) Glance 33's v2 router serves, as JSON.

    python served_routes.py

Builds glance.api.v2.router.API on a routes.Mapper, as the API pipeline does, and lists each route with
its methods and controller action, leaving out the catch-all routes that answer 405 (action ``reject``).
"""
import json

import routes
from glance.api.v2 import router
from oslo_config import cfg


def main() -> None:
    cfg.CONF([], project="glance", default_config_files=[])
    mapper = routes.Mapper()
    router.API(mapper)
    served = set()
    for route in mapper.matchlist:
        action = route.defaults.get("action")
        if action == "reject":
            continue
        for method in (route.conditions or {}).get("method") or []:
            served.add((method, "/v2" + route.routepath, action))
    print(json.dumps(sorted(served), indent=1))


if __name__ == "__main__":
    main()
