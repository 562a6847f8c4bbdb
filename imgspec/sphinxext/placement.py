"""Directives for the placement page: a policy as a responsibility table, and the semantic rules."""
from __future__ import annotations

from docutils import nodes

from imgspec.format import examples as ex
from imgspec.format import placement
from imgspec.sphinxext.base import SpecDirective, example_nodes
from imgspec.sphinxext.nodes_util import table

OTHER = {"image-service": "the store keeps one replica of each location",
         "store": "the image service writes one location for it",
         "none": "nothing is copied"}


class PlacementDirective(SpecDirective):
    """``imgspec-placement PATH``: who replicates what under one policy file (validated, shown)."""

    required_arguments = 1

    def run(self):
        example = self.example("a policy example is expected")
        problems = ex.verdict(self.spec, example)
        policy = self.spec.load(example.path)
        rows = []
        for scope, label in (("within_site", "Replicas within a site"), ("across_sites", "Copies across sites")):
            p = policy[scope]
            rows.append([label, [nodes.strong(text=p["owner"])], str(p["copies"]), OTHER[p["owner"]]])
        stores = [[site["name"], s["id"], s["type"], str(s["replicas"]), "yes" if s["spans_sites"] else "no"]
                  for site in policy["sites"] for s in site["stores"]]
        out = [table(["Scope", "Owner", "Copies", "The other party"], rows, [14, 10, 5, 30]),
               table(["Site", "Store", "Driver", "Replicas kept by the store", "Spans sites"], stores, [10, 12, 6, 10, 6])]
        out += example_nodes(self, example, problems)
        return out


class PlacementRulesDirective(SpecDirective):
    """The semantic rules the placement check enforces, from ``imgspec.format.placement.RULES``."""

    def run(self):
        return [table(["Rule", "Refused when"], [[f"`{k}`", v] for k, v in placement.RULES.items()], [12, 60])]


def setup(app) -> None:
    app.add_directive("imgspec-placement", PlacementDirective)
    app.add_directive("imgspec-placement-rules", PlacementRulesDirective)
