"""The warranty rules from the bids, as pure functions (no database, no request): unit-tested on their edges.

- The warranty runs from the acceptance date (验收合格之日) for a term in calendar months.
- Every extension adds its days (e.g. +60 days for each unresolved fault that stopped work).
- The end date is the last day covered: a unit is in warranty on its end date, expired the day after.
- A replaced part is covered for the rest of the unit's warranty or 90 days, whichever is longer.
"""
import calendar
from datetime import date, timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l

PART_MINIMUM_DAYS = 90


class WarrantyState(StrEnum):
    PENDING = "pending"  # no start date yet: the system is not accepted
    IN_WARRANTY = "in_warranty"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    RENEWED = "renewed"

    @property
    def label(self):
        return STATE_LABELS[self]

    @property
    def tone(self):
        return STATE_TONES[self]


# The states a unit can be listed by today (renewals come with the renewal quotes).
LISTED_STATES = (WarrantyState.IN_WARRANTY, WarrantyState.EXPIRING, WarrantyState.EXPIRED, WarrantyState.PENDING)

STATE_LABELS = {
    WarrantyState.PENDING: _l("Not started"),
    WarrantyState.IN_WARRANTY: _l("In warranty"),
    WarrantyState.EXPIRING: _l("Expiring soon"),
    WarrantyState.EXPIRED: _l("Expired"),
    WarrantyState.RENEWED: _l("Renewed"),
}
STATE_TONES = {
    WarrantyState.PENDING: "muted",
    WarrantyState.IN_WARRANTY: "success",
    WarrantyState.EXPIRING: "warning",
    WarrantyState.EXPIRED: "danger",
    WarrantyState.RENEWED: "info",
}


def add_months(start, months):
    """``start`` plus calendar months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def warranty_end(start, term_months, extension_days=0):
    """The last day covered: start + term (calendar months) + the days of every extension, or None if not started."""
    if start is None or term_months is None:
        return None
    return add_months(start, term_months) + timedelta(days=extension_days)


def days_left(end, today):
    """Days from ``today`` to the end date (0 on the last covered day, negative once expired)."""
    return None if end is None else (end - today).days


def state(end, today, expiring_days=90, renewed_until=None):
    """The warranty state on ``today``; an accepted renewal covers the unit after its own warranty ends."""
    if end is not None and today > end and renewed_until is not None and today <= renewed_until:
        return WarrantyState.RENEWED
    if end is None:
        return WarrantyState.PENDING
    left = days_left(end, today)
    if left < 0:
        return WarrantyState.EXPIRED
    if left <= expiring_days:
        return WarrantyState.EXPIRING
    return WarrantyState.IN_WARRANTY


def end_bounds(wanted, today, expiring_days=90):
    """The range of end dates that puts a unit in ``wanted`` state on ``today``, for filtering in SQL.

    Returns (low, high) inclusive, either may be None (unbounded); PENDING is "no end date" and is
    handled by the caller. Renewals are the renewal feature's, not this one's.
    """
    if wanted == WarrantyState.EXPIRED:
        return None, today - timedelta(days=1)
    if wanted == WarrantyState.EXPIRING:
        return today, today + timedelta(days=expiring_days)
    if wanted == WarrantyState.IN_WARRANTY:
        return today + timedelta(days=expiring_days + 1), None
    raise ValueError(wanted)


def part_coverage_end(unit_end, replaced_on):
    """A part swapped in on ``replaced_on`` is covered to the unit's end or for 90 days, whichever is later."""
    minimum = replaced_on + timedelta(days=PART_MINIMUM_DAYS)
    if unit_end is None:
        return minimum
    return max(unit_end, minimum)
