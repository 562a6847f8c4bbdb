"""API pages: each operation rendered by sphinxcontrib-openapi (httpdomain), then its example files.

``.. imgspec-openapi:: TAG`` (in an .rst page) renders every operation of the tag in
document order.  The document is bundled first (references to other files inlined from
the local registry), so the renderer never resolves a URL.  After each operation its
examples from ``examples/api/<operationId>/`` are shown and validated; an example that
does not validate fails the build, as record examples do.
"""
from __future__ import annotations

import copy

from docutils import nodes
from docutils.parsers.rst import directives as rst
from sphinxcontrib.openapi.renderers import HttpdomainRenderer

from .. import api
from ..problems import ProblemError
from .base import SpecDirective
from .nodes_util import inline, para


class OpenApiDirective(SpecDirective):
    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {"document": rst.unchanged}

    def run(self):
        tag = self.arguments[0]
        spec = self.spec
        self.shown(spec.root / api.DOCUMENT)
        try:
            bundled = api.bundled(spec)
            examples = api.api_examples(spec)
        except ProblemError as exc:
            self.fail([str(p) for p in exc.problems])
            return []
        out: list[nodes.Node] = []
        for path, item in bundled["paths"].items():
            for method in api.METHODS:
                op = item.get(method)
                if not op or tag not in op.get("tags", []):
                    continue
                one = {"openapi": bundled["openapi"], "info": bundled["info"], "components": bundled["components"],
                       "paths": {path: {"parameters": copy.deepcopy(item.get("parameters", [])), method: copy.deepcopy(op)}}}
                renderer = HttpdomainRenderer(self.state, {"markup": "commonmark"})
                out += renderer.render(one)
                out += self.policy(op)
                out += self.examples(op["operationId"], [e for e in examples if e.operation_id == op["operationId"]])
        if not out:
            raise self.error(f"{api.DOCUMENT}: /tags: no-operations: no operation is tagged {tag!r}")
        return out

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
            problems = api.example_verdict(e, self.spec)
            if problems:
                self.fail(problems)
        return [box]


class ApiDiffDirective(SpecDirective):
    """``imgspec-api-diff OLD NEW``: the review report of two API documents (example files), and the gate's state."""

    required_arguments = 2

    def run(self):
        from .. import apidiff, jsonfile
        from .nodes_util import table
        old_path, new_path = self.path(self.arguments[0]), self.path(self.arguments[1])
        for path in (old_path, new_path, self.spec.root / api.RELEASES):
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
            version, released = api.released_document(self.spec)
            current = api.bundled(self.spec)
        except ProblemError as exc:
            self.fail([str(p) for p in exc.problems])
            return out
        now = apidiff.compare(released, current)
        late = apidiff.unannounced(now, released, current)
        out.append(para(f"The gate today: this document against its last released state, API {version} "
                        f"(`{api.RELEASES}`): {len(now)} change(s), {len(late)} unannounced."))
        if late:
            self.fail([f"{api.RELEASES}: unannounced API change: {c.where}: {c.check}" for c in late])
        return out


def setup(app) -> None:
    app.add_directive("imgspec-openapi", OpenApiDirective)
    app.add_directive("imgspec-api-diff", ApiDiffDirective)
