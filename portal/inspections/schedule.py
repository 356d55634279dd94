"""The visits a plan promises, as dates: pure functions of the plan and the contract's service period.

From the bids: preventive inspections monthly, quarterly (mid-March, June, September, December) or half-yearly
(mid-January, July); four phone visits a year; quarterly return visits from one month after handover; one full
inspection within the 3 months before the end of the system's life.
"""
from dataclasses import dataclass
from datetime import date, timedelta

from ..equipment.warranty import add_months

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
    """(first day, last day) of the contract's service: from acceptance for the warranty term; None if not accepted."""
    if accepted_on is None or not warranty_months:
        return None
    return accepted_on, add_months(accepted_on, warranty_months) - timedelta(days=1)


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
    """``per_year`` phone visits a year, evenly spaced through each year of service, from the first month."""
    if per_year <= 0:
        return []
    step = max(1, 12 // per_year)
    dates, n = [], 0
    when = add_months(start, step)
    while when <= end:
        dates.append(when)
        n += 1
        when = add_months(start, step * (n + 1))
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
