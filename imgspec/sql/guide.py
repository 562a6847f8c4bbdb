"""The operator's upgrade guide, computed: which format each Glance release writes, what an upgrade between two
releases does to every record (in glance-manage's terms and in the format's), and what a value becomes across
several steps.

``schemas/bindings/glance-releases.json`` lists Glance's series with the revision their migrations end at; the
binding (``schemas/bindings/glance-sql.json``) reads each revision as a format version, and the upgrade rules
say what a record of one version becomes in the next.  Nothing here is typed twice: a series' format is looked
up, never written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec
from imgspec.sql import binding as sqlbinding
from imgspec.upgrade import upgrade
from imgspec.upgrade.rules import Step, chain, strictest

DATA = "schemas/bindings/glance-releases.json"


@dataclass(frozen=True)
class Series:
    name: str
    glance: str
    revision: str
    table: str
    layout: str
    format: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.glance})"


@dataclass(frozen=True)
class Upgrade:
    """Two consecutive series whose databases hold records of different format versions."""
    old: Series
    new: Series
    steps: list[Step]
    commands: list[str]
    glance: list[dict]  # what Glance's own migrations do, one entry per step

    @property
    def mode(self) -> str:
        return strictest(s.mode for s in self.steps)


def _layouts(spec: Spec) -> dict[tuple[str, str], str]:
    """(revision table, revision) -> layout name, from the binding."""
    out = {}
    for layout in sqlbinding.load(spec).layouts.values():
        for value in layout.revision["values"]:
            out[(layout.revision["table"], value)] = layout.name
    return out


def format_of_layout(spec: Spec, layout: str) -> str:
    """The format version the binding reads a layout as (its own version, not one it is read *via*)."""
    found = sqlbinding.load(spec).by_layout.get(layout)
    if found is None:
        raise ProblemError(Problem(sqlbinding.FILE, "/bindings", "unbound-layout", f"no version reads layout {layout}"))
    return found["version"]


def series(spec: Spec) -> list[Series]:
    """Glance's series, oldest first, each with its layout and the format version its database holds."""
    def make():
        layouts = _layouts(spec)
        out = []
        for i, s in enumerate(spec.load(DATA)["series"]):
            layout = layouts.get((s["table"], s["revision"]))
            if layout is None:
                raise ProblemError(Problem(DATA, f"/series/{i}/revision", "unknown-revision",
                                           f"{s['series']}: {s['table']} {s['revision']} is no layout of "
                                           f"{sqlbinding.FILE}"))
            out.append(Series(s["series"], s["glance"], s["revision"], s["table"], layout,
                              format_of_layout(spec, layout)))
        return out
    return spec.once(("guide-series",), make)


def commands(spec: Spec, name: str) -> list[str]:
    """The glance-manage commands that upgrade a database to series ``name``."""
    names = [s.name for s in series(spec)]
    at = names.index(name)
    for entry in spec.load(DATA)["commands"]:
        start = names.index(entry["since"])
        end = names.index(entry["until"]) if entry["until"] else len(names) - 1
        if start <= at <= end:
            return entry["run"]
    raise ProblemError(Problem(DATA, "/commands", "no-command", f"no command upgrades to {name}"))


def glance_steps(spec: Spec) -> dict[str, dict]:
    return {e["step"]: e for e in spec.load(DATA)["steps"]}


def upgrades(spec: Spec) -> list[Upgrade]:
    """Every pair of consecutive series whose format differs, with the steps between and what Glance does."""
    found = series(spec)
    told = glance_steps(spec)
    out = []
    for old, new in zip(found, found[1:], strict=False):
        if old.format == new.format:
            continue
        steps = chain(spec, old.format, new.format)
        out.append(Upgrade(old, new, steps, commands(spec, new.name),
                           [told[f"{s.source}-{s.target}"] for s in steps]))
    return out


def path(spec: Spec, old: str, new: str) -> list[Upgrade]:
    """The upgrades an operator meets going from series ``old`` to series ``new`` (one db sync runs them all)."""
    names = [s.name for s in series(spec)]
    lo, hi = names.index(old), names.index(new)
    return [u for u in upgrades(spec) if lo < names.index(u.new.name) <= hi]


def journey(spec: Spec, record: dict, to: str) -> list[tuple[Step, dict]]:
    """The record after each step on its way to ``to``."""
    out = []
    doc = record
    for step in chain(spec, record["format_version"], to):
        doc = upgrade(doc, step.target, spec)
        out.append((step, doc))
    return out


MATRIX = "schemas/bindings/glance-matrix.json"


@dataclass(frozen=True)
class ReleasePair:
    """Two consecutive series of the era matrix (its releases of each, as they ran): what an upgrade from the one to
    the other runs, which format versions its database holds meanwhile, and what the format change costs."""
    old: Series
    new: Series
    old_releases: list[str]
    new_releases: list[str]
    revisions: tuple[str, str]  # what the releases' own db_sync left (the matrix's measure)
    formats: tuple[str, str]  # how the binding reads those
    commands: list[str]  # the new series' glance-manage commands; the same when the revision stays
    steps: list[Step]
    windows: list[dict]  # the binding's rolling-upgrade windows between the two: what export-sql reads half-way

    @property
    def changes_tables(self) -> bool:
        return self.revisions[0] != self.revisions[1]


def _guide_series(spec: Spec, name: str) -> Series:
    """The guide's series of a matrix series name (``train``, ``2023_1``)."""
    wanted = name.lower().replace("_", ".")
    for s in series(spec):
        key = s.name.lower()
        if key == wanted or key.startswith(wanted + " "):
            return s
    raise ProblemError(Problem(MATRIX, "/releases", "unknown-series", f"series {name} is not in {DATA}"))


def _series_of(revision: str) -> str:
    """The series part of an alembic revision: ``2024_1`` of ``2024_1_expand01``."""
    return re.sub(r"_(expand|migrate|contract)\d+$", "", revision)


def windows_between(spec: Spec, old: str, new: str) -> list[dict]:
    """The binding's windows of an upgrade from revision ``old`` to ``new``: heads ``old`` and one of new's series."""
    return [w for w in sqlbinding.load(spec).data.get("windows", [])
            if old in w["heads"] and any(_series_of(h) == _series_of(new) for h in w["heads"])]


def release_pairs(spec: Spec) -> list[ReleasePair]:
    """Every pair of consecutive series the era matrix ran, from what each release's own db_sync left."""
    def make():
        by_series: dict[str, list[dict]] = {}
        for r in spec.load(MATRIX)["releases"]:
            if r.get("matrix"):
                by_series.setdefault(r["series"], []).append(r)
        out = []
        names = list(by_series)
        for old, new in zip(names, names[1:], strict=False):
            a, b = by_series[old], by_series[new]
            for group in (a, b):
                if len({r["matrix"]["revision"] for r in group}) != 1:
                    raise ProblemError(Problem(MATRIX, "/releases", "series-disagree",
                                               f"the releases of {group[0]['series']} leave different revisions"))
            fa, fb = a[-1]["matrix"]["format_version"], b[-1]["matrix"]["format_version"]
            ra, rb = a[-1]["matrix"]["revision"], b[-1]["matrix"]["revision"]
            out.append(ReleasePair(_guide_series(spec, old), _guide_series(spec, new),
                                   [r["release"] for r in a], [r["release"] for r in b], (ra, rb), (fa, fb),
                                   commands(spec, _guide_series(spec, new).name),
                                   chain(spec, fa, fb) if fa != fb else [],
                                   windows_between(spec, ra, rb) if ra != rb else []))
        return out
    return spec.once(("guide-release-pairs",), make)
