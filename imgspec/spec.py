"""Where a spec tree's files are, and what they are.

A spec tree is a folder holding ``schemas/`` (and, in the repository, ``examples/``).
:class:`Spec` answers: which format versions exist, which schema file defines an
object at a version, which field exists since which version.  Everything is
read from files; nothing here restates a schema.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from imgspec import jsonfile
from imgspec.problems import Problem, ProblemError

BASE_URI = "https://imgspec.example/"
RECORD_KINDS = ("image", "location", "member", "tag", "store", "placement")


def version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except (AttributeError, ValueError):
        return (-1,)


def _default_root() -> Path:
    here = Path(__file__).resolve().parent
    packaged = resources.files("imgspec") / "schemas"
    if packaged.is_dir():  # an installed wheel carries schemas/ inside the package
        return Path(str(packaged)).parent
    return here.parent  # a source checkout: schemas/ beside the package


@dataclass(frozen=True)
class Release:
    version: str
    status: str  # "released" or "draft"
    title: str
    summary: str
    glance: str


class Spec:
    """A spec tree rooted at ``root`` (``root/schemas``, ``root/examples``)."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root).absolute() if root is not None else _default_root()  # --root t works from anywhere
        self.schemas = self.root / "schemas"
        self.examples = self.root / "examples"
        self._resolved_root = self.root.resolve()
        self._memo: dict[tuple, Any] = {}

    @classmethod
    @functools.cache
    def default(cls) -> Spec:
        """The spec tree this package was installed with (or the checkout it runs from)."""
        return cls()

    @property
    def packaged(self) -> bool:
        """Whether this is the tree an installed wheel carries (inside the package): read it, never change it."""
        return (self.root / "__init__.py").is_file() and (self.root / "schemas").is_dir()

    def writable(self, command: str) -> None:
        """Refuse (``needs-checkout``) a command that changes the spec tree, when the tree is the installed one."""
        if self.packaged:
            raise ProblemError(Problem(f"imgspec {command}", "", "needs-checkout",
                                       f"{command} changes the spec tree, and this one is the installed package's "
                                       f"({self.root}): run it in a checkout of imgspec, or give --root where one "
                                       "is taken"))

    def once(self, key: tuple, make: Callable[[], Any]) -> Any:
        """``make()``, computed once per spec tree and key (a failure is not remembered).

        The spec owns what is built from its files: each module keeps its product here (the registry,
        validators, upgrade steps, the SQL binding ...) under a key of its own, so nothing is cached
        outside the spec and nothing below imports what is built on it.
        """
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = make()
            return value

    def rel(self, path: Path | str) -> str:
        """``path`` as shown to people: relative to the spec root when inside it."""
        path = Path(path)
        try:
            return path.resolve().relative_to(self._resolved_root).as_posix()
        except ValueError:
            return str(path)
        except (RuntimeError, OSError):  # a symlink loop: named as it was given, its reader says what is wrong
            try:
                return Path(os.path.abspath(path)).relative_to(self._resolved_root).as_posix()
            except ValueError:
                return str(path)

    def load(self, path: Path | str):
        """A JSON file of the tree, read now (strictly)."""
        return jsonfile.load(self.root / path if not Path(path).is_absolute() else path,
                             display=self.rel(self.root / path))

    def load_once(self, path: Path | str):
        """A JSON file of the tree, read once: schemas and data files do not change while a spec is in use."""
        path = self.root / path
        try:
            key = path.resolve()
        except (RuntimeError, OSError):  # a symlink loop: not remembered, read now (and refused)
            return self.load(path)
        return self.once(("file", key), lambda: self.load(path))

    # -- versions -----------------------------------------------------------
    @functools.cached_property
    def releases(self) -> list[Release]:
        data = self.load("schemas/releases.json")
        out = [Release(r["version"], r["status"], r["title"], r["summary"], r["glance"]) for r in data["record"]]
        return sorted(out, key=lambda r: version_key(r.version))

    @functools.cached_property
    def versions(self) -> list[str]:
        return [r.version for r in self.releases]

    @property
    def latest(self) -> str:
        """The newest version, draft or released."""
        return self.versions[-1]

    @property
    def released(self) -> list[str]:
        """The released versions, oldest first (a draft is not one)."""
        return [r.version for r in self.releases if r.status == "released"]

    @property
    def latest_released(self) -> str:
        return self.released[-1]

    def release(self, version: str, asked_by: str = "the version asked for") -> Release:
        """The release of ``version``; ``unknown-version`` naming who asked (a flag, a function), not the releases
        file, which is right."""
        for r in self.releases:
            if r.version == version:
                return r
        raise ProblemError(Problem(asked_by, "", "unknown-version",
                                   f"format version {version!r} is not one of {', '.join(self.versions)}"))

    # -- schemas ------------------------------------------------------------
    def schema_path(self, kind: str, version: str) -> Path:
        self.release(version, f"the schema of {kind} at {version!r}")
        path = self.schemas / "record" / version / f"{kind}.json"
        if not path.is_file():
            raise ProblemError(Problem(self.rel(path), "", "unknown-kind",
                                       f"format {version} defines no {kind!r} object"))
        return path

    def kinds(self, version: str) -> list[str]:
        return [k for k in RECORD_KINDS if (self.schemas / "record" / version / f"{k}.json").is_file()]

    def schema_files(self) -> list[Path]:
        """JSON Schemas: the record and service schemas and every ``*.schema.json`` (the rest is data)."""
        record = set((self.schemas / "record").rglob("*.json")) | set((self.schemas / "service").rglob("*.json"))
        return sorted(record | set(self.schemas.rglob("*.schema.json")))

    def upgrade_files(self) -> list[Path]:
        return sorted((self.schemas / "upgrades").glob("*-*.json"))

    def schema(self, kind: str, version: str) -> dict:
        return self.once(("schema", kind, version), lambda: self.load_once(self.schema_path(kind, version)))

    def since(self, kind: str, field: str) -> str | None:
        """The first version whose ``kind`` schema has top-level property ``field``."""
        for v in self.versions:
            try:
                props = self.schema(kind, v).get("properties", {})
            except ProblemError:
                continue
            if field in props:
                return v
        return None

    def referenced(self, version: str, ref: str) -> tuple[str, dict]:
        """``(kind, schema)`` that a record schema's ``$ref`` names, resolved against the schema's ``$id`` as JSON
        Schema resolves it (a sibling file of the version's folder).  The one place a record schema's reference is
        followed outside the validator's registry (resolved once per version and reference)."""
        kind = self.once(("referenced", version, ref), lambda: self._referenced_kind(version, ref))
        return kind, self.schema(kind, version)

    def _referenced_kind(self, version: str, ref: str) -> str:
        base = f"{BASE_URI}schemas/record/{version}/"
        target = urljoin(base, ref)
        if not target.startswith(base) or "#" in target or "/" in target[len(base):]:
            raise ProblemError(Problem(f"schemas/record/{version}", "", "unsupported-ref",
                                       f"{ref}: a record schema references only sibling schemas of its version"))
        return target[len(base):].removesuffix(".json")

    def field_schema(self, version: str, pointer: str, kind: str = "image") -> dict | None:
        """The schema of the field a (``*``-wildcard) pointer names in ``kind`` at ``version``, or None."""
        node: dict | None = self.schema(kind, version)
        for token in pointer.split("/")[1:]:
            if node is None:
                return None
            if "$ref" in node and "properties" not in node and "items" not in node:
                node = self.referenced(version, node["$ref"])[1]
            if token == "*":
                node = node.get("items")
            else:
                node = node.get("properties", {}).get(token)
            if node is None:
                return None
        return node

    def mapping(self, name: str) -> dict:
        return self.load(f"schemas/mappings/{name}.json")
