"""The sizing page's figures, computed at build time (``imgspec.sizing``), never typed."""
from __future__ import annotations

import itertools
import json

from .. import sizing
from .base import SpecDirective
from .nodes_util import para, table


def pct(value: float) -> str:
    return "0.0%" if abs(value) < 0.05 else f"{value:+.1f}%"


class SizingDirective(SpecDirective):
    """Per-version metadata cost, the growth sentences, and the reference deployment's totals."""

    def run(self):
        spec = self.spec
        dist_path = spec.schemas / "sizing" / "distributions.json"
        dep_path = spec.schemas / "sizing" / "deployment.json"
        for p in (dist_path, dep_path):
            self.shown(p)
        dist = spec.load(dist_path)
        sizes = [sizing.VersionSize.of(v, recs) for v, recs in sizing.corpus(spec, dist).items()]
        out = [para(f"Computed from {dist['images']:,} images generated from `schemas/sizing/distributions.json` "
                    f"(seed {dist['seed']}); bytes are those of the record file imgspec writes.")]
        rows, prev = [], None
        for s in sizes:
            rows.append([s.version, f"{s.mean:,.0f}", f"{s.median:,.0f}", f"{s.p95:,.0f}",
                         pct(sizing.growth(prev, s)) if prev else ""])
            prev = s
        out.append(table(["Version", "Mean bytes per image", "Median", "95th percentile", "Change from the previous version"],
                         rows, [8, 12, 10, 10, 14]))
        items = []
        for a, b in itertools.pairwise(sizes):
            g = sizing.growth(a, b)
            verb = "adds about" if g >= 0.05 else "removes about" if g <= -0.05 else "changes by less than 0.1% of"
            amount = "" if verb.startswith("changes") else f" {abs(g):.1f}%"
            items.append(para(f"Upgrading from {a.version} to {b.version} {verb}{amount} metadata per image "
                              f"({a.mean:,.0f} → {b.mean:,.0f} bytes on average)."))
        out += items
        first, last = sizes[0], sizes[-1]
        out.append(para(f"From {first.version} to {last.version} in all: {pct(sizing.growth(first, last))} metadata per image."))
        dep = spec.load(dep_path)
        policy_path = spec.root / dep["placement"]
        self.shown(policy_path)
        policy = spec.load(policy_path)
        copies = sizing.physical_copies(policy)
        out.append(para(f"The reference deployment (`schemas/sizing/deployment.json`): {dep['images']:,} images of "
                        f"{sizing.human(dep['average_data_bytes'])} on average, placed by `{dep['placement']}`: "
                        f"{policy['within_site']['copies']} copies within a site × {policy['across_sites']['copies']} "
                        f"sites = {copies} physical copies of each image's data."))
        rows = []
        for s in sizes:
            meta = dep["images"] * s.mean
            total = sizing.total_bytes(dep["images"], dep["average_data_bytes"], copies, s.mean)
            rows.append([s.version, sizing.human(meta), sizing.human(total), f"{meta / total:.6%}"])
        out.append(table(["Version", "Metadata", "Total storage (data × copies + metadata)", "Metadata share"],
                         rows, [8, 12, 20, 10]))
        out.append(para("The distributions behind the corpus:"))
        text = json.dumps({k: v for k, v in dist.items() if k != "$comment"}, indent=1)
        from docutils import nodes
        out.append(nodes.literal_block(text, text, language="json"))
        return out


def setup(app) -> None:
    app.add_directive("imgspec-sizing", SizingDirective)
