"""The sizing page's figures, computed at build time (``imgspec.sizing``) or measured by ``make sizing``, never typed."""
from __future__ import annotations

import itertools
import json

from docutils import nodes

from .. import corpus as corpus_mod
from .. import sizing
from .base import SpecDirective
from .nodes_util import para, table

ENGINE_TITLES = {"sqlite": "SQLite", "mariadb": "MariaDB (InnoDB)", "postgresql": "PostgreSQL"}


def pct(value: float) -> str:
    return "0.0%" if abs(value) < 0.05 else f"{value:+.1f}%"


class SizingDirective(SpecDirective):
    """Measured metadata per version and engine, what each step adds, the reference deployment's storage."""

    def run(self):
        spec = self.spec
        paths = {name: spec.schemas / "sizing" / f"{name}.json" for name in ("distributions", "deployment", "measured")}
        for p in paths.values():
            self.shown(p)
        dist = corpus_mod.distributions(spec)
        dep = spec.load(paths["deployment"])
        data = spec.load(paths["measured"])
        records = sizing.corpus(spec, dist)
        if data["images"] != dist["images"] or data["seed"] != dist["seed"]:
            self.fail([f"{spec.rel(paths['measured'])}: measured on {data['images']} images (seed {data['seed']}), but "
                       f"the corpus is {dist['images']} (seed {dist['seed']}): run `make sizing`"])
        json_sizes = {v: sizing.VersionSize.of(v, recs) for v, recs in records.items()}
        engines = [e["engine"] for e in data["engines"]]
        per = {e: sizing.measured_per_image(spec, e) for e in engines}
        eras = {era["version"]: era for era in data["engines"][0]["eras"]}
        out = [para(f"Measured by `make sizing` on {data['images']:,} images generated from "
                    f"`schemas/sizing/distributions.json` (seed {data['seed']}), loaded into each era's Glance tables; "
                    "bytes of the image tables and their indexes as each engine reports them (engine versions below). "
                    "The JSON column is the record file imgspec writes, computed when this page is built.")]
        rows = [[v, eras[v]["layout"], *[f"{per[e][v]:,.0f}" for e in engines], f"{json_sizes[v].mean:,.0f}"]
                for v in spec.versions]
        out.append(table(["Version", "Glance layout", *[f"{ENGINE_TITLES[e]} B/image" for e in engines], "JSON record B"],
                         rows, [8, 12, *[12] * len(engines), 10]))
        out.append(para("How each era's tables were made: " + "; ".join(
            f"{v}: {eras[v]['schema']}" for v in spec.versions) + "."))
        rows = []
        for a, b in itertools.pairwise(spec.versions):
            cells = [f"{per[e][b] - per[e][a]:+,.0f} ({pct((per[e][b] / per[e][a] - 1) * 100)})" for e in engines]
            js = json_sizes
            rows.append([f"{a} → {b}", *cells, f"{js[b].mean - js[a].mean:+,.0f} ({pct(sizing.growth(js[a], js[b]))})"])
        out.append(para(nodes.strong(text="What each upgrade step adds per image"), " (bytes, and as a share of the "
                        "metadata before it):"))
        out.append(table(["Step", *titles(engines), "JSON record"], rows, [8, *[14] * len(engines), 14]))
        policy_path = spec.root / dep["placement"]
        self.shown(policy_path)
        policy = spec.load(policy_path)
        holding, average, deleted = sizing.data_profile(records[spec.latest_released])
        copies = sizing.physical_copies(policy)
        ref = dep["engine"]
        data_per_image = holding * average * copies
        for a, b in itertools.pairwise(spec.versions):
            added = per[ref][b] - per[ref][a]
            others = "; ".join(f"on {ENGINE_TITLES[e]} {pct((per[e][b] / per[e][a] - 1) * 100)} ({per[e][a]:,.0f} → "
                               f"{per[e][b]:,.0f} bytes, {abs(per[e][b] - per[e][a]) / data_per_image:.7%} of the data)"
                               for e in engines if e != ref)
            if abs(added) < 0.5:
                out.append(para(f"Upgrading from {a} to {b} leaves image metadata unchanged on {ENGINE_TITLES[ref]} "
                                f"({per[ref][b]:,.0f} bytes per image); {others}."))
                continue
            verb = "increases" if added > 0 else "decreases"
            out.append(para(
                f"Upgrading from {a} to {b} {verb} image metadata by about {abs(per[ref][b] / per[ref][a] - 1) * 100:.1f}% "
                f"on {ENGINE_TITLES[ref]} ({per[ref][a]:,.0f} → {per[ref][b]:,.0f} bytes per image), which is "
                f"{abs(added) / data_per_image:.7%} of the image data the reference deployment stores per image "
                f"({sizing.human(data_per_image)}); {others}."))
        out.append(para(
            f"The reference deployment (`schemas/sizing/deployment.json`): {dep['images']:,} images on "
            f"{ENGINE_TITLES[ref]}; {holding:.1%} of them hold data (active, deactivated, or pending_delete until the "
            f"scrubber runs), {sizing.human(average)} on average (the corpus' mean: one source), placed by "
            f"`{dep['placement']}`: {policy['within_site']['copies']} copies within a site × "
            f"{policy['across_sites']['copies']} sites = {copies} physical copies; {deleted:.1%} of the images are "
            f"soft-deleted, their rows kept until `glance-manage db purge`; {dep['concurrent_imports']} imports at "
            f"once in the staging store; an image cache of {sizing.human(dep['image_cache_max_size'])} on each of "
            f"{dep['api_nodes']} API nodes."))
        rows = []
        previous = None
        for v in spec.versions:
            st = sizing.storage(dep, policy, records[v], per[ref][v], previous)
            rows.append([v, sizing.human(st.data), sizing.human(st.metadata), sizing.human(st.soft_deleted_metadata),
                         sizing.human(st.upgrade_peak) if previous is not None else "",
                         sizing.human(st.staging), sizing.human(st.cache), sizing.human(st.total),
                         f"{st.metadata / st.total:.5%}"])
            previous = per[ref][v]
        out.append(table(["Version", "Data × copies", "Metadata", "of it soft-deleted", "Upgrade peak (extra)",
                          "Staging", "Image cache", "Total", "Metadata share"], rows, [6, 10, 9, 9, 10, 8, 9, 10, 8]))
        out.append(para("The upgrade peak is the room an upgrade to that version needs while it runs: a second copy of "
                        "the metadata (a store upgrade rewrites every record; a migration that rebuilds a table copies "
                        "it), given back when it ends."))
        out.append(para("Engines measured: " + "; ".join(f"{ENGINE_TITLES[e['engine']]} {e['version']}"
                                                           for e in data["engines"]) + "."))
        out.append(para("The distributions behind the corpus:"))
        text = json.dumps({k: v for k, v in spec.load(paths["distributions"]).items() if k != "$comment"}, indent=1)
        out.append(nodes.literal_block(text, text, language="json"))
        return out


def titles(engines: list[str]) -> list[str]:
    return [ENGINE_TITLES[e] for e in engines]


def setup(app) -> None:
    app.add_directive("imgspec-sizing", SizingDirective)
