"""The site shows every schema and example, validates them at build time and fails on drift."""
import html
import json
import re

import pytest
from support import ROOT, built_site, sphinx_build

from imgspec.sphinxext import all_shown_candidates

pytestmark = pytest.mark.site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return built_site(tmp_path_factory)

def tool(name: str):
    """A development tool of tools/ (outside the shipped package), imported from its file."""
    import importlib.util
    found = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


WBR = '</span><wbr><span class="pre">'  # where a long identifier may wrap: the text reads whole without it


def test_every_schema_and_example_is_shown_on_some_page(site, spec):
    shown = set(json.loads((site / "_imgspec" / "shown.json").read_text()))
    candidates = all_shown_candidates(spec)
    assert len(candidates) >= 220
    assert candidates - shown == set()
    # and each is served at its own path, byte for byte, so that a page's download link works
    unserved = [rel for rel in shown if not (site / rel).is_file() or (site / rel).read_bytes() != (spec.root / rel).read_bytes()]
    assert unserved == []
    assert any(rel.startswith("examples/rules/") for rel in shown)


def test_the_rule_language_page_shows_each_term_and_its_examples(site, spec):
    from imgspec.upgrade import language
    page = (site / "format" / "upgrades" / "language.html").read_text()
    for term in language.terms(spec):
        assert f'id="term-{term.term}"' in page, term.term
    for path in language.example_files(spec):
        assert f'href="../../{spec.rel(path)}"' in page, path.name


def test_each_schema_is_published_at_its_id(site, spec):
    for path in spec.schema_files():
        schema = json.loads(path.read_text())
        published = site / schema["$id"].removeprefix("https://imgspec.example/")
        assert json.loads(published.read_text()) == schema


def test_each_version_page_shows_its_fields_and_examples(site, spec):
    for v in spec.versions:
        html = (site / "format" / f"{v}.html").read_text()
        for field in spec.schema("image", v)["properties"]:
            assert f'<code class="docutils literal notranslate"><span class="pre">{field}</span></code>' in html, (v, field)
        assert "active-public.json: valid image record" not in html  # examples: on the version's examples page
        assert f'href="examples/{v}.html#image-examples"' in html
        assert "active-public.json: valid image record" in (site / "format" / "examples" / f"{v}.html").read_text()
        assert re.search(rf'href="\.\./schemas/record/{re.escape(v)}/image\.json"', html)


def test_every_kind_of_breakage_breaks_the_build_with_a_clear_line_each(spec_copy, tmp_path):
    """One build of a tree broken six ways (each build reads every page): an invalid "valid" example, an invalid
    example that fails for another rule, a file no page shows, a binding that misses a field, an era matrix row
    whose revision the binding reads otherwise, a refusal of Glance 33's db_sync that no entry explains."""
    path = spec_copy.schemas / "bindings" / "glance-matrix.json"
    matrix = json.loads(path.read_text())
    row = matrix["releases"][0]["matrix"]
    assert matrix["releases"][0]["release"] == "15.0.2"
    row["format_version"] = "2.2"  # pike01 is layout ocata, read as 2.1
    del matrix["refused_by_33"]["pike01"]  # a refusal no entry explains
    path.write_text(json.dumps(matrix, indent=2))
    path = spec_copy.schemas / "bindings" / "glance-sql.json"
    data = json.loads(path.read_text())
    data["objects"]["member"]["fields"] = [f for f in data["objects"]["member"]["fields"] if f["field"] != "can_share"]
    path.write_text(json.dumps(data, indent=2))
    path = spec_copy.examples / "record" / "2.2" / "image" / "valid" / "active-public.json"  # an invalid "valid" example
    doc = json.loads(path.read_text())
    doc["properties"]["os_distro"] = 7
    path.write_text(json.dumps(doc, indent=2))
    path = spec_copy.examples / "record" / "2.1" / "member" / "invalid" / "deleted-not-boolean.json"  # fails otherwise
    path.write_text(path.read_text().replace('"can_share": false', '"can_share": "no"'))
    (spec_copy.examples / "record" / "2.2" / "image" / "stray.json").write_text("{}")  # a file no page shows
    result = sphinx_build(tmp_path / "out", spec_copy.root, "-b", "dummy")  # the checks run as pages are read
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    for line in ["examples/record/2.2/image/valid/active-public.json: /properties/os_distro: type: "
                 "integer where string or null is required",
                 "examples/record/2.1/member/invalid/deleted-not-boolean.json: expected only /deleted: type, got: "
                 "/can_share: type",
                 "examples/record/2.2/image/stray.json: (root): orphan: no page shows this file",
                 "schemas/bindings/glance-sql.json: /objects/member/fields: unbound-field: 2.2 member field "
                 "'can_share' has no binding",
                 "schemas/bindings/glance-matrix.json: /releases/0/matrix: revision pike01 (Glance 15.0.2) is not read "
                 "as layout ocata, format 2.2, by the binding",
                 "schemas/bindings/glance-matrix.json: /refused_by_33: Glance 33's db_sync refuses pike01 (Glance "
                 "15.0.2) and no entry says why"]:
        assert line in result.stderr, line


def test_a_broken_schema_ref_breaks_the_build_without_a_traceback(spec_copy, tmp_path):
    """A tree whose schemas cannot be used (a build of its own: the broken registry hides every other breakage):
    every directive that meets it says so in the problem's own line."""
    path = spec_copy.schemas / "record" / "2.0" / "image.json"
    path.write_text(path.read_text().replace('"$ref": "member.json"', '"$ref": "members.json"'))
    result = sphinx_build(tmp_path / "out", spec_copy.root, "-b", "dummy")  # the checks run as pages are read
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "schemas/record/2.0/image.json: /properties/members/items/$ref: unresolvable-ref" in result.stderr


def test_internal_links_are_not_broken(site):
    linkcheck = tool("linkcheck")
    problems, count = linkcheck.check(site)
    assert count >= 2000
    assert [str(p) for p in problems] == []


def test_linkcheck_finds_a_broken_link_and_anchor(tmp_path):
    linkcheck = tool("linkcheck")
    (tmp_path / "index.html").write_text('<a href="missing.html">x</a><a href="#nowhere">y</a><p id="here"></p>'
                                         '<a href="#here">z</a><a href="https://example.com/">ext</a>')
    problems, count = linkcheck.check(tmp_path)
    assert count == 3
    assert [p.rule for p in problems] == ["broken-link", "broken-anchor"]


def test_each_binding_page_shows_every_field_and_column_of_its_version(site, spec):
    from imgspec.sql import binding as sqlbinding
    binding = sqlbinding.load(spec)
    for v in spec.versions:
        html = (site / "bindings" / f"{v}.html").read_text().replace(WBR, "")
        native = binding.native(v)
        if native != v:  # read via an older version: the page says which, and links its upgrade rules
            via = binding.binding(v)["via"]
            assert f'href="../format/upgrades/{via}-{v}.html"' in html and f'href="{via}.html"' in html, v
            continue
        for obj in binding.objects(v):
            for f in binding.fields(obj, v):
                assert f'<span class="pre">{f["field"]}</span>' in html, (v, f["field"])
        for column in binding.unbound(v):
            assert f'<span class="pre">{column}</span>' in html, (v, column)
        from bs4 import BeautifulSoup
        assert binding.layout_of(v).ddl().strip() in BeautifulSoup(html, "html.parser").get_text()


def test_the_field_index_tells_each_fields_whole_story(site, spec):
    from imgspec.sphinxext import fieldindex as fields
    html = (site / "format" / "fields.html").read_text().replace(WBR, "")
    index = fields.index(spec)
    assert set(index) == {"image", "location", "member", "tag", "store", "placement"}
    for kind, found in index.items():
        for f in found:
            assert f'<span class="pre">{f.name}</span>' in html, (kind, f.name)
            for v in f.versions:  # each definition links to the field's row on the version page
                anchor = fields.anchor(kind, f.name)
                assert f'href="{v}.html#{anchor}"' in html, (kind, f.name, v)
                assert f'id="{anchor}"' in (site / "format" / f"{v}.html").read_text(), (kind, f.name, v)
    status = next(f for f in index["location"] if f.name == "status")
    assert ("2.1", "2.2") in {(a, b) for a, b, _, _ in status.rules}  # the rule that introduced it
    visibility = next(f for f in index["image"] if f.name == "visibility")
    assert visibility.columns["2.1"] == "images.visibility" and "1.0" not in visibility.versions
    assert [r for r in visibility.rules if r[:2] == ("1.0", "2.0")] == [("1.0", "2.0", 1, "map")]
    assert "upgrades/2.1-2.2.html" in html and "image_locations.status" in html


def test_each_step_and_version_page_shows_every_fields_mode_and_what_readers_see(site, spec):
    from imgspec.upgrade import load_steps
    from imgspec.upgrade.operations import describe
    for step in load_steps(spec).values():
        pages = [site / "format" / "upgrades" / f"{step.source}-{step.target}.html", site / "format" / f"{step.target}.html"]
        for page in pages:
            html = page.read_text().replace(WBR, "")
            assert f"What a {step.target} reader sees meanwhile" in html, page
            for number, rule in enumerate(step.rules, 1):
                field = describe(rule)[1].strip("`").split("`")[0]
                pattern = (rf"<tr[^>]*>\s*<td><p>{number}</p></td>\s*<td><p><code[^>]*>"
                           rf"<span class=\"pre\">{re.escape(field)}</span>.*?</tr>")
                row = re.search(pattern, html.split("reader sees meanwhile", 1)[1], re.S)
                assert row, (page.name, number, field)
                assert f"<strong>{rule['mode']}</strong>" in row.group(0), (page.name, number)
    step_page = (site / "format" / "upgrades" / "2.2-2.3.html").read_text()
    assert "Until the 2.3 service first uses the record" in step_page
    assert "(the strictest of its rules: 2 first-use)" in step_page
    assert "no: install-time rule(s) 1, 2, 3 must be applied" in (site / "format" / "upgrades" / "1.0-2.0.html").read_text()


def test_the_sizing_page_states_the_measured_growth(site, spec):
    """One sentence per step first, computed; no column that never changes; no step that rewrites nothing charged
    an upgrade peak; a plot of bytes per image per engine; every engine's metadata in the storage table."""
    from imgspec.sizing import storage as sizing
    raw = (site / "format" / "sizing.html").read_text()
    html = re.sub(r"<[^>]+>", "", re.sub(r">\s+<", "><", raw))
    dep = json.loads((spec.root / "schemas/sizing/deployment.json").read_text())
    per = sizing.measured_per_image(spec, dep["engine"])
    a, b = per["1.0"], per["2.0"]
    lead = html[html.index("In one sentence per step"):html.index("Operators planning")]
    assert (f"1.0 → 2.0 adds {b - a:,.0f} bytes ({(b / a - 1) * 100:+.1f}%) of metadata per image on MariaDB (InnoDB) "
            f"(SQLite ") in lead
    assert lead.count(" → ") == len(spec.versions) - 1 and "0.0000" not in html and "-0 " not in html
    assert "2.3 → 2.4 changes no measurable metadata" in lead and "a store rewrites nothing" in lead
    for engine in ("SQLite", "MariaDB (InnoDB)", "PostgreSQL"):
        assert f"{engine} B/image" in html and f"Metadata on {engine}" in html
    assert "Data × copies" not in html and "Metadata share" not in html  # constant: said once, in a sentence
    peaks = html[html.index("Upgrade peak on MariaDB (InnoDB)"):html.index("The upgrade peak is")]
    assert peaks.count("none: nothing is rewritten") == 2  # 2.1 → 2.2 and 2.3 → 2.4: read-time rules only
    assert raw.count('<svg class="imgspec-plot"') == 1
    plot = raw[raw.index('<svg class="imgspec-plot"'):]
    assert plot[:plot.index("</svg>")].count("<polyline") == 4  # three engines and the JSON record
    for e in sizing.measured(spec)["engines"]:
        assert e["version"] in html  # the engine versions measured
    assert len(html[html.index("The distributions behind the corpus:"):].splitlines()) < 40


def test_each_api_operation_shows_who_may_call_it(site):
    images = re.sub(r"<[^>]+>", "", (site / "api" / "images.html").read_text())
    assert images.count("Policy (Glance 33 defaults):") >= 7
    assert "get_image (roles: admin, reader): rule:context_is_admin or (role:reader and" in images
    versions = re.sub(r"<[^>]+>", "", (site / "api" / "versions.html").read_text())
    assert "Policy: none (no token needed)." in versions


def test_the_site_ships_pages_not_build_state_and_publishes_every_proposal(site):
    assert not (site / ".doctrees").exists() and not (site / ".buildinfo").exists()
    assert not (site / "genindex.html").exists()  # no page holds index entries
    for proposal in sorted((ROOT / "proposals").glob("*.md")):
        if proposal.name == "TEMPLATE.md":
            continue  # shown on the review page
        page = site / "process" / "proposals" / f"{proposal.stem}.html"
        assert page.is_file(), f"{proposal.name} is not published: add docs/process/proposals/{proposal.name}"
        title = proposal.read_text().splitlines()[0].lstrip("# ")
        assert title in page.read_text()


def test_glance_source_citations_link_to_the_release_cited(site):
    """Every code span naming a Glance file links to it at 33.0.0 (the pinned release), or at the last release
    that had it for sqlalchemy-migrate's scripts; each linked 33.0.0 file exists in that source package."""
    from apiref import api_ref
    glance_src = api_ref().parents[2]
    import runpy
    TAGS = runpy.run_path(str(ROOT / "conf.py"))["imgspec_glance_tags"]
    assert TAGS[""] == re.search(r"^glance==(\S+)", (ROOT / "requirements-glance.txt").read_text(), re.M).group(1)
    pin = re.search(r"^glance==(\S+)", (ROOT / "requirements-glance.txt").read_text(), re.M).group(1)
    links = set()
    for page in site.rglob("*.html"):
        links |= set(re.findall(r'href="https://opendev\.org/openstack/glance/src/tag/([^/]+)/([^"]+)"', page.read_text()))
    assert len(links) >= 40
    for tag, path in links:
        removed = {p: t for p, t in TAGS.items() if p}  # files Glance removed: the last release that had them
        if any(path.startswith(p) for p in removed):
            assert tag == next(t for p, t in removed.items() if path.startswith(p)), path
            assert not (glance_src / path).exists(), f"{path} is in {pin}: link it there"
        else:
            assert tag == pin and (glance_src / path).is_file(), (tag, path)


def test_each_api_operation_documents_its_fields_as_an_api_reference_does(site):
    """Name / In / Type / Description rows, (Optional), values with the version that added them, New in API X;
    PATCH documents both its bodies; no Python syntax leaks onto any page."""
    def text(page):
        return re.sub(r"<[^>]+>", "", re.sub(r">\s+<", "><", (site / page).read_text().replace(WBR, "")))
    images = text("api/images.html")
    assert images.count("NameInTypeDescription") >= 9 and images.count("NameTypeDescription") >= 5
    assert "Request (application/openstack-images-v2.1-json-patch body: array of object)" in images
    assert "Request (application/openstack-images-v2.0-json-patch body: array of object)" in images
    assert "[].opbodystringThe operation. Values: add, remove, replace." in images
    assert "os_hiddenbooleanA hidden image is left out of image lists unless asked for. New in API 2.7." in images
    assert "community (since API 2.5)" in images and "direct_url (Optional) (read-only)" in images
    schemas = text("api/metadef-schemas.html")
    assert "operators (Optional)" in schemas and "Operators a consumer may apply" in schemas
    leaks = {page.relative_to(site).as_posix() for page in site.rglob("*.html")
             if re.search(r"\[&#39;|\['[a-z]", (page).read_text())}
    assert leaks == set()


def test_the_operator_guide_answers_which_format_and_what_is_public_becomes(site):
    page = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r">\s+<", "><",
                                                       (site / "operators" / "upgrading-glance.html").read_text())))
    assert "Newton13.0.044 (migrate_version)migrate-0342.0" in page
    assert "2026.2 (Hibiscus)33.0.02024_1_contract01 (alembic_version)train2.3" in page
    assert page.count("glance-manage db expand") >= 3 and "glance-manage db_sync" in page
    assert "Newton (13.0.0) → Ocata (14.0.0): format 2.0 → 2.1" in page and "ocata_migrate01" in page
    assert 'shared-with-members.json: is_public false, 1 member(s) and 1 deleted"private""shared""shared""shared"' \
           "1.0 → 2.0 (install-time), 2.0 → 2.1 (install-time)" in page
    assert "Rocky to Stein2.22.2 → 2.3 (first-use)" in page
    assert '{"url"' not in page and "$from" not in page  # rules in words, never their JSON


def test_the_operator_guide_has_a_row_per_release_pair_with_its_measured_cost(site, spec):
    from imgspec.sizing import storage as sizing
    from imgspec.sql import guide
    page = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r">\s+<", "><",
                                                       (site / "operators" / "upgrading-glance.html").read_text())))
    section = page[page.index("Every release pair, one row each"):page.index("A rolling upgrade: two releases")]
    assert "Stein (18.0.0 to 18.0.1) → Train (19.0.0 to 19.0.4)rocky_contract02 → train_contract012.2 → 2.3" \
           "refused: no window" in section
    assert "Wallaby (22.0.0 to 22.1.1) → Xena (23.0.0 to 23.1.0) → Yoga (24.0.0 to 24.2.1) → Zed (25.0.0 to 25.1.0)" \
           "wallaby_contract01 throughout: no migration to run2.3nothing to runnone: the format stays" in section
    assert "read as layout train (the window 2023_1_contract01 + 2024_1_expand01)" in section
    assert "run as a rolling upgrade with Glance 27.1.1 and 28.2.0" in section
    per = sizing.measured_per_image(spec, "postgresql")
    shares = sizing.rewritten_shares(spec)
    images = spec.load("schemas/sizing/deployment.json")["images"]
    assert f"PostgreSQL: {per['2.1']:,.0f} → {per['2.2']:,.0f} B per image" in section
    assert shares["2.3"] > 0.5 and f"{sizing.human(images * per['2.3'] * shares['2.3'])} more ({shares['2.3']:.0%} " \
           "of the records rewritten" in section
    assert len(re.findall(r"→ \w", section)) >= len(guide.release_pairs(spec))


def test_the_operator_guide_says_what_the_matrix_found_from_the_matrix_file(site, spec):
    page = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r">\s+<", "><",
                                                       (site / "operators" / "upgrading-glance.html").read_text())))
    found = page[page.index("what it found, from the matrix file"):page.index("The format's steps on the way")]
    found = found.replace("’", "'").replace("‘", "'")  # Sphinx's smart quotes
    matrix = spec.load("schemas/bindings/glance-matrix.json")
    pike = next(r for r in matrix["releases"] if r["release"] == "15.0.2")["matrix"]["after_33"]
    # a literal's words are spans of their own: the text between them collapses with the tags
    assert (f"Glance 33 refuses a Pike database (pike01, which Glance 15.0.2's own db_sync leaves) with "
            f"{pike['refused'].replace(' ', '')}: {matrix['refused_by_33']['pike01']['why']}") in found
    assert f"the matrix steps through Glance {pike['via']} (rocky), then Glance 33" in found
    skipped = [r["release"] for r in matrix["releases"]
               if "train_migrate01_backend_to_store" in r.get("matrix", {}).get("after_33", {}).get("not_as_the_rules_say", [])]
    assert skipped and f"Glance {skipped[0]}" in found and "skips train_migrate01_backend_to_store" in found
    assert matrix["not_as_the_rules_say"]["train_migrate01_backend_to_store"]["why"] in found


def test_the_five_questions_are_each_answered_on_the_page_the_home_page_names(site, spec):
    """Issue 26: which format is my database in; what a 1.0 is_public becomes and when; what each version costs;
    what a reader or writer must do; whether a change is compatible and what to declare."""
    from imgspec.sql import guide
    home = (site / "index.html").read_text()

    def answer(question: str) -> str:
        at = home.index(question)
        link = re.search(r'href="([^"#]+)(#[^"]*)?"', home[at:]).group(1)
        return html.unescape(re.sub(r"<[^>]+>", "", re.sub(r">\s+<", "><", (site / link).read_text())))
    page = answer("Which format is my Glance database in?")
    for s in guide.series(spec):
        assert f"{s.name}{s.glance}{s.revision} ({s.table}){s.layout}{s.format}" in page
    page = answer("What does a 1.0 <code")
    assert '"private""shared""shared""shared"' in page and "db migrate" in page
    page = answer("What does each version cost in storage?")
    assert "In one sentence per step" in page and "1.0 → 2.0 adds" in page
    page = answer("What must a reader, a writer")
    assert all(f"{who}" in page for who in ("Reader", "Writer", "Store", "API server"))
    page = answer("Is my change compatible")
    assert all(c in page for c in ("compatible", "needs a default", "meaning changed", "breaking", "meaning_changes"))


def test_the_api_page_shows_every_glance_defect_and_every_schemathesis_check(site):
    page = html.unescape(re.sub(r"<[^>]+>", "", (site / "api" / "index.html").read_text().replace(WBR, "")))
    defects = json.loads((ROOT / "schemas/api/glance-defects.json").read_text())["defects"]
    run = json.loads((ROOT / "tools/schemathesis/run.json").read_text())
    for d in defects:
        assert d["id"] in page and d["what"] in page, d["id"]
    for check, why in [*run["checks"].items(), *run["left_out"].items()]:
        assert check in page and why in page, check
    assert "Held to a real Glance" in page and "tests/glance/schemathesis_hooks.py" in page
