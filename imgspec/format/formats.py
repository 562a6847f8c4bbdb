"""The ``format`` assertions of the record schemas, defined once and given to every validator imgspec runs.

Validators disagree on ``date-time`` (a year 0000, a lower-case ``t``, a leap second, an
offset without a colon), so the reference validator and the fast path both use this one
definition: RFC 3339 section 5.6 ``date-time``, with the calendar (proleptic Gregorian, so
0000 is a leap year) and leap seconds as the JSON-Schema-Test-Suite reads them (second 60
only at 23:59 UTC).
"""
from __future__ import annotations

import re
from collections.abc import Callable

_DATE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))\Z",
                        re.ASCII)


# The grammar of RFC 3339 section 5.6 date-time as a pattern, for schemas that state it (from 2.4 on): a validator
# that does not assert `format` then gives the same verdict on every string except a day the calendar lacks.
DATE_TIME_PATTERN = ("^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)"
                     "(\\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$")


def _days(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def date_time(value: object) -> bool:
    """Whether ``value`` is an RFC 3339 date-time (non-strings pass: ``format`` asserts on strings only)."""
    if not isinstance(value, str):
        return True
    m = _DATE_TIME.match(value)
    if not m:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    sign, oh, om = m.group(8), int(m.group(9) or 0), int(m.group(10) or 0)
    if not (1 <= month <= 12 and 1 <= day <= _days(year, month) and hour <= 23 and minute <= 59 and second <= 60
            and oh <= 23 and om <= 59):
        return False
    if second == 60:  # a leap second is the last second of a UTC day
        offset = (oh * 60 + om) * (1 if sign == "+" else -1) if sign else 0
        return (hour * 60 + minute - offset) % (24 * 60) == 23 * 60 + 59
    return True


# A pattern every string it matches is a date-time by :func:`date_time` (each month's days, Feb 29 left out, no
# leap second): the fast validator asserts it in native code instead of calling :func:`date_time` from Rust for
# every timestamp (half its time).  It may refuse a valid date-time (a Feb 29, a leap second): the fast verdict
# is "certainly valid" or "ask the reference validator", which then decides (imgspec.format.validation).
SURELY_DATE_TIME = ("^[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
                    "|(?:0[13578]|1[02])-31)[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]+)?"
                    "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$")
SURELY = {"date-time": SURELY_DATE_TIME}  # each format as a pattern its every match satisfies

FORMATS: dict[str, Callable[[object], bool]] = {"date-time": date_time}
PATTERNS: dict[str, str] = {"date-time": DATE_TIME_PATTERN}  # each format's grammar as a pattern (no calendar)
