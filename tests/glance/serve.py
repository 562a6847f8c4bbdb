"""Serve a real Glance Images API on loopback (run with Glance's own Python, not the docs stack's).

    python serve.py WORKDIR PORT

WORKDIR gets the configuration (SQLite database unless IMGSPEC_GLANCE_DATABASE names another; the image schema
IMGSPEC_GLANCE_SCHEMA_IMAGE names, if any; file store, a paste pipeline that
trusts identity headers instead of Keystone), the database is created with
``glance-manage db_sync``, and ``glance.wsgi.api:application`` is served by a threaded
wsgiref server on 127.0.0.1:PORT until the process is stopped.  The recipe follows
shared/reference/glance-live.md.
"""
import os
import shutil
import socketserver
import subprocess
import sys
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

PIPELINE = """
[composite:glance-api-trustedheaders]
paste.composite_factory = glance.api:root_app_factory
/: api
/healthcheck: healthcheck

[composite:glance-api-trustedheaders+caching]
paste.composite_factory = glance.api:root_app_factory
/: api
/healthcheck: healthcheck
"""


def configure(work: Path, options: list[str] = (), port: int = 0) -> Path:
    etc = work / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    for sub in ("images", "images2", "staging", "tasks"):
        (work / sub).mkdir(exist_ok=True)
    paste = (Path(sys.prefix) / "etc" / "glance" / "glance-api-paste.ini").read_text()
    paste = paste.replace("[composite:api]\n", "[composite:api]\n"
                          "trustedheaders = cors http_proxy_to_wsgi versionnegotiation context rootapp\n"
                          "trustedheaders+caching = cors http_proxy_to_wsgi versionnegotiation context cache rootapp\n", 1)
    (etc / "glance-api-paste.ini").write_text(paste + PIPELINE)
    extra = "".join(f"{option}\n" for option in options)  # KEY = VALUE lines for [DEFAULT], e.g. delayed_delete
    # the image cache: Glance serves /v2/cache and answers API 2.18 when image_cache_dir is set; the paste pipeline
    # then has the cache middleware too (glance-api-paste.ini's "caching" flavour, with trusted identity headers)
    caching = any(option.replace(" ", "").startswith("image_cache_dir=") for option in options)
    if caching:  # the centralized_db cache driver records which node holds a cached image by this URL
        extra += f"worker_self_reference_url = http://127.0.0.1:{port}\n"
    schema_image = os.environ.get("IMGSPEC_GLANCE_SCHEMA_IMAGE")
    if schema_image:  # a deployment's image schema (Glance ships etc/schema-image.json: kernel_id may be null)
        shutil.copyfile(schema_image, etc / "schema-image.json")
    (etc / "glance-api.conf").write_text(f"""[DEFAULT]
{extra}enabled_backends = fs:file, fs2:file
log_file = {work}/glance-api.log
[paste_deploy]
flavor = {"trustedheaders+caching" if caching else "trustedheaders"}
[database]
connection = {os.environ.get("IMGSPEC_GLANCE_DATABASE") or f"sqlite:///{work}/glance.sqlite"}
[oslo_concurrency]
lock_path = {work}/locks
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = {work}/images/
[fs2]
filesystem_store_datadir = {work}/images2/
[os_glance_staging_store]
filesystem_store_datadir = {work}/staging/
[os_glance_tasks_store]
filesystem_store_datadir = {work}/tasks/
""")
    return etc


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main() -> None:
    work, port = Path(sys.argv[1]).resolve(), int(sys.argv[2])
    etc = configure(work, sys.argv[3:], port)
    manage = shutil.which("glance-manage", path=str(Path(sys.executable).parent))
    # db_sync prints to the server's log
    subprocess.run([manage, "--config-file", str(etc / "glance-api.conf"), "db_sync"], check=True)
    os.environ["OS_GLANCE_CONFIG_DIR"] = str(etc)
    from glance.wsgi.api import application
    server = make_server("127.0.0.1", port, application, server_class=ThreadingServer, handler_class=QuietHandler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
