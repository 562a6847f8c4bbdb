"""Deployment profiles: a deployment's quotas as an optional schema layer, never part of the format.

Glance limits how many custom properties, tags, members and locations an image may have by
configuration (``image_property_quota``, ``image_tag_quota``, ``image_member_quota``,
``image_location_quota`` in glance/common/config.py; a negative value means unlimited).  A record
over a quota is still a valid record: of a deployment configured otherwise.  A profile
(``schemas/profiles/<name>.json``) names quota settings; :func:`layer` turns them into a JSON
Schema checked on top of the record's own schema (``imgspec validate --profile NAME``).
"""
from __future__ import annotations

from jsonschema import Draft202012Validator

from imgspec.messages import problem
from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec

LIVE = {"type": "object", "properties": {"deleted": {"const": False}}, "required": ["deleted"]}

# quota setting -> (the image field it limits, how Glance counts: "all" entries or "live" ones)
QUOTAS: dict[str, tuple[str, str]] = {
    "image_property_quota": ("properties", "all"),
    "image_tag_quota": ("tags", "all"),
    "image_member_quota": ("members", "live"),
    "image_location_quota": ("locations", "live"),
}


def load(spec: Spec, name: str) -> dict:
    path = spec.schemas / "profiles" / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in (spec.schemas / "profiles").glob("*.json"))
        raise ProblemError(Problem(spec.rel(path), "", "unknown-profile",
                                   f"no deployment profile {name!r} (known: {', '.join(known)})"))
    return spec.load_once(path)


def _limit(field: str, counting: str, quota: int) -> dict:
    if field == "properties":
        return {"maxProperties": quota}
    if counting == "all":
        return {"maxItems": quota}
    return {"contains": LIVE, "minContains": 0, "maxContains": quota}


def layer(profile: dict) -> dict:
    """The JSON Schema a profile's quotas mean, checked on top of an image record's schema."""
    props = {}
    for setting, quota in profile["quotas"].items():
        field, counting = QUOTAS[setting]
        if quota >= 0:  # a negative quota is unlimited
            props[field] = _limit(field, counting, quota)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": f"Profile {profile['name']}",
            "properties": props}


def errors(doc, profile: dict, source: str = "<record>", line: int | None = None) -> list[Problem]:
    """Where an (otherwise valid) image record exceeds the profile's quotas."""
    validator = Draft202012Validator(layer(profile))
    return sorted(problem(e, source, line, f" (profile {profile['name']})") for e in validator.iter_errors(doc))
