"""Working time across weekends, national holidays and swapped working days, with 2026's official schedule."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.sla.calendar import WorkingHours, due_at

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def test_the_2026_national_day_schedule(cal):
    assert not cal.is_working_day(date(2026, 10, 1)) and not cal.is_working_day(date(2026, 10, 7))
    assert cal.is_working_day(date(2026, 9, 20))  # a Sunday, worked in exchange (调休)
    assert cal.is_working_day(date(2026, 10, 10))  # a Saturday, worked in exchange
    assert not cal.is_working_day(date(2026, 11, 22))  # an ordinary Sunday


def test_working_days(cal):
    assert cal.add_working_days(date(2026, 11, 20), 3) == date(2026, 11, 25)  # Fri + 3 → Wed, over the weekend
    assert cal.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)  # over the National Day week
    assert cal.add_working_days(date(2026, 10, 8), 2) == date(2026, 10, 10)  # the swapped Saturday counts
    assert cal.add_working_days(date(2026, 11, 20), 0) == date(2026, 11, 20)


def test_working_hours_5x8(cal):
    hours = WorkingHours()
    assert cal.add_working_minutes(at(2026, 11, 20, 16, 0), 120, hours) == at(2026, 11, 23, 10, 0)  # weekend
    assert cal.add_working_minutes(at(2026, 9, 30, 16, 30), 60, hours) == at(2026, 10, 8, 9, 30)  # holiday
    assert cal.add_working_minutes(at(2026, 10, 10, 8, 0), 60, hours) == at(2026, 10, 10, 10, 0)  # swapped day
    assert cal.add_working_minutes(at(2026, 11, 23, 18, 0), 30, hours) == at(2026, 11, 24, 9, 30)  # after hours
    assert cal.add_working_minutes(at(2026, 11, 23, 9, 0), 48 * 60, hours) == at(
        2026, 11, 30, 17, 0
    )  # 6 days: Mon–Fri, Mon


def test_working_seconds_between(cal):
    assert cal.working_seconds_between(at(2026, 11, 20, 16, 0), at(2026, 11, 23, 10, 0)) == 120 * 60
    assert cal.working_seconds_between(at(2026, 9, 30, 16, 30), at(2026, 10, 8, 9, 30)) == 60 * 60
    assert cal.working_seconds_between(at(2026, 11, 23, 10, 0), at(2026, 11, 23, 9, 0)) == 0
    # To the second, not rounded to minutes: 29 s; 20 s before closing and 9 s after opening across a weekend.
    assert cal.working_seconds_between(at(2026, 11, 23, 10, 0), at(2026, 11, 23, 10, 0, 29)) == 29
    assert cal.working_seconds_between(at(2026, 11, 20, 16, 59, 40), at(2026, 11, 23, 9, 0, 9)) == 29
    assert cal.working_seconds_between(at(2026, 9, 30, 17, 0), at(2026, 10, 8, 9, 0)) == 0  # after hours, holidays


def test_working_time_added_to_the_second(cal):
    assert cal.add_working_time(at(2026, 11, 23, 10, 0), timedelta(seconds=29)) == at(2026, 11, 23, 10, 0, 29)
    # 29 s from 16:59:40 on a Friday: 20 s before closing, 9 s after Monday's opening.
    assert cal.add_working_time(at(2026, 11, 20, 16, 59, 40), timedelta(seconds=29)) == at(2026, 11, 23, 9, 0, 9)
    # Over the National Day week: 10 s on 30 September, then 8 October.
    assert cal.add_working_time(at(2026, 9, 30, 16, 59, 50), timedelta(seconds=25)) == at(2026, 10, 8, 9, 0, 15)
    assert due_at(at(2026, 11, 20, 16, 0), 60, "working", cal, seconds=29) == at(2026, 11, 23, 9, 0, 29)
    assert due_at(at(2026, 11, 20, 16, 0), 60, "24x7", seconds=29) == at(2026, 11, 20, 17, 0, 29)


def test_years_without_a_confirmed_schedule_are_reported(cal):
    assert cal.unconfirmed_years(date(2026, 12, 30), date(2027, 1, 5)) == {2027}
    assert cal.unconfirmed_years(date(2026, 1, 1), date(2026, 12, 31)) == set()
    # Meanwhile 2027 is computed by the weekend rule alone: 1 January 2027 is a Friday, counted as working.
    assert cal.is_working_day(date(2027, 1, 1))


def test_due_at_on_either_clock(cal):
    filed = at(2026, 9, 30, 16, 30)  # a Wednesday afternoon before the National Day week
    assert due_at(filed, 30, "24x7") == at(2026, 9, 30, 17, 0)
    assert due_at(filed, 48 * 60, "24x7") == at(2026, 10, 2, 16, 30)  # holidays count on a 7×24 clock
    assert due_at(filed, 30, "working", cal) == at(2026, 9, 30, 17, 0)
    assert due_at(filed, 120, "working", cal) == at(2026, 10, 8, 10, 30)  # not until after the holiday
    assert due_at(filed, 60, "working", cal, WorkingHours(time(8, 30), time(17, 30))) == at(2026, 9, 30, 17, 30)
    with pytest.raises(ValueError):
        due_at(filed, 30, "5x8")
