"""The warranty rules from the bids, as pure functions (no database, no request): unit-tested on their edges.

- The warranty runs from the acceptance date (验收合格之日) for a term in calendar months.
- Every extension adds its days (e.g. +60 days for each unresolved fault that stopped work).
- The end date is the last day covered: a unit is in warranty on its end date, expired the day after.
- A replaced part is covered for the rest of the unit's warranty or 90 days, whichever is longer.
"""

import calendar
from datetime import date, timedelta
from enum import StrEnum

from ..i18n import _l

PART_MINIMUM_DAYS = 90
STOPPED_WORK_DAYS = 60  # each unresolved fault that stopped work extends the warranty (每次延长60天)


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


# The states a unit can be listed by, in the order pages show them.
LISTED_STATES = (
    WarrantyState.IN_WARRANTY,
    WarrantyState.RENEWED,
    WarrantyState.EXPIRING,
    WarrantyState.EXPIRED,
    WarrantyState.PENDING,
)

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


def covered_until(end, renewed_until=None):
    """The last day a unit is covered: by its warranty or by an accepted renewal, whichever runs longer."""
    dates = [d for d in (end, renewed_until) if d is not None]
    return max(dates) if dates else None


def state(end, today, expiring_days=90, renewed_until=None):
    """The state on ``today``. Coverage (the warranty, or a renewal) expiring within ``expiring_days`` is
    EXPIRING, so that a renewal is asked for in time; a unit covered by a running renewal is RENEWED."""
    covered = covered_until(end, renewed_until)
    if covered is None:
        return WarrantyState.PENDING
    left = days_left(covered, today)
    if left < 0:
        return WarrantyState.EXPIRED
    if left <= expiring_days:
        return WarrantyState.EXPIRING
    if renewed_until is not None and renewed_until >= today:
        return WarrantyState.RENEWED
    return WarrantyState.IN_WARRANTY


def covered_bounds(wanted, today, expiring_days=90):
    """The range of ``covered_until`` dates for ``wanted`` on ``today``, for filtering in SQL: (low, high)
    inclusive, None unbounded. PENDING is "no date"; RENEWED and IN_WARRANTY share a range and differ by
    whether a renewal runs today (the caller adds that)."""
    if wanted == WarrantyState.EXPIRED:
        return None, today - timedelta(days=1)
    if wanted == WarrantyState.EXPIRING:
        return today, today + timedelta(days=expiring_days)
    if wanted in (WarrantyState.IN_WARRANTY, WarrantyState.RENEWED):
        return today + timedelta(days=expiring_days + 1), None
    raise ValueError(wanted)


def part_coverage_end(unit_end, replaced_on):
    """A part swapped in on ``replaced_on`` is covered to the unit's end or for 90 days, whichever is later."""
    minimum = replaced_on + timedelta(days=PART_MINIMUM_DAYS)
    if unit_end is None:
        return minimum
    return max(unit_end, minimum)
