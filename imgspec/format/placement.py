"""Who keeps which copies: the semantic rules of a placement policy (format 2.4 and later).

JSON Schema checks the shape of a policy; these rules check its meaning.  For each
scope, copies *within a site* and copies *across sites*, exactly one party owns
replication: the image service (one location per copy) or the store (replicating a
location's data by itself).  A policy or record where both or neither do is refused.

Rules (each problem names its pointer):

within-site-both      the image service owns the scope, but a store also keeps replicas
within-site-neither   the store owns the scope, but a store keeps fewer replicas than asked
across-sites-both     the image service owns the scope, but a store spans sites; or a record
                      has locations in several sites of a store that spans them
across-sites-neither  several sites but nobody copies between them; or a record's copies
                      are in fewer sites than the policy asks
single-site           one site only: nobody copies across sites (owner none, copies 1)
duplicate-store       a store id appears twice
unknown-store         a location's store is not in the policy
wrong-site            a location's site is not its store's site
"""
from __future__ import annotations

from collections import Counter

from imgspec.problems import Problem

RULES = {
    "within-site-both": "The image service owns replicas within a site, but a store also keeps more than one replica.",
    "within-site-neither": "The store owns replicas within a site, but keeps fewer than the copies asked (or a "
                           "record has fewer copies in a site than the image service must make).",
    "across-sites-both": "The image service copies between sites, but a store also spans sites (or a record has "
                         "copies in several sites of a store that copies between them).",
    "across-sites-neither": "Several sites, and nobody copies between them (or a record has copies in fewer sites "
                            "than asked).",
    "single-site": "A deployment of one site: across_sites must be owner none, copies 1.",
    "too-many-copies": "More copies across sites than there are sites.",
    "duplicate-store": "A store id is declared twice.",
    "unknown-store": "A record's location names a store the policy does not have.",
    "wrong-site": "A record's location names a site that is not its store's site.",
}


def _stores(policy: dict):
    for i, site in enumerate(policy["sites"]):
        for j, store in enumerate(site["stores"]):
            yield f"/sites/{i}/stores/{j}", site["name"], store


def check_policy(policy: dict, source: str = "<policy>", at: str = "") -> list[Problem]:
    out: list[Problem] = []

    def bad(pointer, rule, message):
        out.append(Problem(source, at + pointer, rule, message))

    seen: set[str] = set()
    for pointer, _, store in _stores(policy):
        if store["id"] in seen:
            bad(pointer + "/id", "duplicate-store", f"store {store['id']!r} is declared again")
        seen.add(store["id"])
    within, across = policy["within_site"], policy["across_sites"]
    for pointer, _, store in _stores(policy):
        if within["owner"] == "image-service" and store["replicas"] > 1:
            bad(pointer + "/replicas", "within-site-both",
                f"the image service owns replicas within a site, but store {store['id']!r} also keeps "
                f"{store['replicas']} replicas")
        if within["owner"] == "store" and store["replicas"] < within["copies"]:
            bad(pointer + "/replicas", "within-site-neither",
                f"the store owns replicas within a site, but store {store['id']!r} keeps {store['replicas']} "
                f"of the {within['copies']} copies asked: nobody makes the rest")
    sites = len(policy["sites"])
    spanning = [(p, s) for p, _, s in _stores(policy) if s["spans_sites"]]
    if sites == 1:
        if across["owner"] != "none" or across["copies"] != 1:
            bad("/across_sites", "single-site", "a deployment of one site copies nothing across sites: "
                "across_sites must be {owner: none, copies: 1}")
        return out
    if across["owner"] == "none":
        bad("/across_sites/owner", "across-sites-neither", f"{sites} sites, but nobody copies data between them")
    elif across["owner"] == "image-service":
        for pointer, store in spanning:
            bad(pointer + "/spans_sites", "across-sites-both",
                f"the image service copies between sites, but store {store['id']!r} also spans sites")
        if across["copies"] < 2:
            bad("/across_sites/copies", "across-sites-neither",
                "the image service owns copies across sites but is asked for a single copy")
        if across["copies"] > sites:
            bad("/across_sites/copies", "too-many-copies", f"{across['copies']} copies asked across {sites} sites")
    elif across["owner"] == "store" and not spanning:
        bad("/across_sites/owner", "across-sites-neither",
            "the store is said to copy between sites, but no store spans sites")
    return out


def check_record(record: dict, policy: dict, source: str = "<record>") -> list[Problem]:
    """The copies an image record keeps, against the policy (active images only)."""
    out: list[Problem] = []
    if record.get("status") != "active" or record.get("deleted"):
        return out
    stores = {store["id"]: (site, store) for _, site, store in _stores(policy)}
    per_site: Counter = Counter()
    spanning_sites = set()
    for i, loc in enumerate(record.get("locations", [])):
        if loc.get("deleted") or loc.get("status", "active") != "active":
            continue
        sid = loc.get("metadata", {}).get("store")
        if sid not in stores:
            out.append(Problem(source, f"/locations/{i}/metadata/store", "unknown-store",
                               f"store {sid!r} is not in the placement policy"))
            continue
        site, store = stores[sid]
        if loc.get("site") not in (None, site):
            out.append(Problem(source, f"/locations/{i}/site", "wrong-site",
                               f"store {sid!r} is in site {site!r}, not {loc['site']!r}"))
        per_site[site] += 1
        if store["spans_sites"]:
            spanning_sites.add(site)
    within, across = policy["within_site"], policy["across_sites"]
    for site, count in sorted(per_site.items()):
        if within["owner"] == "store" and count > 1:
            out.append(Problem(source, "/locations", "within-site-both",
                               f"{count} copies in site {site!r}, whose store replicates by itself"))
        if within["owner"] == "image-service" and count < within["copies"]:
            out.append(Problem(source, "/locations", "within-site-neither",
                               f"{count} of {within['copies']} copies in site {site!r}: nobody makes the rest"))
    if across["owner"] == "image-service" and len(per_site) < across["copies"]:
        out.append(Problem(source, "/locations", "across-sites-neither",
                           f"copies in {len(per_site)} of the {across['copies']} sites asked"))
    if across["owner"] == "store" and len(per_site) > 1 and spanning_sites:
        out.append(Problem(source, "/locations", "across-sites-both",
                           f"copies written in {len(per_site)} sites, though the store copies between sites"))
    return out
