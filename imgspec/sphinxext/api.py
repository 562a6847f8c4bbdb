"""API pages: each operation rendered by sphinxcontrib-openapi (httpdomain), then its example files.

``.. imgspec-openapi:: TAG`` (in an .rst page) renders every operation of the tag in
document order, from the self-contained document that is published
(``schemas/bundled/api/``, no reference leaves it), so the renderer never resolves a URL; the build fails
where the checked-in file differs from what the modular files give.  After each operation its
examples from ``examples/api/<operationId>/`` are shown and validated; an example that
does not validate fails the build, as record examples do.
"""
from __future__ import annotations

import copy

from docutils import nodes
from docutils.parsers.rst import directives as rst
from sphinxcontrib.openapi.renderers import HttpdomainRenderer

from imgspec import jsonfile
from imgspec.api import document as api
from imgspec.api import fields as apifields
from imgspec.api import microversions as mv
from imgspec.api import selfcontained
from imgspec.diff import api as apidiff
from imgspec.problems import ProblemError
from imgspec.release import api as api_release
from imgspec.sphinxext.base import SpecDirective
from imgspec.sphinxext.nodes_util import definitions, inline, para, table


def field_row(f: apifields.Field, since: str | None, with_in: bool) -> list:
    """A row of an API field table: Name (Optional, read-only), [In,] Type and limits, Description with its values
    (each newer one with its API version) and "New in API X" where the field is newer than ``since``."""
    name: list = [nodes.literal(text=f.name)]
    if not f.required:
        name.append(nodes.Text(" (Optional)"))
    if f.readonly:
        name.append(nodes.Text(" (read-only)"))
    kind: list = [nodes.Text(f.type)]
    if f.limits:
        kind += [nodes.Text("; ")] + inline(f.limits)
    text: list = inline(f.description)
    if f.values:
        text.append(nodes.Text(" Values: " if f.description else "Values: "))
        for i, v in enumerate(f.values):
            if i:
                text.append(nodes.Text(", "))
            text.append(nodes.literal(text=v.text))
            if v.since:
                text.append(nodes.Text(f" (since API {v.since})"))
        text.append(nodes.Text("."))
    if f.since and f.since != since:
        text.append(nodes.emphasis(text=f" New in API {f.since}."))
    return [name] + ([f.where] if with_in else []) + [kind, nodes.paragraph("", "", *text)]


class OpenApiDirective(SpecDirective):
    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {"document": rst.unchanged}

    def run(self):
        tag = self.arguments[0]
        spec = self.spec
        self.shown(spec.root / api.DOCUMENT)
        self.shown(spec.root / apifields.DESCRIPTIONS)
        self.shown(spec.root / selfcontained.FILE)
        try:
            bundled = api_release.self_contained(spec)  # what is published, as the conformance run reads it
            examples = api.api_examples(spec)
            operations = api.operations(spec)
        except ProblemError as exc:
            self.fail([str(p) for p in exc.problems])
            return []
        drift = api_release.stale_self_contained(spec)
        if drift:
            self.fail([str(p) for p in drift])
        # httpdomain resolves references in place: it renders a copy, for ``bundled`` is cached and the next
        # page's drift check compares it with the file
        bundled = copy.deepcopy(bundled)
        out: list[nodes.Node] = []
        for path, item in bundled["paths"].items():
            for method in api.METHODS:
                op = item.get(method)
                if not op or tag not in op.get("tags", []):
                    continue
                one = {"openapi": bundled["openapi"], "info": bundled["info"], "components": bundled["components"],
                       "paths": {path: {method: self.shell(op, bundled)}}}  # arrays state items there (httpdomain reads them)
                renderer = HttpdomainRenderer(self.state, {"markup": "commonmark"})
                out += renderer.render(one)
                out += self.fields(operations[op["operationId"]], op)
                out += self.since(op)
                out += self.policy(op)
                out += self.examples(op["operationId"], [e for e in examples if e.operation_id == op["operationId"]])
                out += self.served(operations[op["operationId"]])
        if not out:
            raise self.error(f"{api.DOCUMENT}: /tags: no-operations: no operation is tagged {tag!r}")
        return out

    @staticmethod
    def shell(op: dict, bundled: dict) -> dict:
        """The operation for httpdomain to render its signature, description, status codes and response headers:
        its parameters and bodies are this page's own tables (:meth:`fields`), which say what httpdomain cannot
        (enum values, limits, the version a field came with, PATCH's bodies)."""
        responses = {}
        for code, response in op.get("responses", {}).items():
            if "$ref" in response:
                response = bundled["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
            responses[code] = {k: v for k, v in response.items() if k != "content"}
        return {**{k: v for k, v in op.items() if k not in ("parameters", "requestBody")}, "responses": responses}

    def fields(self, operation: api.Operation, op: dict) -> list[nodes.Node]:
        """The api-ref's tables: the request's parameters and body fields (Name, In, Type, Description) and each
        JSON response body's fields, every row with its type in words, its values, limits and the API version
        that brought it where that is newer than the operation."""
        found = apifields.operation_fields(self.spec, operation)
        since = op.get("x-since")
        bare = [f for f in found.parameters + [f for b in found.request for f in b.fields] +
                [f for bodies in found.responses.values() for b in bodies for f in b.fields] if not f.description]
        if bare:
            self.fail([f"{f.location or api.DOCUMENT}: {op['operationId']} {f.name}: undescribed: every parameter "
                       f"and body field says what it means (its schema's description, or {apifields.DESCRIPTIONS} "
                       f"for a served schema's field)" for f in bare])
        out: list[nodes.Node] = []
        bodies: list[apifields.Body | None] = list(found.request) or [None]
        for i, body in enumerate(bodies):
            rows = [field_row(f, since, with_in=True) for f in (found.parameters if i == 0 else [])]
            if body is not None:
                rows += [field_row(f, since, with_in=True) for f in body.fields]
            if not rows and body is None:
                continue
            title = "Request"
            if body is not None:
                title += f" ({body.media} body: {body.root})"
            out.append(nodes.rubric(text=title))
            if rows:
                out.append(table(["Name", "In", "Type", "Description"], rows, widths=[22, 7, 16, 55],
                                 classes=["imgspec-api-fields"]))
            elif body is not None:
                out.append(para(f"The body is {body.root}, of no fixed fields."))
        for code, found_bodies in found.responses.items():
            for response in found_bodies:
                out.append(nodes.rubric(text=f"Response {code} ({response.media} body: {response.root})"))
                rows = [field_row(f, since, with_in=False) for f in response.fields]
                if rows:
                    out.append(table(["Name", "Type", "Description"], rows, widths=[26, 18, 56],
                                     classes=["imgspec-api-fields"]))
                else:
                    out.append(para(f"The body is {response.root}, of no fixed fields."))
        return out

    def since(self, op: dict) -> list[nodes.Node]:
        """The API version that introduced the operation (x-since), and its parameters that are newer."""
        if "x-since" not in op:
            self.fail([f"{api.DOCUMENT}: {op['operationId']}: x-since: every operation names the API version that "
                       f"introduced it"])
            return []
        parts: list = [nodes.strong(text="Since: "), f"API {op['x-since']}"]
        if op.get("x-since-note"):
            parts.append(f" ({op['x-since-note']})")
        newer = [p for p in op.get("parameters", []) if "x-since" in p and p["x-since"] != op["x-since"]]
        if newer:
            parts.append("; newer parameters: ")
            for i, p in enumerate(newer):
                if i:
                    parts.append(", ")
                parts += [nodes.literal(text=p["name"]), f" (API {p['x-since']})"]
        parts.append(".")
        return [para(*parts)]

    def policy(self, op: dict) -> list[nodes.Node]:
        """Who may call the operation: Glance 33's default policy rules (x-glance-policy), with their roles."""
        policy = op.get("x-glance-policy")
        if policy is None:
            self.fail([f"{api.DOCUMENT}: {op['operationId']}: x-glance-policy: every operation names its policy"])
            return []
        if not policy["rules"]:
            return [para(nodes.strong(text="Policy: "), f"none ({policy['source']}).")]
        parts: list = [nodes.strong(text="Policy (Glance 33 defaults): ")]
        for i, rule in enumerate(policy["rules"]):
            if i:
                parts.append("; ")
            parts += [nodes.literal(text=rule["name"]), f" (roles: {', '.join(rule['roles']) or 'any'}): ",
                      nodes.literal(text=rule["check_str"] or '""')]
        parts.append(f" ({policy['source']}).")
        return [para(*parts)]

    def examples(self, operation_id: str, found: list[api.ApiExample]) -> list[nodes.Node]:
        box = nodes.container(classes=["imgspec-api-examples"])
        if not found:
            box += para(f"`{operation_id}` has no JSON body to show.")
            return [box]
        box += nodes.rubric(text=f"Examples of {operation_id}")
        for e in found:
            self.shown(e.path)
            text = e.path.read_text(encoding="utf-8")
            what = "request body" if e.part == "request" else f"{e.status} response body"
            if e.media:
                what += f" ({e.media})"
            if e.valid:
                caption = f"{e.path.name}: {what}"
            else:
                exp = self.spec.load(e.expect_path)
                caption = (f"{e.path.name}: invalid {what}; breaks {exp['rule']} at {exp['pointer'] or '(root)'}: "
                           f"{exp['description']}")
            wrapper = nodes.container("", literal_block=True, classes=["literal-block-wrapper"])
            wrapper += nodes.caption("", "", *inline(caption))
            wrapper += nodes.literal_block(text, text, language="json")
            box += wrapper
            problems = api.example_verdict(self.spec, e)
            if problems:
                self.fail(problems)
        return [box]


    def served(self, op: api.Operation) -> list[nodes.Node]:
        """An operation that serves a schema the spec keeps (x-served-schema): that file is its 200 example."""
        try:
            found = api.served_schema(self.spec, op)
        except ProblemError as exc:
            self.fail([str(p) for p in exc.problems])
            return []
        if found is None:
            return []
        rel, body = found
        self.shown(self.spec.root / rel)
        problems = api.body_errors(body, op, "response", "200", spec=self.spec, source=rel)
        if problems:
            self.fail([str(p) for p in problems])
        text = self.spec.root.joinpath(rel).read_text(encoding="utf-8")
        wrapper = nodes.container("", literal_block=True, classes=["literal-block-wrapper"])
        wrapper += nodes.caption("", "", *inline(f"{rel}: the 200 response body, less "
                                                  f"{', '.join(api.SERVED_ONLY)}"))
        wrapper += nodes.literal_block(text, text, language="json")
        box = nodes.container(classes=["imgspec-api-examples"])
        box += wrapper
        return [box]


class ApiDiffDirective(SpecDirective):
    """``imgspec-api-diff OLD NEW``: the review report of two API documents (example files), and the gate's state."""

    required_arguments = 2

    def run(self):
        old_path, new_path = self.path(self.arguments[0]), self.path(self.arguments[1])
        for path in (old_path, new_path, self.spec.root / api_release.RELEASES):
            self.shown(path)
        old, new = (api.resolve_local(jsonfile.load(p, display=self.spec.rel(p))) for p in (old_path, new_path))
        changes = apidiff.compare(old, new)
        bad = apidiff.unannounced(changes, old, new)
        out: list[nodes.Node] = [para(f"`imgspec diff --api {self.spec.rel(old_path)} {self.spec.rel(new_path)}` "
                                      f"({old['info']['version']} → {new['info']['version']}): {len(changes)} change(s), "
                                      f"{len(bad)} that clients notice without a newer API version (exit status "
                                      f"{1 if bad else 0}):")]
        out.append(table(["Class", "Check", "Where", "What"],
                         [[c.severity, f"`{c.check}`", f"`{c.where}`", c.message] for c in changes], [14, 22, 34, 30]))
        try:
            version, released = api_release.released_document(self.spec)
            current = api.bundled(self.spec)
        except ProblemError as exc:
            self.fail([str(p) for p in exc.problems])
            return out
        now = apidiff.compare(released, current)
        late = apidiff.unannounced(now, released, current)
        out.append(para(f"The gate today: this document against its last released state, API {version} "
                        f"(`{api_release.RELEASES}`): {len(now)} change(s), {len(late)} unannounced."))
        if late:
            self.fail([f"{api_release.RELEASES}: unannounced API change: {c.where}: {c.check}" for c in late])
        return out


class ApiChangelogDirective(SpecDirective):
    """``imgspec-api-changelog``: each API version, newest first, with what it introduced (generated from x-since)."""

    def run(self):
        self.shown(self.spec.root / mv.DATA)
        self.shown(self.spec.root / api.DOCUMENT)
        try:
            log = mv.changelog(self.spec)
            found = mv.problems(self.spec)
        except ProblemError as exc:
            self.fail([str(p) for p in exc.problems])
            return []
        if found:
            self.fail([str(p) for p in found])
        out: list[nodes.Node] = []
        for version, added in log:
            section = nodes.section(ids=[f"api-{version['version'].replace('.', '-')}"])
            section += nodes.title(text=f"{version['version']}: {version['first_current'] or version['first_listed']}")
            listed = (f" First listed in {version['first_listed']}; never CURRENT." if not version["first_current"] else
                      f" First listed in {version['first_listed']}." if version["first_listed"] != version["first_current"]
                      else "")
            section += para(version["summary"] + listed)
            if added:
                section += table(["Kind", "Element", "Note"],
                                 [[e.kind, f"`{e.where}`", e.note or ""] for e in added], [12, 50, 38])
            else:
                section += para("No element of the document states this version.")
            out.append(section)
        return out


class ApiRefDifferencesDirective(SpecDirective):
    """``imgspec-api-ref-differences``: where Glance's api-ref and the document disagree on response codes, and why;
    with ``:part: left-out``, the routes a deployment may serve that the document leaves out, and why."""

    option_spec = {"part": lambda arg: rst.choice(arg, ("codes", "left-out"))}

    def run(self):
        rel = "schemas/api/api-ref-differences.json"
        self.shown(self.spec.root / rel)
        data = self.spec.load(rel)
        if self.options.get("part") == "left-out":
            return [definitions([(", ".join(f"`{r}`" for r in e["routes"]),
                              [f"Served by {e['served_by']}, in the paste flavors "
                               f"{', '.join(f'`{f}`' for f in e['flavors'])}.", e["reason"],
                               "Glance files: " + ", ".join(f"`{f}`" for f in e["evidence"]) + "."])
                             for e in data["left_out"]], "imgspec-left-out")]
        rows = [[f"`{e['status']}`", "lists it; Glance never answers it" if e["api_ref"] == "lists" else
                 "omits it; Glance answers it", ", ".join(f"`{o}`" for o in e["operations"]), e["reason"],
                 ", ".join(f"`{f}`" for f in e["evidence"])] for e in data["differences"]]
        return [table(["Status", "api-ref", "Operations", "Why (Glance's code)", "Glance files"], rows,
                      [7, 14, 27, 36, 16])]


class GlanceDefectsDirective(SpecDirective):
    """``imgspec-glance-defects``: the answers of Glance 33 the document does not promise (its defects, found by
    schemathesis and replayed by the tests), each with its cause in Glance's code and a request that reproduces it;
    with ``:part: checks``, the checks the schemathesis run holds every answer to and why it leaves the others out."""

    option_spec = {"part": lambda arg: rst.choice(arg, ("defects", "checks"))}
    DEFECTS = "schemas/api/glance-defects.json"
    RUN = "tools/schemathesis/run.json"

    def run(self):
        if self.options.get("part") == "checks":
            self.env.note_dependency(str((self.spec.root / self.RUN).resolve()))  # a test setting: not published
            run = self.spec.load(self.RUN)
            rows = [[f"`{c}`", "held", what] for c, what in run["checks"].items()]
            rows += [[f"`{c}`", "left out", why] for c, why in run["left_out"].items()]
            budgets = ", ".join(f"{n} in `{where}`" for where, n in run["budget"].items())
            return [para(f"Phases: {', '.join(run['phases'])}; examples per operation and phase: {budgets}."),
                    table(["Check", "", "What it holds, or why it is left out"], rows, [26, 8, 66])]
        self.shown(self.spec.root / self.DEFECTS)
        items = []
        for d in self.spec.load(self.DEFECTS)["defects"]:
            r = d["reproduce"]
            request = ", ".join([f"`{r['method']} {r['path']}`", *(f"`{k}: {v}`" for k, v in r["headers"].items()),
                                 *([f"the body `{r['body']}`"] if r["body"] else [])])
            items.append((f"`{d['id']}`: answers {d['answer'].replace('|', ' or ')}",
                          [d["what"], f"Reproduced by {request}.", f"Why: {d['cause']}",
                           "Glance files: " + ", ".join(f"`{f}`" for f in d["evidence"]) + "."]))
        return [definitions(items, "imgspec-glance-defects")]


def setup(app) -> None:
    app.add_directive("imgspec-glance-defects", GlanceDefectsDirective)
    app.add_directive("imgspec-api-changelog", ApiChangelogDirective)
    app.add_directive("imgspec-api-ref-differences", ApiRefDifferencesDirective)
    app.add_directive("imgspec-openapi", OpenApiDirective)
    app.add_directive("imgspec-api-diff", ApiDiffDirective)
