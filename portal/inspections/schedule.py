"""The visits a plan promises, as dates: pure functions of the plan and the contract's service period.

From the bids: preventive inspections monthly, quarterly (mid-March, June, September, December) or half-yearly
(mid-January, July); four phone visits a year; quarterly return visits from one month after handover; one full
inspection within the 3 months before the end of the system's life.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from ..equipment.warranty import add_months, warranty_end

MID_MONTH = 15
FREQUENCY_MONTHS = {
    "monthly": tuple(range(1, 13)),
    "quarterly": (3, 6, 9, 12),
    "half_yearly": (1, 7),
}
END_OF_LIFE_WINDOW_MONTHS = 3


@dataclass(frozen=True)
class Due:
    kind: str  # inspection, phone_visit, return_visit, end_of_life
    due_on: date
    window_start: date  # the earliest day it counts as done on time


def service_period(accepted_on, warranty_months):
    """(first day, last day) of the contract's service: from acceptance to the warranty's last covered day, by the
    warranty's own rule (``equipment.warranty.warranty_end``); None if not accepted."""
    if accepted_on is None or not warranty_months:
        return None
    return accepted_on, warranty_end(accepted_on, warranty_months)


def inspection_dates(months, start, end, day=MID_MONTH):
    """The ``day`` of each of ``months`` (1–12) between start and end, inclusive."""
    dates, cursor = [], date(start.year, start.month, 1)
    while cursor <= end:
        when = cursor.replace(day=day)
        if cursor.month in months and start <= when <= end:
            dates.append(when)
        cursor = add_months(cursor, 1)
    return dates


def return_visit_dates(start, end):
    """Quarterly from one month after handover (acceptance)."""
    dates, when, n = [], add_months(start, 1), 0
    while when <= end:
        dates.append(when)
        n += 1
        when = add_months(start, 1 + 3 * n)
    return dates


def phone_visit_dates(per_year, start, end):
    """``per_year`` phone visits in each year of service, evenly spaced through it (four a year: 3, 6, 9 and 12
    months into each year, the last on its anniversary), none after the end."""
    if per_year <= 0:
        return []
    dates, year = [], 0
    while add_months(start, 12 * year) < end:
        for k in range(1, per_year + 1):
            when = add_months(start, 12 * year + (12 * k) // per_year)
            if when <= end:
                dates.append(when)
        year += 1
    return dates


def plan_dates(*, frequency, months, phone_visits, return_visits, end_of_life, start, end):
    """Every visit the plan promises in the service period ``start``–``end``, in date order."""
    dues = []
    chosen = tuple(months) if months else FREQUENCY_MONTHS.get(frequency, ())
    if frequency != "none":
        for when in inspection_dates(chosen, start, end):
            dues.append(Due("inspection", when, when.replace(day=1)))
    for when in phone_visit_dates(phone_visits, start, end):
        dues.append(Due("phone_visit", when, when - timedelta(days=14)))
    if return_visits:
        for when in return_visit_dates(start, end):
            dues.append(Due("return_visit", when, when - timedelta(days=14)))
    if end_of_life:
        dues.append(Due("end_of_life", end, max(start, add_months(end, -END_OF_LIFE_WINDOW_MONTHS))))
    return sorted(dues, key=lambda d: (d.due_on, d.kind))
