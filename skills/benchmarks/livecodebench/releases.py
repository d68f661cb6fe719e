"""Release files and date-window splits (the reference's ``test_<release>_<YYMM>_<YYMM>`` names).

A release ``vN`` is the upstream files ``test.jsonl``, ``test2.jsonl`` ... ``testN.jsonl`` (each
release adds one file), read in that order. A split keeps the rows of a release whose contest date
(date part only) lies between the first day of the start month and the last day of the end month.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Tuple

from skills.config.errors import UsageError

VERSIONS = ("v1", "v2", "v3", "v4", "v5", "v6")
FILES = tuple("test.jsonl" if i == 1 else f"test{i}.jsonl" for i in range(1, len(VERSIONS) + 1))
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"  # upstream contest_date
_SPLIT = re.compile(r"test_(v\d+)_(\d{2})(\d{2})_(\d{2})(\d{2})")


def release_files(version: str) -> Tuple[str, ...]:
    """Files of release ``vN`` (also accepts ``release_vN``), oldest first."""
    tag = version[len("release_"):] if version.startswith("release_") else version
    if tag not in VERSIONS:
        raise UsageError(f"livecodebench: unknown release {version!r}; choose from {', '.join(VERSIONS)}")
    return FILES[: VERSIONS.index(tag) + 1]


def month_start(year_month: str) -> date:
    try:
        return datetime.strptime(year_month, "%Y-%m").date()
    except ValueError:
        raise UsageError(f"livecodebench: bad month {year_month!r}; expected YYYY-MM") from None


def month_end(year_month: str) -> date:
    first = month_start(year_month)
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


@dataclass(frozen=True)
class Split:
    release: str  # v1 .. v6
    start: date  # first day of the start month
    end: date  # last day of the end month

    @property
    def name(self) -> str:
        return f"test_{self.release}_{self.start:%y%m}_{self.end:%y%m}"

    @property
    def files(self) -> Tuple[str, ...]:
        return release_files(self.release)

    def contains(self, contest_date: str) -> bool:
        """Date part of an upstream ``contest_date`` within the window (both ends inclusive)."""
        try:
            day = datetime.strptime(contest_date, DATE_FORMAT).date()
        except (TypeError, ValueError):
            raise UsageError(f"livecodebench: contest_date {contest_date!r} is not {DATE_FORMAT}") from None
        return self.start <= day <= self.end

    @classmethod
    def from_months(cls, release: str, start: str, end: str) -> "Split":
        """The reference's ``--release_version vN --start_date YYYY-MM --end_date YYYY-MM``."""
        release_files(release)
        split = cls(release, month_start(start), month_end(end))
        if split.start > split.end:
            raise UsageError(f"livecodebench: start month {start} is after end month {end}")
        return split

    @classmethod
    def parse(cls, name: str) -> "Split":
        """``test_v5_2407_2412`` -> release v5, 2024-07-01 .. 2024-12-31."""
        match = _SPLIT.fullmatch(name)
        if not match:
            raise UsageError(f"livecodebench: split {name!r} is not test_<vN>_<YYMM>_<YYMM> "
                             "(e.g. test_v5_2407_2412)")
        release, y1, m1, y2, m2 = match.groups()
        return cls.from_months(release, f"20{y1}-{m1}", f"20{y2}-{m2}")
