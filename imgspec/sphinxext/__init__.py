"""Sphinx extension: the spec's pages show files, never copies of them.

Directives (MyST: ```` ```{imgspec-schema} schemas/record/2.2/image.json ```` ````):

``imgspec-schema PATH``       a schema as a field table, with a download link and its ``$id``
``imgspec-examples-page V``   every example of version V, a section per object (valid, then invalid), each validated
``imgspec-examples-link DIR`` on a version page: how many examples an object has, linked to its examples page
``imgspec-errata VERSION``    a released version's errata, each with its class
``imgspec-example PATH``      one example file, validated
``imgspec-field-matrix KIND`` one row per field, one column per format version
``imgspec-field-index``      every field of every kind: versions, upgrade rules, SQL column, examples
``imgspec-versions``          the format versions, from ``schemas/releases.json``
``imgspec-mapping NAME``      a mapping table from ``schemas/mappings/NAME.json``
``imgspec-release VERSION``   a version's status and summary
``imgspec-upgrade-step PATH`` an upgrade step's derived mode, rules and per-field modes
``imgspec-upgrade-modes``     every step with its derived mode and fields by mode
``imgspec-upgrade-fields V``  on a version page: each field of the step to V, its mode and what readers see meanwhile
``imgspec-diff OLD NEW``      the classified schema changes of a step, with the rules covering them
``imgspec-changelog``         one section per version, generated from the diffs
``imgspec-placement PATH``    who replicates what under a placement policy example
``imgspec-placement-rules``   the semantic rules of placement policies
``imgspec-sizing``            metadata cost per version and storage totals, computed at build time
``imgspec-sql-binding VERSION`` where a version's fields are in Glance's SQL layout
``imgspec-sql-overview``      the binding's conventions and layouts
``imgspec-openapi TAG``       the API operations of a tag (sphinxcontrib-openapi) with their validated examples
``imgspec-api-changelog``     each API version with what it introduced, generated from the document's x-since
``imgspec-glance-series``     every Glance series with its last revision, layout and format version
``imgspec-glance-upgrades``   each Glance upgrade that changes the format: commands, Glance's migrations, the rules
``imgspec-glance-path``       from each series to the newest: steps, modes, what to run
``imgspec-matrix-findings``   what the era matrix found of Glance 33's db_sync over older databases, and why
``imgspec-release-pairs``     each pair of consecutive series the era matrix ran: what to run, what the database
                              holds meanwhile, what the format change costs per engine
``imgspec-value-journey F EX`` what field F of each example record becomes at every version, and which steps change it
``imgspec-command-line``      every command's --help, by who it is for
``imgspec-beyond-json-schema`` the rules JSON Schema alone does not check, with the examples only imgspec refuses
``imgspec-api-ref-differences`` where Glance's api-ref and the document disagree on response codes, and why
``imgspec-glance-defects``    Glance's answers the document does not promise (schemathesis' findings), and the run's checks

Every file shown is recorded.  When the build ends, any schema or example that
no page shows is reported (an orphan), any example whose validation disagreed
with its place fails the build, and ``schemas/`` is copied to the site at the
URL path its ``$id`` names.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from sphinx.util import logging

from imgspec.spec import Spec
from imgspec.sphinxext import api, commandline, diff, guide, nodes_util, placement, records, sizing, sqlbinding, upgrades
from imgspec.sphinxext.base import SpecDomain, spec_of

logger = logging.getLogger("imgspec")


def all_shown_candidates(spec: Spec) -> set[str]:
    """Every file that some page must show: schemas, mappings, releases and examples."""
    files = {spec.rel(p) for p in spec.schemas.rglob("*.json")}
    files |= {spec.rel(p) for p in spec.examples.rglob("*.json") if not p.name.endswith(".expect.json")}
    files |= {spec.rel(p) for p in (spec.schemas / "api").glob("*.json")}
    return files


def _finished(app, exc):
    if exc is not None:
        return
    env = app.env
    spec = spec_of(app)
    domain = env.get_domain("imgspec")
    shown, failures = domain.shown(), domain.failures()
    if app.builder.format == "html":
        for source in (spec.schemas, spec.examples):  # every file a page links to is served at its own path
            target = Path(app.outdir) / source.name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(source, target)
        (Path(app.outdir) / ".buildinfo").unlink(missing_ok=True)  # Sphinx's own bookkeeping: not for readers
        report = Path(app.outdir) / "_imgspec" / "shown.json"
        report.parent.mkdir(exist_ok=True)
        report.write_text(json.dumps(sorted(shown), indent=1) + "\n")
    for orphan in sorted(all_shown_candidates(spec) - shown):
        logger.warning(f"{orphan}: (root): orphan: no page shows this file", type="imgspec", subtype="orphan")
    for doc, lineno, line in failures:
        logger.error(line, location=(doc, lineno), type="imgspec", subtype="drift")
    if failures:
        app.statuscode = 1  # fails the build with or without -W


# as the core: one per job
MODULES = (nodes_util, records, diff, upgrades, api, sqlbinding, sizing, placement, guide, commandline)


def setup(app):
    app.add_config_value("imgspec_root", "", "env", types=[str])
    app.add_config_value("imgspec_glance_source", "https://opendev.org/openstack/glance/src/tag/{tag}/{path}", "env",
                         types=[str])
    app.add_config_value("imgspec_glance_tags", {"": "33.0.0"}, "env", types=[dict])
    for module in MODULES:
        module.setup(app)
    app.add_domain(SpecDomain)
    app.connect("build-finished", _finished)
    app.add_css_file("imgspec.css")
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 2}
