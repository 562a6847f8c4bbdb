"""The published site as a reader meets it: Playwright driving Debian's chromium, headless.

Screenshots go to _build/screenshots/.  Chromium comes from Debian (`make test` installs the
package `chromium` when it is missing); Playwright never downloads a browser of its own.
"""
import functools
import http.server
import json
import re
import shutil
import socketserver
import threading
from pathlib import Path

import pytest
from support import ROOT, built_site

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "_build" / "screenshots"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = built_site(tmp_path_factory)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *args: None
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def page(site):
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        yield page
        browser.close()


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
    assert (SHOTS / f"{name}.png").stat().st_size > 10_000


def test_home_page_says_where_to_start(page, site):
    page.goto(site + "/index.html")
    assert page.title().startswith("imgspec")
    text = page.inner_text("article")
    for word in ("Readers", "Implementers", "Reviewers"):
        assert word in text
    shot(page, "01-home")


def test_an_api_operation_is_rendered_with_its_examples(page, site):
    page.goto(site + "/api/images.html")
    assert page.locator("dt.sig", has_text="/v2/images").count() >= 2
    assert "Examples of createImage" in page.inner_text("article")
    assert page.locator("div.highlight-json pre").count() >= 3
    assert "<dt" not in page.inner_text("article") and ".. http:" not in page.inner_text("article")  # no raw markup
    shot(page, "02-api-images")


def test_a_metadef_page_shows_its_operations_examples_and_served_schema(page, site):
    """The metadata definitions catalog as a reader meets it: reached from the API index, every namespace operation
    rendered with its version, policy and recorded examples."""
    page.goto(site + "/api/index.html")
    page.get_by_role("link", name="Metadata definition namespaces").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/api/metadef-namespaces.html")
    text = page.inner_text("article")
    for route in ("/v2/metadefs/namespaces", "/v2/metadefs/namespaces/{namespace}"):
        assert page.locator("dt.sig", has_text=route).count() >= 2
    assert "Examples of createMetadefNamespace" in text and "OS::Glance::Image" in text
    assert "Since: API 2.2" in text and "add_metadef_namespace" in text
    assert "<dt" not in text and ".. http:" not in text
    shot(page, "09-api-metadef-namespaces")
    page.goto(site + "/api/metadef-schemas.html")
    assert "schemas/service/metadefs/namespace.json: the 200 response body" in page.inner_text("article")


def test_a_format_page_shows_fields_and_version_navigation(page, site):
    page.goto(site + "/format/2.3.html")
    assert page.locator("table.imgspec-fields").count() >= 4
    assert "os_hash_value" in page.inner_text("table.imgspec-fields >> nth=0")
    shot(page, "03-format-2.3")
    page.click("p.imgspec-version-nav >> text=2.4 (draft)")
    page.wait_for_url("**/format/2.4.html")
    assert "Format 2.4: draft" in page.inner_text("article")
    page.click(".sidebar-tree a:has-text('Format 1.0: the 1.x-era record')")
    page.wait_for_url("**/format/1.0.html")
    assert "is_public" in page.inner_text("article")
    shot(page, "04-format-1.0")


def test_search_finds_the_spec(page, site):
    page.goto(site + "/search.html?q=visibility")
    page.wait_for_selector("ul.search li", timeout=20_000)
    assert page.locator("ul.search li").count() >= 5
    shot(page, "05-search")


def test_a_schema_downloads_and_parses(page, site):
    page.goto(site + "/format/2.2.html")
    link = page.locator("a[href$='schemas/record/2.2/image.json']").first
    assert link.inner_text() == "image.json"
    href = link.get_attribute("href")
    response = page.request.get(site + "/format/" + href)
    assert response.ok
    schema = json.loads(response.body())
    assert schema["$id"] == "https://imgspec.example/schemas/record/2.2/image.json"
    assert response.url.endswith("/schemas/record/2.2/image.json")  # published at its $id's path


def test_copy_buttons_are_there(page, site):
    page.goto(site + "/format/examples/2.2.html")
    assert page.locator("button.copybtn").count() >= 10


def test_placement_and_sizing_pages_read_well(page, site):
    page.goto(site + "/format/placement.html")
    assert "never both" in page.inner_text("article")
    shot(page, "06-placement")
    page.goto(site + "/format/sizing.html")
    text = page.inner_text("article")
    assert "1.0 → 2.0 adds" in text and text.index("In one sentence per step") < text.index("Operators planning")
    plot = page.locator("svg.imgspec-plot")
    assert plot.count() == 1 and 300 < plot.bounding_box()["width"] <= 640  # drawn, within the column
    shot(page, "07-sizing")


def test_the_sql_binding_is_reached_from_a_format_page(page, site):
    page.goto(site + "/format/2.2.html")
    page.click("article a:has-text('format 2.2 in SQL')")
    page.wait_for_url("**/bindings/2.2.html")
    text = page.inner_text("article")
    assert "images.os_hidden" in text and "rocky_contract02" in text and "CREATE TABLE image_locations" in text
    shot(page, "08-binding-2.2")
    page.click(".sidebar-tree a:has-text('Format 1.0 in SQL')")
    page.wait_for_url("**/bindings/1.0.html")
    assert "images.is_public" in page.inner_text("article")


LAYOUT = (ROOT / "tests" / "browser" / "layout.js").read_text()
SCREEN = 900  # the viewport's height: a "screen"
VERSION_PAGE_SCREENS = 12  # a version page: its field tables, rules and errata in a few screens, examples linked


def site_pages(out: Path) -> list[str]:
    """Every page of the site (the copies of schemas/ and examples/ and Sphinx's own folders aside)."""
    skip = ("_", "schemas/", "examples/")
    return sorted(rel for rel in (str(p.relative_to(out)) for p in out.rglob("*.html")) if not rel.startswith(skip))


def test_every_page_fits_the_column_and_breaks_no_word_in_a_table(page, site, tmp_path_factory):
    out = built_site(tmp_path_factory)
    pages = site_pages(out)
    assert len(pages) >= 55, pages
    faults, lengths = [], {}
    for rel in pages:
        page.goto(f"{site}/{rel}")
        found = page.evaluate(LAYOUT)
        faults += [f"{rel}: wider than the content column: {w}" for w in found["wide"]]
        faults += [f"{rel}: word broken inside a table cell: {w!r}" for w in sorted(set(found["broken"]))]
        lengths[rel] = found["height"] / SCREEN
    assert not faults, "\n".join(faults[:40])
    versions = [rel for rel in pages if re.fullmatch(r"format/\d+\.\d+\.html", rel)]
    assert len(versions) >= 6
    long = {rel: round(lengths[rel], 1) for rel in versions if lengths[rel] > VERSION_PAGE_SCREENS}
    assert not long, f"version pages over {VERSION_PAGE_SCREENS} screens of {SCREEN} px: {long}"


def test_the_layout_check_sees_a_broken_word_and_a_wide_block(page, site):
    """The check above can fail: a narrow cell that must break a word, and a block wider than the column."""
    page.goto(site + "/format/2.3.html")
    page.evaluate("""() => {
        const article = document.querySelector('article');
        const t = document.createElement('table');
        t.style.tableLayout = 'fixed'; t.style.width = '40px';
        t.innerHTML = '<tr><td style="overflow-wrap: anywhere">visibility</td></tr>';
        article.appendChild(t);
        const p = document.createElement('pre'); p.style.whiteSpace = 'pre'; p.textContent = 'x'.repeat(400);
        article.appendChild(p);
    }""")
    found = page.evaluate(LAYOUT)
    assert "visibility" in found["broken"] and any(w.startswith("pre ") for w in found["wide"])


def test_a_version_page_links_its_examples_and_keeps_evidence_one_click_away(page, site):
    page.goto(site + "/format/2.3.html")
    text = page.inner_text("article")
    assert "Examples:" in text and "are on the examples page" in text
    assert page.locator("div.highlight-json").count() <= 6  # the examples live on their own page
    folded = page.locator("table.imgspec-fields details.imgspec-evidence:has(a.imgspec-glance)").first
    summary = folded.locator("summary")
    assert summary.inner_text().startswith("Glance enforces this")
    link = folded.locator("a.imgspec-glance").first
    assert not link.is_visible()
    summary.click()
    assert link.is_visible() and link.get_attribute("href").startswith("https://opendev.org/openstack/glance/src/tag/")
    page.click("article a:has-text('the examples page') >> nth=0")
    page.wait_for_url("**/format/examples/2.3.html#image-examples")
    assert page.locator("div.highlight-json").count() >= 20
