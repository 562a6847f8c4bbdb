"""Serve a real Glance Images API on loopback (run with Glance's own Python, not the docs stack's).

    python serve.py WORKDIR PORT [KEY=VALUE ...]

WORKDIR gets the configuration (SQLite database unless IMGSPEC_GLANCE_DATABASE names another; the image schema
IMGSPEC_GLANCE_SCHEMA_IMAGE names, if any; file stores; a paste pipeline that trusts identity headers instead of
Keystone; one file store where IMGSPEC_GLANCE_SINGLE_STORE is set, else two where the release knows multiple
stores), the database is created with ``glance-manage db_sync`` unless IMGSPEC_GLANCE_NO_SYNC is set, and
Glance's API application is served by a threaded wsgiref server on 127.0.0.1:PORT until the process is stopped.
The recipe follows shared/reference/glance-live.md.

The script runs under every Glance release the era matrix serves (tests/matrix.py), Python 2.7 to 3.13, so it is
written in the Python both read: no f-strings, no pathlib.  What differs between releases is read off the
release itself: its paste file (a ``trusted-auth`` pipeline before 2023, the ``[composite:api]`` flavours
after), whether it knows multiple stores (``enabled_backends``), and where its WSGI application lives
(``glance.wsgi.api`` in 2025 and later, ``glance.common.wsgi_app.init_app`` before).
"""
import os
import re
import shutil
import subprocess
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

try:
    import socketserver
except ImportError:  # Python 2
    import SocketServer as socketserver

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


def paste_flavor(paste, caching):
    """The paste file with a pipeline that trusts identity headers, and that pipeline's flavour."""
    if "[pipeline:glance-api-trusted-auth]" in paste:  # releases before 2023.1 ship one
        if caching:
            raise SystemExit("serve.py: this release's trusted-auth pipeline has no cache flavour")
        return paste, "trusted-auth"
    keystone = re.search(r"^\[pipeline:glance-api-keystone\]\npipeline = (.*)$", paste, re.M)
    if keystone and not caching:  # Xena to 2023.1: the keystone pipeline without authtoken trusts the headers
        filters = [f for f in keystone.group(1).split() if f != "authtoken"]
        return paste + "\n[pipeline:glance-api-trustedheaders]\npipeline = " + " ".join(filters) + "\n", "trustedheaders"
    if "[composite:api]\n" not in paste:
        raise SystemExit("serve.py: this release's glance-api-paste.ini has neither a trusted-auth pipeline "
                         "nor a [composite:api] section")
    paste = paste.replace(
        "[composite:api]\n", "[composite:api]\n"
        "trustedheaders = cors http_proxy_to_wsgi versionnegotiation context rootapp\n"
        "trustedheaders+caching = cors http_proxy_to_wsgi versionnegotiation context cache rootapp\n", 1)
    return paste + PIPELINE, "trustedheaders+caching" if caching else "trustedheaders"


def multistore():
    """Whether this release configures stores with ``enabled_backends`` (Rocky and later)."""
    import glance.common
    folder = os.path.dirname(glance.common.__file__)
    for name in ("wsgi_app.py", "config.py"):
        path = os.path.join(folder, name)
        if os.path.exists(path) and "enabled_backends" in open(path).read():
            return True
    return False


def configure(work, options=(), port=0):
    etc = os.path.join(work, "etc")
    if not os.path.isdir(etc):
        os.makedirs(etc)
    for sub in ("images", "images2", "staging", "tasks", "locks"):
        if not os.path.isdir(os.path.join(work, sub)):
            os.mkdir(os.path.join(work, sub))
    extra = "".join(option + "\n" for option in options)  # KEY = VALUE lines for [DEFAULT], e.g. delayed_delete
    # the image cache: Glance serves /v2/cache and answers API 2.18 when image_cache_dir is set; the paste pipeline
    # then has the cache middleware too (glance-api-paste.ini's "caching" flavour, with trusted identity headers)
    caching = any(option.replace(" ", "").startswith("image_cache_dir=") for option in options)
    if caching:  # the centralized_db cache driver records which node holds a cached image by this URL
        extra += "worker_self_reference_url = http://127.0.0.1:{}\n".format(port)
    with open(os.path.join(sys.prefix, "etc", "glance", "glance-api-paste.ini")) as f:
        paste, flavor = paste_flavor(f.read(), caching)
    with open(os.path.join(etc, "glance-api-paste.ini"), "w") as f:
        f.write(paste)
    import glance
    shipped = os.path.join(sys.prefix, "etc", "glance", "policy.json")
    if not os.path.isdir(os.path.join(os.path.dirname(glance.__file__), "policies")) and os.path.exists(shipped):
        # before policies in code (Train), everything the policy file leaves out is admin-only: a deployment
        # installs the release's etc/policy.json beside glance-api.conf
        shutil.copyfile(shipped, os.path.join(etc, "policy.json"))
    schema_image = os.environ.get("IMGSPEC_GLANCE_SCHEMA_IMAGE")
    if schema_image:  # a deployment's image schema (Glance ships etc/schema-image.json: kernel_id may be null)
        shutil.copyfile(schema_image, os.path.join(etc, "schema-image.json"))
    if multistore() and not os.environ.get("IMGSPEC_GLANCE_SINGLE_STORE"):
        stores = ("enabled_backends = fs:file, fs2:file\n", """[glance_store]
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
    else:
        stores = ("node_staging_uri = file://{work}/staging\n", """[glance_store]
stores = file
default_store = file
filesystem_store_datadir = {work}/images/
""")
    database = os.environ.get("IMGSPEC_GLANCE_DATABASE") or "sqlite:///{}/glance.sqlite".format(work)
    conf = """[DEFAULT]
{extra}{backends}log_file = {work}/glance-api.log
[paste_deploy]
flavor = {flavor}
[database]
connection = {database}
[oslo_concurrency]
lock_path = {work}/locks
""" + stores[1]
    with open(os.path.join(etc, "glance-api.conf"), "w") as f:
        f.write(conf.format(extra=extra, backends=stores[0].format(work=work), work=work, flavor=flavor, database=database))
    return etc


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def wsgi_app_runs_tasks():
    """Whether this release's WSGI application runs import tasks on native threads (it sets the thread pool
    model to ``native``, Victoria and later); before, tasks run on eventlet green threads, which only the
    release's own eventlet server (``glance-api``) schedules."""
    try:
        import glance.common.wsgi_app as wsgi_app
    except ImportError:
        return False
    with open(wsgi_app.__file__.replace(".pyc", ".py")) as f:
        return "set_threadpool_model('native')" in f.read()


def application():
    """The release's Images API application: ``glance.wsgi.api`` where it exists, else ``init_app``."""
    try:
        from glance.wsgi.api import application as app
        return app
    except ImportError:
        from glance.common.wsgi_app import init_app
        return init_app()


def main():
    work, port = os.path.abspath(sys.argv[1]), int(sys.argv[2])
    etc = configure(work, sys.argv[3:], port)
    if not os.environ.get("IMGSPEC_GLANCE_NO_SYNC"):
        manage = os.path.join(os.path.dirname(sys.executable), "glance-manage")
        # db_sync prints to the server's log
        subprocess.check_call([manage, "--config-file", os.path.join(etc, "glance-api.conf"), "db_sync"])
    os.environ["OS_GLANCE_CONFIG_DIR"] = etc
    if not wsgi_app_runs_tasks():  # the release's own eventlet server, in this process (workers = 0)
        api = os.path.join(os.path.dirname(sys.executable), "glance-api")
        with open(os.path.join(etc, "glance-api.conf")) as f:
            conf = f.read().replace("[DEFAULT]\n", "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {}\nworkers = 0\n"
                                    .format(port), 1)
        with open(os.path.join(etc, "glance-api.conf"), "w") as f:
            f.write(conf)
        os.execv(api, [api, "--config-file", os.path.join(etc, "glance-api.conf")])
    server = make_server("127.0.0.1", port, application(), server_class=ThreadingServer, handler_class=QuietHandler)
    print("ready")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
