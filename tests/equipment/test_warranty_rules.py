"""The warranty rules from the bids, on their edges: calendar months, leap years, extensions, parts."""

from datetime import date, timedelta

import pytest

from portal.equipment.warranty import (
    WarrantyState,
    add_months,
    covered_bounds,
    covered_until,
    days_left,
    part_coverage_end,
    state,
    warranty_end,
)


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # no 31 February: the month's last day
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2024, 2, 29), 12, date(2025, 2, 28)),  # from a leap day, one year on
        (date(2024, 2, 29), 48, date(2028, 2, 29)),  # four years on: a leap day again
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),  # across the year end
        (date(2026, 5, 20), 36, date(2029, 5, 20)),  # the common 3-year term
        (date(2026, 5, 20), 0, date(2026, 5, 20)),
    ],
)
def test_add_calendar_months(start, months, end):
    assert add_months(start, months) == end


def test_end_adds_every_extension_after_the_months():
    start = date(2026, 1, 31)
    assert warranty_end(start, 1) == date(2026, 2, 28)
    assert warranty_end(start, 1, extension_days=60) == date(2026, 4, 29)  # 28 Feb + 60 days
    assert warranty_end(start, 12, extension_days=120) == date(2027, 1, 31) + timedelta(days=120)
    assert warranty_end(None, 12) is None  # not accepted yet: no end


def test_days_left_and_state_around_the_end():
    end = date(2027, 3, 1)
    assert days_left(end, date(2027, 3, 1)) == 0
    assert state(end, date(2027, 3, 1)) == WarrantyState.EXPIRING  # the end date itself is covered
    assert state(end, date(2027, 3, 2)) == WarrantyState.EXPIRED
    assert days_left(end, date(2027, 3, 2)) == -1
    assert state(end, end - timedelta(days=90)) == WarrantyState.EXPIRING  # "within 90 days"
    assert state(end, end - timedelta(days=91)) == WarrantyState.IN_WARRANTY
    assert state(end, end - timedelta(days=31), expiring_days=30) == WarrantyState.IN_WARRANTY
    assert state(None, date(2027, 1, 1)) == WarrantyState.PENDING


def test_a_renewal_covers_after_the_warranty():
    end = date(2027, 3, 1)
    assert state(end, date(2027, 6, 1), renewed_until=date(2028, 3, 1)) == WarrantyState.RENEWED
    assert state(end, date(2027, 2, 1), renewed_until=date(2028, 3, 1)) == WarrantyState.RENEWED  # renewed in time
    assert state(end, date(2028, 1, 1), renewed_until=date(2028, 3, 1)) == WarrantyState.EXPIRING  # renew again
    assert state(end, date(2028, 3, 2), renewed_until=date(2028, 3, 1)) == WarrantyState.EXPIRED
    assert covered_until(end, date(2028, 3, 1)) == date(2028, 3, 1) and covered_until(end, None) == end


@pytest.mark.parametrize(
    "wanted", [WarrantyState.IN_WARRANTY, WarrantyState.EXPIRING, WarrantyState.EXPIRED, WarrantyState.RENEWED]
)
def test_sql_bounds_agree_with_the_state_function(wanted):
    today = date(2026, 11, 22)
    low, high = covered_bounds(wanted, today, 90)
    for offset in range(-200, 200):
        for renewal in (None, -30, 300):
            end = today + timedelta(days=offset)
            renewed = None if renewal is None else today + timedelta(days=renewal)
            covered = covered_until(end, renewed)
            inside = (low is None or covered >= low) and (high is None or covered <= high)
            if wanted == WarrantyState.RENEWED:
                inside = inside and renewed is not None and renewed >= today
            elif wanted == WarrantyState.IN_WARRANTY:
                inside = inside and (renewed is None or renewed < today)
            assert inside == (state(end, today, 90, renewed) == wanted), (end, renewed)


@pytest.mark.parametrize(
    ("unit_end", "replaced_on", "covered_to"),
    [
        (date(2027, 6, 30), date(2026, 1, 10), date(2027, 6, 30)),  # the unit's rest is longer
        (date(2026, 2, 1), date(2026, 1, 10), date(2026, 4, 10)),  # 90 days is longer
        (date(2026, 4, 10), date(2026, 1, 10), date(2026, 4, 10)),  # equal
        (date(2025, 12, 31), date(2026, 1, 10), date(2026, 4, 10)),  # swapped after the warranty: still 90 days
        (None, date(2026, 1, 10), date(2026, 4, 10)),
    ],
)
def test_a_replaced_part_is_covered_for_the_rest_or_90_days(unit_end, replaced_on, covered_to):
    assert part_coverage_end(unit_end, replaced_on) == covered_to


def test_a_renewal_is_a_fact_of_its_own_only_when_it_covers_past_the_warranty():
    from datetime import date

    from portal.equipment.models import Equipment

    end = date(2026, 12, 13)
    assert not Equipment(warranty_end=end).renewed_beyond_warranty
    assert not Equipment(warranty_end=end, renewed_until=end).renewed_beyond_warranty
    assert Equipment(warranty_end=end, renewed_until=date(2028, 12, 13)).renewed_beyond_warranty
    assert Equipment(warranty_end=None, renewed_until=end).renewed_beyond_warranty
