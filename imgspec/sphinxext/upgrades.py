"""Directives that render upgrade steps from ``schemas/upgrades/*.json``."""
from __future__ import annotations

import json

from docutils import nodes

from imgspec import resources
from imgspec.format import contract
from imgspec.problems import ProblemError
from imgspec.release import vectorlock
from imgspec.sphinxext.base import SpecDirective
from imgspec.sphinxext.nodes_util import folded, para, table
from imgspec.upgrade import language, load_steps, vectors
from imgspec.upgrade.operations import describe
from imgspec.upgrade.rules import MODES


def field_modes(step) -> list[nodes.Node]:
    """The per-field table of a step: each rule's field, its mode and why, and what readers see meanwhile."""
    out: list[nodes.Node] = []
    for kind, rules in (("image", step.rules), ("store", step.store_rules)):
        rows = []
        for number, rule in enumerate(rules, 1):
            _, field, _ = describe(rule)
            rows.append([str(number), field, [nodes.strong(text=rule["mode"])], rule["mode_why"],
                         step.meanwhile(rule, number, kind, restate=False)])
        if rows:
            whose = "Record" if kind == "image" else "Store manifest"
            out.append(para(f"{whose} fields, {step.source} → {step.target}: when each changes, and what a "
                            f"{step.target} reader sees meanwhile (generated from the rules' modes):"))
            out.append(table(["#", "Field", "Mode", "Why this mode", f"What a {step.target} reader sees meanwhile"],
                             rows, [3, 14, 8, 35, 40]))
    return out


def rule_rows(rules: list[dict]) -> list[list]:
    """Each rule in words, its JSON folded beneath (the file's own text for the rule, pretty-printed)."""
    rows = []
    for i, rule in enumerate(rules, 1):
        kind, field, what = describe(rule)
        cell = nodes.container()
        cell += para(what)
        text = json.dumps({k: v for k, v in rule.items() if k not in ("why", "mode_why")}, indent=2)
        cell += folded("The rule's JSON", nodes.literal_block(text, text, language="json"))
        rows.append([str(i), kind, field, cell, rule["why"]])
    return rows


def lazy_text(step) -> str:
    blocking = step.rules_in("install-time") + step.rules_in("install-time", "store")
    if not blocking:
        return "yes: a store may be upgraded across it on first use (`imgspec upgrade-store --first-use`)"
    return ("no: install-time rule(s) " + ", ".join(str(n) for n, _ in blocking)
            + f" must be applied to every record before a {step.target} service serves")


class _StepsDirective(SpecDirective):
    def steps(self) -> dict | None:
        """The upgrade steps, or None when they cannot be read (each problem then fails the build)."""
        try:
            return load_steps(self.spec)
        except ProblemError as exc:
            self.fail([str(p) for p in exc.problems])
            return None


class UpgradeStepDirective(SpecDirective):
    """One step: its derived mode, its rules, the per-field modes and what readers see meanwhile."""

    required_arguments = 1

    def run(self):
        path = self.path(self.arguments[0])
        self.shown(path)
        self.shown(self.spec.schemas / "upgrades" / "step.schema.json")
        try:
            steps = {s.path.resolve(): s for s in load_steps(self.spec).values()}
        except ProblemError as exc:
            self.fail([str(p) for p in exc.problems])
            return []
        step = steps[path.resolve()]
        d = step.data
        counts = ", ".join(f"{len(step.rules_in(m)) + len(step.rules_in(m, 'store'))} {m}" for m in MODES
                           if step.rules_in(m) or step.rules_in(m, "store"))
        out = [table(["", ""], [
            ["From → to", f"{d['from']} → {d['to']}"],
            ["Mode", [nodes.strong(text=step.mode), nodes.Text(f" (the strictest of its rules: {counts})")]],
            ["Lazy upgrade across it", lazy_text(step)],
            ["Source", d["source"]],
            ["Rules file", [nodes.reference("", "", nodes.literal(text=self.spec.rel(path)),
                                            refuri=self.site_link(self.spec.rel(path)))]],
        ], [12, 60])]
        out.append(para("The rules, applied in this order (each rule's JSON, as the rules file holds it, one click "
                        "away):"))
        out.append(table(["#", "Kind", "Field", "What the upgrade does", "Why"], rule_rows(step.rules),
                         [3, 9, 16, 36, 36]))
        if step.irreversible:
            out.append(para("Where a revert cannot give back the exact input (the value itself is kept; the proof "
                            "holds every other member to an exact revert):"))
            out.append(table(["Member", "Why"], [[f"`{d['path']}`", d["why"]] for d in step.irreversible], [20, 60]))
        if step.store_rules:
            out.append(para("The store manifest's rules, applied when a store is upgraded:"))
            out.append(table(["#", "Kind", "Field", "What the upgrade does", "Why"], rule_rows(step.store_rules),
                             [3, 9, 16, 36, 36]))
        return out + field_modes(step)


class UpgradeFieldsDirective(_StepsDirective):
    """On a version page: the per-field modes of the step that leads to that version."""

    required_arguments = 1

    def run(self):
        steps = self.steps()
        if steps is None:
            return []
        step = next((s for s in steps.values() if s.target == self.arguments[0]), None)
        if step is None:
            self.fail([f"no upgrade step leads to {self.arguments[0]}"])
            return []
        self.shown(step.path)
        link = nodes.reference("", "", nodes.Text(f"{step.source} → {step.target}"), internal=True,
                               refuri=self.site_link(f"format/upgrades/{step.source}-{step.target}.html"))
        return [para("Upgrade ", link, ": mode ", nodes.strong(text=step.mode), "; lazy upgrade across it: ",
                     lazy_text(step), "."), *field_modes(step)]


class UpgradeModesDirective(_StepsDirective):
    """Every step with its derived mode: the summary table of the upgrades page."""

    def run(self):
        steps = self.steps()
        if steps is None:
            return []
        rows = []
        for step in steps.values():
            self.shown(step.path)
            name = f"{step.source}-{step.target}"
            link = nodes.reference("", "", nodes.Text(f"{step.source} → {step.target}"), internal=True,
                                   refuri=self.site_link(f"format/upgrades/{name}.html"))
            per_mode = "; ".join(f"{m}: " + ", ".join(describe(r)[1] for _, r in step.rules_in(m) + step.rules_in(m, "store"))
                                 for m in MODES if step.rules_in(m) or step.rules_in(m, "store"))
            rows.append([[link], [nodes.strong(text=step.mode)], per_mode, lazy_text(step)])
        return [table(["Step", "Mode (strictest rule)", "Fields by mode", "Lazy upgrade across it"], rows,
                      [8, 8, 40, 30])]


class RuleLanguageDirective(SpecDirective):
    """The rule language: each term's normative text (from step.schema.json) and its worked examples."""

    def run(self):
        self.shown(self.spec.root / language.STEP_SCHEMA)
        try:
            terms = language.terms(self.spec)
        except ProblemError as exc:
            self.fail([str(p) for p in exc.problems])
            return []
        examples = [(path, self.spec.load(path)) for path in language.example_files(self.spec)]
        out: list[nodes.Node] = []
        for term in terms:
            section = nodes.section(ids=[f"term-{term.term}"], names=[f"term-{term.term}"])
            section += nodes.title(text=term.term)
            section += para(term.text, " (", nodes.literal(text=f"step.schema.json#{term.pointer}"), ")")
            mine = [(p, d) for p, d in examples if term.term in d["defines"]]
            if not mine:
                self.fail([f"{language.EXAMPLES}: the term {term.term!r} has no worked example"])
            for path, data in mine:
                self.shown(path)
                problems = [str(p) for p in language.check(self.spec, path)]
                if problems:
                    self.fail(problems)
                rel = self.spec.rel(path)
                section += para(nodes.strong(text="Example: "), data["about"], " (",
                                nodes.reference("", "", nodes.literal(text=rel), refuri=self.site_link(rel)), ")")
                shown = {k: data[k] for k in ("rule", "step", "before", "after", "refused") if k in data}
                text = "\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in shown.items())
                section += nodes.literal_block(text, text)
            out.append(section)
        return out


class VectorsDirective(SpecDirective):
    """Every conformance vector, each downloadable, with what it expects and what it covers."""

    def run(self):
        self.shown(self.spec.root / vectorlock.LOCK)
        problems = [str(p) for p in vectorlock.problems(self.spec)]
        problems += [str(p) for p in vectors.verdicts(self.spec, lambda data, to: vectors.run_reference(self.spec, data, to))]
        if problems:
            self.fail(problems)
        rows = []
        for path in vectors.files(self.spec):
            self.shown(path)
            rel = self.spec.rel(path)
            vec = self.spec.load(path)
            if "refused" in vec:
                r = vec["refused"]
                expect = f"refused: `{r['pointer'] or '(root)'}` {r['rule']} (exit {r['exit']})"
            else:
                expect = "read at " + ", ".join(vec["readings"])
            rows.append([[nodes.reference("", "", nodes.literal(text=rel.removeprefix(vectors.FOLDER + "/")),
                                          refuri=self.site_link(rel))], vec["description"], expect,
                         ", ".join(vec["covers"])])
        lock = vectorlock.LOCK
        return [para(f"{len(rows)} vectors (locks: ", nodes.reference("", "", nodes.literal(text=lock),
                                                                        refuri=self.site_link(lock)), "):"),
                table(["Vector", "Input", "Expected", "Covers"], rows, [22, 34, 18, 26])]


class ReaderContractDirective(SpecDirective):
    """The reader contract, from ``schemas/reader/contract.json``: limits, input, refusals in order, output."""

    def run(self):
        path = self.spec.root / contract.FILE
        self.shown(path)
        data = contract.load(self.spec)
        known = {self.spec.rel(p).removeprefix(vectors.FOLDER + "/").removesuffix(".json") for p in vectors.files(self.spec)}
        worked = {p.stem for p in (self.spec.examples / "rules").glob("*.json")}
        out = [para(nodes.strong(text="Limits"), " (", nodes.reference("", "", nodes.literal(text=contract.FILE),
                                                                       refuri=self.site_link(contract.FILE)), "):"),
               table(["Limit", "Value", "Applies to"],
                     [[f"`{name}`", f"{d['value']:,} {d['unit']}", d["applies"]] for name, d in data["limits"].items()],
                     [14, 16, 70])]
        out.append(para(nodes.strong(text="Input")))
        items = nodes.bullet_list()
        for text in data["input"]:
            items += nodes.list_item("", para(text))
        out.append(items)
        out.append(para(nodes.strong(text="Refusals, in the order they are checked. "), data["checks"]))
        rows = []
        for r in data["refusals"]:
            links: list = []
            for name in r.get("vectors", []):
                if name not in known:
                    self.fail([f"{contract.FILE}: /refusals: unknown-vector: {r['rule']} names {name}, which is no vector"])
                    continue
                rel = f"{vectors.FOLDER}/{name}.json"
                links.append(para(nodes.reference("", "", nodes.literal(text=name), refuri=self.site_link(rel))))
            for name in r.get("worked_examples", []):
                if name not in worked:
                    self.fail([f"{contract.FILE}: /refusals: unknown-example: {r['rule']} names {name}"])
                    continue
                links.append(para("worked example ", nodes.literal(text=name)))
            box = nodes.container()
            box.extend(links or [para("—")])
            rule = r["rule"] if r["rule"] == contract.SCHEMA_KEYWORD else f"`{r['rule']}`"
            rows.append([rule, str(r["exit"]), r["stage"], r["when"], r["pointer"], r["message"], box])
        out.append(table(["Rule", "Exit", "Stage", "When", "Pointer", "Message", "Vectors"], rows,
                         [12, 4, 8, 30, 14, 16, 16]))
        out.append(para(nodes.strong(text="Output")))
        items = nodes.bullet_list()
        for key in ("reading", "problems", "warnings"):
            items += nodes.list_item("", para(nodes.emphasis(text=key.capitalize() + ": "), data["output"][key]))
        out.append(items)
        out.append(para(nodes.strong(text="Dispatch. "), data["dispatch"]))
        out += self.resources(data["resources"])
        return out

    def resources(self, data: dict) -> list:
        """Failing resources, every command: the rule, what fails, when, and the bound with its value (from the code)."""
        rows = []
        for r in data["rows"]:
            bound = "—"
            if r["bound"]:
                if not hasattr(resources, r["bound"]):
                    self.fail([f"{contract.FILE}: /resources: unknown-bound: {r['rule']} names {r['bound']}, which "
                               "imgspec/resources.py does not define"])
                    continue
                bound = resources.shown(r["bound"])
            rows.append([f"`{r['rule']}`", str(r["exit"]), r["resource"], r["when"], bound])
        return [para(nodes.strong(text="Failing resources, every command. "), data["summary"]),
                table(["Rule", "Exit", "Resource", "When", "Bound"], rows, [14, 5, 14, 49, 18])]


def setup(app) -> None:
    app.add_directive("imgspec-upgrade-step", UpgradeStepDirective)
    app.add_directive("imgspec-upgrade-modes", UpgradeModesDirective)
    app.add_directive("imgspec-upgrade-fields", UpgradeFieldsDirective)
    app.add_directive("imgspec-rule-language", RuleLanguageDirective)
    app.add_directive("imgspec-vectors", VectorsDirective)
    app.add_directive("imgspec-reader-contract", ReaderContractDirective)
