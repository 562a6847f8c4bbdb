"""The sizing page's figures, computed at build time (``imgspec.sizing``) or measured by ``make sizing``, never typed."""
from __future__ import annotations

import itertools
import json

from docutils import nodes
from docutils.parsers.rst import directives as rst

from imgspec.sizing import corpus as corpus_mod
from imgspec.sizing import storage as sizing
from imgspec.sphinxext.base import SpecDirective
from imgspec.sphinxext.nodes_util import para, table

ENGINE_TITLES = {"sqlite": "SQLite", "mariadb": "MariaDB (InnoDB)", "postgresql": "PostgreSQL"}


def pct(value: float) -> str:
    return "0.0%" if abs(value) < 0.05 else f"{value:+.1f}%"


def delta(added: float, before: float) -> str:
    """Bytes added per image, with the share of what was there: "+3,244 (+85.2%)"; "±0" for less than a byte."""
    if abs(added) < 0.5:
        return "±0"
    share = added / before * 100
    return f"{added:+,.0f}" + (f" ({share:+.1f}%)" if abs(share) >= 0.05 else "")


def svg_lines(series: dict[str, list[float]], labels: list[str], unit: str) -> str:
    """A line chart as inline SVG (no plotting library for six points a line): one line per series."""
    width, height, left, bottom, top, right = 640, 260, 64, 36, 16, 150
    peak = max(max(v) for v in series.values())
    step = 10 ** (len(str(int(peak))) - 1)
    ymax = (int(peak // step) + 1) * step
    x = [left + i * (width - left - right) / (len(labels) - 1) for i in range(len(labels))]

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - v / ymax)
    parts = [f'<svg class="imgspec-plot" viewBox="0 0 {width} {height}" role="img" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{unit} per version and engine</title>']
    for i in range(0, 5):
        v = ymax * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:,.0f}</text>')
    for xi, label in zip(x, labels, strict=True):
        parts.append(f'<text x="{xi:.1f}" y="{height - bottom + 18}" text-anchor="middle">{label}</text>')
    for n, (name, values) in enumerate(series.items()):
        points = " ".join(f"{xi:.1f},{y(v):.1f}" for xi, v in zip(x, values, strict=True))
        parts.append(f'<polyline points="{points}" class="line{n}"/>')
        parts.append(f'<text x="{x[-1] + 8:.1f}" y="{y(values[-1]) + 4:.1f}" class="label{n}">{name}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _compact_json(data: dict) -> str:
    """A flat JSON object one key a line, each value on its line (the distributions read as a table)."""
    lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in data.items()]
    return "{\n" + ",\n".join(lines) + "\n}"


class SizingDirective(SpecDirective):
    """One quotable sentence per step first; then the measured metadata per version and engine, a plot, what each
    step adds, and the reference deployment's storage (columns that never change said once, not repeated).
    With ``:summary:``, only the sentences (for the top of the page)."""

    option_spec = {"summary": rst.flag}

    def run(self):
        spec = self.spec
        paths = {name: spec.schemas / "sizing" / f"{name}.json" for name in ("distributions", "deployment", "measured")}
        for p in paths.values():
            self.shown(p)
        dist = corpus_mod.distributions(spec)
        dep = spec.load(paths["deployment"])
        data = spec.load(paths["measured"])
        records = spec.once(("sizing-corpus",), lambda: sizing.corpus(spec, dist))  # the summary and the tables: one corpus
        if data["images"] != dist["images"] or data["seed"] != dist["seed"]:
            self.fail([f"{spec.rel(paths['measured'])}: measured on {data['images']} images (seed {data['seed']}), but "
                       f"the corpus is {dist['images']} (seed {dist['seed']}): run `make sizing`"])
        json_sizes = {v: sizing.VersionSize.of(v, recs) for v, recs in records.items()}
        engines = [e["engine"] for e in data["engines"]]
        per = {e: sizing.measured_per_image(spec, e) for e in engines}
        eras = {era["version"]: era for era in data["engines"][0]["eras"]}
        ref = dep["engine"]
        policy_path = spec.root / dep["placement"]
        self.shown(policy_path)
        policy = spec.load(policy_path)
        holding, average, deleted = sizing.data_profile(records[spec.latest_released])
        copies = sizing.physical_copies(policy)
        images = dep["images"]
        rewritten = sizing.rewritten_shares(spec)
        stored = {v: sizing.storage(dep, policy, records[v], per[ref][v]) for v in spec.versions}

        sentences = nodes.bullet_list()
        for a, b in itertools.pairwise(spec.versions):
            item = nodes.list_item()
            item += para(self.sentence(a, b, per, engines, ref, images, stored[b].data, rewritten[b]))
            sentences += item
        if "summary" in self.options:
            return [nodes.rubric(text="In one sentence per step"), sentences]
        out: list[nodes.Node] = []

        out.append(para(f"Measured by `make sizing` on {data['images']:,} images generated from "
                        f"`schemas/sizing/distributions.json` (seed {data['seed']}), loaded into each era's Glance "
                        "tables; bytes of the image tables and their indexes as each engine reports them (engine "
                        "versions below). The JSON column is the record file imgspec writes, computed when this page "
                        "is built."))
        rows = [[v, eras[v]["layout"], *[f"{per[e][v]:,.0f}" for e in engines], f"{json_sizes[v].mean:,.0f}"]
                for v in spec.versions]
        out.append(table(["Version", "Glance layout", *[f"{ENGINE_TITLES[e]} B/image" for e in engines],
                          "JSON record B"], rows, [8, 12, *[12] * len(engines), 10]))
        chart = svg_lines({ENGINE_TITLES[e]: [per[e][v] for v in spec.versions] for e in engines}
                          | {"JSON record": [json_sizes[v].mean for v in spec.versions]}, list(spec.versions),
                          "Bytes per image")
        out.append(nodes.raw("", chart, format="html"))
        out.append(para("How each era's tables were made: " + "; ".join(
            f"{v}: {eras[v]['schema']}" for v in spec.versions) + "."))
        rows = []
        for a, b in itertools.pairwise(spec.versions):
            rows.append([f"{a} → {b}", *[delta(per[e][b] - per[e][a], per[e][a]) for e in engines],
                         delta(json_sizes[b].mean - json_sizes[a].mean, json_sizes[a].mean), f"{rewritten[b]:.0%}"])
        out.append(para(nodes.strong(text="What each upgrade step adds per image"), " (bytes, and as a share of the "
                        "metadata before it), and the share of records a store rewrites for it (those an install-time "
                        "or first-use rule changes; read-time rules are never written):"))
        out.append(table(["Step", *titles(engines), "JSON record", "Records rewritten"], rows,
                         [8, *[13] * len(engines), 13, 10]))

        out.append(para(
            f"The reference deployment (`schemas/sizing/deployment.json`): {images:,} images; {holding:.1%} of them "
            f"hold data (active, deactivated, or pending_delete until the scrubber runs), {sizing.human(average)} on "
            f"average (the corpus' mean: one source), placed by `{dep['placement']}`: "
            f"{policy['within_site']['copies']} copies within a site × {policy['across_sites']['copies']} sites = "
            f"{copies} physical copies; {deleted:.1%} of the images are soft-deleted, their rows kept until "
            f"`glance-manage db purge`; {dep['concurrent_imports']} imports at once in the staging store; an image "
            f"cache of {sizing.human(dep['image_cache_max_size'])} on each of {dep['api_nodes']} API nodes."))
        first = stored[spec.versions[0]]
        out.append(para(f"At every version it stores {sizing.human(first.data)} of image data (× copies), "
                        f"{sizing.human(first.staging)} of staging and {sizing.human(first.cache)} of image cache; "
                        "its metadata, by engine, and the room an upgrade to each version needs while it runs:"))
        rows = []
        previous = None
        for v in spec.versions:
            cells = [v]
            for e in engines:
                st = sizing.storage(dep, policy, records[v], per[e][v])
                cells.append(f"{sizing.human(st.metadata)} ({sizing.human(st.soft_deleted_metadata)} soft-deleted)")
            if previous is None:
                cells.append("")
            else:
                peak = sizing.storage(dep, policy, records[v], per[ref][v], per[ref][previous],
                                      rewritten[v]).upgrade_peak
                cells.append(sizing.human(peak) if peak else "none: nothing is rewritten")
            rows.append(cells)
            previous = v
        out.append(table(["Version", *[f"Metadata on {ENGINE_TITLES[e]}" for e in engines],
                          f"Upgrade peak on {ENGINE_TITLES[ref]}"], rows, [7, *[22] * len(engines), 18]))
        out.append(para("The upgrade peak is a second copy of the metadata of the records the step rewrites (a store "
                        "upgrade writes each new record beside the old until it replaces it), given back when the "
                        "upgrade ends. Glance's own migrations need what its engine needs for an UPDATE of those rows "
                        "(or, on SQLite, for the table it rebuilds to drop a column)."))
        out.append(para("Engines measured: " + "; ".join(f"{ENGINE_TITLES[e['engine']]} {e['version']}"
                                                           for e in data["engines"]) + "."))
        out.append(para("The distributions behind the corpus:"))
        text = _compact_json({k: v for k, v in spec.load(paths["distributions"]).items() if k != "$comment"})
        out.append(nodes.literal_block(text, text, language="json"))
        return out

    @staticmethod
    def sentence(a: str, b: str, per: dict, engines: list[str], ref: str, images: int, data: float,
                 rewritten: float) -> str:
        """The one line an operator quotes for a step: bytes per image on the reference engine, the others, the
        deployment's total beside its data, and what a store rewrites."""
        added = per[ref][b] - per[ref][a]
        others = ", ".join(f"{ENGINE_TITLES[e]} {delta(per[e][b] - per[e][a], per[e][a])}"
                           for e in engines if e != ref)
        rewrite = ("a store rewrites every record" if rewritten >= 0.995 else
                   f"a store rewrites {rewritten:.0%} of its records" if rewritten else "a store rewrites nothing")
        if all(abs(per[e][b] - per[e][a]) < 8 for e in engines):
            return (f"{a} → {b} changes no measurable metadata (under 8 bytes per image on every engine: "
                    f"{ENGINE_TITLES[ref]} {delta(added, per[ref][a])}, {others}); {rewrite}.")
        verb = "adds" if added > 0 else "saves"
        share = f" ({added / per[ref][a] * 100:+.1f}%)"
        return (f"{a} → {b} {verb} {abs(added):,.0f} bytes{share} of metadata per image on {ENGINE_TITLES[ref]} "
                f"({others}): {sizing.human(abs(added) * images)} for the reference deployment's {images:,} images, "
                f"beside {sizing.human(data)} of image data; {rewrite}.")


def titles(engines: list[str]) -> list[str]:
    return [ENGINE_TITLES[e] for e in engines]


def setup(app) -> None:
    app.add_directive("imgspec-sizing", SizingDirective)
