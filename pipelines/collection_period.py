"""The collection period: the days Kolada's KKiK figures are still being published and corrected.

During it the Kolada sensor polls for changes and starts a refresh when there are any; outside it the
sensor is off. The dates are configuration, not code, because the network sets them each year:
``KKIK_COLLECTION_START`` and ``KKIK_COLLECTION_END``, both included, either as dates (``2025-09-01``,
one year's period) or as month-days (``09-01``, the same days every year; an end before the start runs over
the new year). Not set: no collection period, the sensor stays off.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pipelines.config import SettingsError

START_VARIABLE, END_VARIABLE = "KKIK_COLLECTION_START", "KKIK_COLLECTION_END"
#: Kolada's and the network's days are Swedish days.
TIMEZONE = ZoneInfo("Europe/Stockholm")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH_DAY = re.compile(r"\d{2}-\d{2}")


@dataclass(frozen=True)
class CollectionPeriod:
    """``start`` and ``end`` as written: ``YYYY-MM-DD`` (one period) or ``MM-DD`` (every year)."""

    start: str
    end: str

    def contains(self, day: dt.date) -> bool:
        if _DATE.fullmatch(self.start):
            return dt.date.fromisoformat(self.start) <= day <= dt.date.fromisoformat(self.end)
        month_day = f"{day:%m-%d}"
        if self.start <= self.end:
            return self.start <= month_day <= self.end
        return month_day >= self.start or month_day <= self.end  # over the new year

    def __str__(self) -> str:
        return f"{self.start} – {self.end}"

    @classmethod
    def from_env(cls) -> CollectionPeriod | None:
        """The configured period, or None when neither variable is set; a bad or half setting is an error."""
        start = os.environ.get(START_VARIABLE, "").strip()
        end = os.environ.get(END_VARIABLE, "").strip()
        if not start and not end:
            return None
        if not start or not end:
            missing = START_VARIABLE if not start else END_VARIABLE
            raise SettingsError(f"{missing} is not set: the collection period needs both {START_VARIABLE} "
                                f"and {END_VARIABLE}")
        for name, value in ((START_VARIABLE, start), (END_VARIABLE, end)):
            _check(name, value)
        if bool(_DATE.fullmatch(start)) != bool(_DATE.fullmatch(end)):
            raise SettingsError(f"{START_VARIABLE}={start!r} and {END_VARIABLE}={end!r} must both be dates "
                                "(YYYY-MM-DD) or both month-days (MM-DD)")
        if _DATE.fullmatch(start) and start > end:
            raise SettingsError(f"{END_VARIABLE}={end!r} is before {START_VARIABLE}={start!r}")
        return cls(start, end)


def _check(name: str, value: str) -> None:
    try:
        if _DATE.fullmatch(value):
            dt.date.fromisoformat(value)
        elif _MONTH_DAY.fullmatch(value):
            dt.date.fromisoformat(f"2024-{value}")  # a leap year: 02-29 is a day
        else:
            raise ValueError
    except ValueError:
        raise SettingsError(f"{name} must be a date (YYYY-MM-DD) or a month-day (MM-DD), not {value!r}") from None


def today() -> dt.date:
    """Today in Sweden."""
    return dt.datetime.now(TIMEZONE).date()
