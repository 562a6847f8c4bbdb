"""Sphinx configuration of the imgspec site (build: sphinx-build -c . docs _build/html)."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from imgspec.spec import BASE_URI  # noqa: E402 - after the path is set

project = "imgspec"
author = "The imgspec authors"
copyright = "2026, the imgspec authors"
release = version = "0.1"

extensions = ["myst_parser", "sphinx_copybutton", "sphinxcontrib.httpdomain", "sphinxcontrib.openapi",
              "imgspec.sphinxext"]
openapi_default_renderer = "httpdomain"
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
nitpicky = True

imgspec_root = str(ROOT)

html_theme = "furo"
html_title = "imgspec: Images API 2.0 and Image Record Format"
html_static_path = [str(ROOT / "docs" / "_static")]
html_use_index = False  # no page holds index entries: no empty index page
html_baseurl = BASE_URI  # the one place: every schema $id starts with it (imgspec.spec.BASE_URI)
copybutton_selector = "div.highlight pre"
smartquotes = False  # show file names and JSON exactly as written

# Glance source citations link to the release the spec reads (33.0.0, pinned in requirements-glance.txt), and
# files Glance has since removed to the last release that had them: the v1 API went in 17.0.0 (Rocky),
# sqlalchemy-migrate's scripts in 23.0.0, location_strategy in 29.0.0.
imgspec_glance_source = "https://opendev.org/openstack/glance/src/tag/{tag}/{path}"
imgspec_glance_tags = {"": "33.0.0", "glance/api/v1/": "16.0.0", "glance/db/sqlalchemy/migrate_repo/": "22.0.0",
                       "glance/common/location_strategy/": "28.0.0"}
