"""One problem found in a file: the unit every check in imgspec reports.

A problem prints as one line: ``FILE[:LINE]: POINTER: RULE: MESSAGE``.  ``RULE``
is a JSON Schema keyword (``maxLength``, ``required``...) or one of imgspec's own
rules (``duplicate-key``, ``malformed-json``, ``unknown-version``...).
"""
from __future__ import annotations

from dataclasses import dataclass

from imgspec.pointer import render

MAX_MESSAGE = 240


pointer_from_parts = render  # the JSON pointer (RFC 6901) of a path given as keys and indexes


def shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    """A message on one line, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    pointer: str
    rule: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.pointer or '(root)'}: {self.rule}: {shorten(self.message)}"


class ProblemError(Exception):
    """An error that carries one or more problems; ``str()`` is one line per problem.

    Its exit status (:attr:`status`) is the one its rules carry (:func:`exit_status`), unless the raiser knows
    better: an export refused for its records read the database, so it is 1 whatever rules the records break.
    Raised as ``ProblemError(...)``, it is made one of its two kinds by that status, so that a caller can
    catch either: :class:`UnusableInput` (2: the input could not be used at all) or :class:`InvalidInput`
    (1: it was read, and breaks a rule)."""

    def __new__(cls, problems=(), status: int | None = None):
        if cls is ProblemError:
            found = [problems] if isinstance(problems, Problem) else list(problems)
            cls = UnusableInput if (status if status is not None else exit_status(found)) == UNUSABLE \
                else InvalidInput
        return super().__new__(cls)

    def __init__(self, problems, status: int | None = None):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        self._status = status
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self):  # across processes as it was raised, not rebuilt from its text
        return type(self), (self.problems, self._status)

    @property
    def status(self) -> int:
        return self._status if self._status is not None else exit_status(self.problems)


class UnusableInput(ProblemError):
    """Problems of an input that could not be used at all: unreadable, not JSON, an unknown version, a
    database of no known revision... (exit status 2)."""

    def __init__(self, problems, status: int | None = None):
        super().__init__(problems, UNUSABLE if status is None else status)


class InvalidInput(ProblemError):
    """Problems of an input that was read and breaks a rule of the format (exit status 1)."""

    def __init__(self, problems, status: int | None = None):
        super().__init__(problems, INVALID if status is None else status)


def mismatch(name: str, expected: dict, found: list[Problem]) -> list[str]:
    """Why ``found`` is not exactly the one problem an invalid example's expectation names (empty when it is)."""
    if [(p.pointer, p.rule) for p in found] == [(expected["pointer"], expected["rule"])]:
        return []
    want = f"{expected['pointer'] or '(root)'}: {expected['rule']}"
    if not found:
        return [f"{name}: {want}: expected this error, but the example is valid"]
    return [f"{name}: expected only {want}, got: " + "; ".join(
        f"{p.pointer or '(root)'}: {p.rule}: {p.message}" for p in found)]


# The exit status of a command that found problems: 2 when an input could not be used at all (one of these
# rules), 1 when it was read but breaks a rule.
OK, INVALID, UNUSABLE = 0, 1, 2
UNUSABLE_RULES = {"encrypted-location", "decrypt-failed",
                  "malformed-json", "not-utf8", "not-json", "unreadable", "max-size", "max-depth",
                  "erratum-base-unknown", "unknown-profile", "duplicate-key", "non-finite-number", "unknown-version",
                  "unknown-kind", "newer-store",
                  "newer-record", "upgrade-in-progress", "deployment-setting-missing", "install-time-rule",
                  "store-not-upgraded", "store-manifest-inconsistent", "usage", "correction-refused",
                  "downgrade-refused", "missing-step", "not-a-version", "not-a-schema", "command-not-found",
                  "unknown-revision", "rolling-upgrade", "layout-mismatch", "unusable-database", "out-not-empty",
                  "missing-dependency", "unwritable", "upgrade-running", "store-upgraded", "timeout", "unreachable",
                  "bad-response", "empty-selection", "broken-ref", "ref-depth",
                  "needs-checkout"}


def exit_status(problems: list[Problem]) -> int:
    """2 when any input could not be used at all, 1 when it was read but breaks a rule."""
    return UNUSABLE if any(p.rule in UNUSABLE_RULES for p in problems) else INVALID
