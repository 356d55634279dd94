"""A ticket's clocks as pure functions: 7×24, working hours across a weekend, a national holiday and a swapped
working day, the at-risk moment, pauses to the second, and each clock's state."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from portal.sla.calendar import WorkingHours
from portal.tickets.clocks import ClockState, schedule, seconds_between, state

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def test_7x24_every_minute_counts_weekends_and_holidays_included():
    filed = at(2026, 10, 1, 23, 50)  # National Day, near midnight
    assert schedule(filed, 30, "24x7").due == at(2026, 10, 2, 0, 20)
    assert schedule(filed, 48 * 60, "24x7").due == at(2026, 10, 3, 23, 50)
    # At risk when less than 25% of the time is left: 22.5 of 30 minutes, 36 of 48 hours.
    assert schedule(filed, 30, "24x7").risk == at(2026, 10, 2, 0, 12, 30)
    assert schedule(filed, 48 * 60, "24x7").risk == at(2026, 10, 3, 11, 50)


def test_working_hours_across_a_weekend(cal):
    filed = at(2026, 11, 20, 16, 30)  # a Friday, half an hour before closing
    plan = schedule(filed, 120, "working", cal, WorkingHours())
    assert plan.due == at(2026, 11, 23, 10, 30)  # 30 minutes on Friday, 90 on Monday
    assert plan.risk == at(2026, 11, 23, 10, 0)  # 90 of 120 minutes gone


def test_working_hours_across_the_national_day_week(cal):
    filed = at(2026, 9, 30, 16, 0)  # the Wednesday before 1–7 October
    # "3 working days" of 8 hours: 1 hour on 30 Sep, the week off, 8 and 9 Oct, then 7 hours on Saturday 10 Oct,
    # a working day in exchange (调休).
    assert schedule(filed, 3 * 8 * 60, "working", cal).due == at(2026, 10, 10, 16, 0)


def test_a_swapped_working_saturday_counts(cal):
    filed = at(2026, 10, 9, 16, 0)  # Friday; Saturday 10 October is worked (调休)
    assert schedule(filed, 120, "working", cal).due == at(2026, 10, 10, 10, 0)
    ordinary = at(2026, 11, 13, 16, 0)  # an ordinary Friday: the Saturday is off
    assert schedule(ordinary, 120, "working", cal).due == at(2026, 11, 16, 10, 0)


def test_custom_working_hours(cal):
    hours = WorkingHours(time(8, 30), time(17, 30))
    assert schedule(at(2026, 11, 23, 17, 0), 60, "working", cal, hours).due == at(2026, 11, 24, 9, 0)


def test_paused_seconds_push_the_due_time_out(cal):
    filed = at(2026, 11, 20, 10, 0)
    assert schedule(filed, 48 * 60, "24x7", paused_seconds=90 * 60).due == at(2026, 11, 22, 11, 30)
    assert schedule(filed, 48 * 60, "24x7", paused_seconds=29).due == at(2026, 11, 22, 10, 0, 29)
    assert schedule(filed, 48 * 60, "24x7", paused_seconds=29).risk == at(2026, 11, 21, 22, 0, 29)
    # On a working clock, paused seconds are working seconds: an hour of them on Friday afternoon.
    assert schedule(filed, 120, "working", cal, paused_seconds=3600).due == at(2026, 11, 20, 13, 0)
    # 29 working seconds past a due time at closing run on after Monday's opening.
    assert schedule(at(2026, 11, 20, 15, 0), 120, "working", cal, paused_seconds=29).due == at(2026, 11, 23, 9, 0, 29)


def test_seconds_between_follows_the_clock(cal):
    assert seconds_between(at(2026, 11, 20, 16, 0), at(2026, 11, 23, 10, 0), "24x7") == 66 * 3600
    assert seconds_between(at(2026, 11, 20, 16, 0), at(2026, 11, 23, 10, 0), "working", cal) == 120 * 60
    assert seconds_between(at(2026, 11, 23, 10, 0), at(2026, 11, 20, 16, 0), "24x7") == 0
    assert seconds_between(at(2026, 11, 23, 10, 0), at(2026, 11, 23, 10, 0, 29), "24x7") == 29
    assert seconds_between(at(2026, 11, 20, 16, 59, 31), at(2026, 11, 23, 9, 0), "working", cal) == 29


def test_clock_states():
    due, risk = at(2026, 11, 23, 10, 30), at(2026, 11, 23, 10, 0)
    before, inside, after = at(2026, 11, 23, 9, 0), at(2026, 11, 23, 10, 10), at(2026, 11, 23, 11, 0)
    assert state(due, risk, None, before) is ClockState.RUNNING
    assert state(due, risk, None, inside) is ClockState.AT_RISK
    assert state(due, risk, None, after) is ClockState.BREACHED
    assert state(due, risk, inside, after) is ClockState.MET  # met in time stays met
    assert state(due, risk, after, after + timedelta(days=1)) is ClockState.BREACHED  # met late stays breached
    assert state(due, risk, None, after, paused=True) is ClockState.PAUSED
    assert state(None, None, None, after) is ClockState.PAUSED
    assert state(due, risk, None, after, waived=True) is ClockState.WAIVED
    assert state(due, risk, inside, after, waived=True) is ClockState.MET


def test_each_clock_says_whether_it_counts_round_the_clock_or_working_hours(app, world):
    """ "48 hours" of working time is due days later than 48 hours: the page says which clock counts."""
    from portal.extensions import db
    from portal.tickets.models import Ticket

    school = app.test_client(user=world.a_school)
    for clock, zh, en in (("working", "按工作时间计", "in working hours"), ("24x7", "7×24", "7×24")):
        with app.app_context():
            db.session.get(Ticket, world.ticket_a.id).clock = clock
            db.session.commit()
        assert zh in school.get(f"/tickets/{world.ticket_a.id}?lang=zh").get_data(as_text=True)
        page = school.get(f"/tickets/{world.ticket_a.id}?lang=en").get_data(as_text=True)
        assert en in page and (clock == "working") == ("in working hours" in page)
