"""Shared fixtures: the repository's spec tree, and throw-away copies of it to break."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import ROOT, SPEC, built_site, sphinx_build  # noqa: F401 - tests' fixtures use them

from imgspec.spec import Spec


@pytest.fixture(scope="session")
def spec() -> Spec:
    return SPEC


@pytest.fixture
def spec_copy(tmp_path) -> Spec:
    """A private copy of schemas/ and examples/ that a test may break."""
    for name in ("schemas", "examples"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return Spec(tmp_path)


@pytest.fixture(scope="session")
def glance(tmp_path_factory):
    """A real Glance API server on loopback, for the whole session, with the image cache enabled (so it serves the
    cache API and answers API 2.18; tests/glance/serve.py adds the cache middleware to its pipeline)."""
    from glance_live import GlanceServer
    work = tmp_path_factory.mktemp("glance") / "server"
    server = GlanceServer(work, (f"image_cache_dir = {work / 'cache'}",))
    server.workdir.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def glance_delayed(tmp_path_factory):
    """A second real Glance server, with delayed_delete = True: a deleted image waits for the scrubber."""
    from glance_live import GlanceServer
    server = GlanceServer(tmp_path_factory.mktemp("glance-delayed") / "server", ("delayed_delete = True",))
    server.workdir.mkdir()
    server.start()
    yield server
    server.stop()


MIN_TESTS = 1200  # the whole suite; a collection that silently lost modules or parameters fails


def pytest_collection_finish(session):
    config = session.config
    whole = not config.option.keyword and not config.option.markexpr and \
        all(Path(a).resolve() == ROOT / "tests" for a in config.args)
    if whole and len(session.items) < MIN_TESTS:
        raise pytest.UsageError(f"only {len(session.items)} tests collected; the whole suite has at least {MIN_TESTS}")
