"""The staff reports' filters: which days, which category, which timeline bucket size."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from django.utils import timezone

Granularity = Literal["day", "hour"]

DEFAULT_DAYS = 30
MAX_DAYS = 366
MAX_HOURLY_DAYS = 14  # hourly buckets come from raw events: keep the range (and the chart) short


class PeriodError(ValueError):
    """The requested period or filter cannot be served; the message says why."""


# --- Period and filters --------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """An inclusive range of local days, an optional category and the timeline's bucket size."""

    start: date
    end: date
    category_id: int | None = None
    granularity: Granularity = "day"

    @property
    def start_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def end_at(self) -> datetime:
        """Exclusive: the first instant after the last day."""
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def query(self) -> dict[str, str]:
        """The query-string parameters that reproduce this period (for links and exports)."""
        params = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.category_id is not None:
            params["category"] = str(self.category_id)
        if self.granularity != "day":
            params["granularity"] = self.granularity
        return params


# Reports cover days between these bounds (the latest relative to today): a day far outside them
# holds no data, and date arithmetic near year 1 or 9999 overflows.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAYS_AHEAD = 366


def _parse_day(value: str | None, name: str, today: date) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise PeriodError(f"'{name}' must be a date as YYYY-MM-DD, not {value!r}.") from None
    latest = today + timedelta(days=LATEST_DAYS_AHEAD)
    if not EARLIEST_DAY <= day <= latest:
        raise PeriodError(f"'{name}' must lie between {EARLIEST_DAY} and {latest}, not {day}.")
    return day


def parse_period(params: Mapping[str, str], today: date | None = None) -> Period:
    """Read ``from``, ``to``, ``category`` and ``granularity`` from a query string.

    Defaults to the last 30 days; refuses reversed, over-long or unparseable input rather
    than guessing, so a figure never silently covers another period than the one asked.
    """
    today = today or timezone.localdate()
    end = _parse_day(params.get("to"), "to", today) or today
    start = _parse_day(params.get("from"), "from", today) or max(EARLIEST_DAY, end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise PeriodError("'from' must not be after 'to'.")
    if (end - start).days + 1 > MAX_DAYS:
        raise PeriodError(f"The period may cover at most {MAX_DAYS} days.")
    requested = params.get("granularity") or "day"
    if requested not in ("day", "hour"):
        raise PeriodError("'granularity' must be 'day' or 'hour'.")
    granularity: Granularity = "hour" if requested == "hour" else "day"
    if granularity == "hour" and (end - start).days + 1 > MAX_HOURLY_DAYS:
        raise PeriodError(f"An hourly timeline covers at most {MAX_HOURLY_DAYS} days.")
    category_id = None
    if params.get("category"):
        try:
            category_id = int(params["category"])
        except ValueError:
            raise PeriodError("'category' must be a category id.") from None
    return Period(start, end, category_id, granularity)


@dataclass(frozen=True)
class Comparison:
    """Two products (or one product twice) over two periods (or one period twice)."""

    product_a: int
    product_b: int
    period_a: Period
    period_b: Period


def _product_id(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise PeriodError(f"'{name}' must be a product id, not {raw!r}.")
    return int(raw)


def parse_comparison(params: Mapping[str, str], today: date | None = None) -> Comparison:
    """Read ``a`` and ``b`` (product ids; ``b`` defaults to ``a``), ``from``/``to`` (the first
    period) and ``from_b``/``to_b`` (the second; defaults to the first)."""
    a = _product_id(params, "a")
    if a is None:
        raise PeriodError("'a' must name the first product to compare.")
    b = _product_id(params, "b") or a
    period_a = parse_period(params, today)
    second = {
        "from": params.get("from_b") or period_a.start.isoformat(),
        "to": params.get("to_b") or period_a.end.isoformat(),
    }
    return Comparison(a, b, period_a, parse_period(second, today))
