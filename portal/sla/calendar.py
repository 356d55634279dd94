"""Working time in China: weekends, official holidays and the swapped working days (调休).

Pure functions over a BusinessCalendar (no database): an SLA of "3 working days" or "8 working hours" means
what it means in China, where a Sunday can be a working day and a Wednesday a holiday. A year whose schedule
is not confirmed is computed by the weekend rule alone and reported by ``unconfirmed_years`` so that callers
flag it; it is never guessed silently.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta


@dataclass(frozen=True)
class WorkingHours:
    """The hours of a working day in which the clock runs (5×8 is 09:00–17:00 on working days)."""

    start: time = time(9, 0)
    end: time = time(17, 0)

    @property
    def minutes(self):
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)


@dataclass
class BusinessCalendar:
    holidays: dict = field(default_factory=dict)  # date -> name: days off although a weekday
    workdays: dict = field(default_factory=dict)  # date -> name: working days although a weekend (调休)
    confirmed_years: set = field(default_factory=set)

    def is_working_day(self, day):
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def unconfirmed_years(self, start, end):
        """The years between two dates (inclusive) whose holiday schedule is not confirmed."""
        return {y for y in range(start.year, end.year + 1) if y not in self.confirmed_years}

    def add_working_days(self, day, count):
        """The date ``count`` working days after ``day`` (the day itself not counted)."""
        if count < 0:
            raise ValueError(count)
        while count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day

    def add_working_time(self, start, span, hours=WorkingHours()):
        """When ``span`` (a timedelta, to the second or finer) of working time has passed from ``start`` (an aware
        local datetime)."""
        if span < timedelta(0):
            raise ValueError(span)
        tz = start.tzinfo
        moment = start
        while True:
            day = moment.date()
            opens = datetime.combine(day, hours.start, tz)
            closes = datetime.combine(day, hours.end, tz)
            if self.is_working_day(day) and moment < closes:
                moment = max(moment, opens)
                available = closes - moment
                if span <= available:
                    return moment + span
                span -= available
            moment = datetime.combine(day + timedelta(days=1), hours.start, tz)

    def add_working_minutes(self, start, minutes, hours=WorkingHours()):
        """When ``minutes`` of working time have passed from ``start`` (an aware local datetime)."""
        if minutes < 0:
            raise ValueError(minutes)
        return self.add_working_time(start, timedelta(minutes=minutes), hours)

    def working_time_between(self, start, end, hours=WorkingHours()):
        """The working time from ``start`` to ``end`` (aware), exact: a timedelta (zero if end is before start)."""
        total = timedelta(0)
        if end <= start:
            return total
        tz = start.tzinfo
        day = start.date()
        while day <= end.date():
            if self.is_working_day(day):
                opens = max(datetime.combine(day, hours.start, tz), start)
                closes = min(datetime.combine(day, hours.end, tz), end)
                if closes > opens:
                    total += closes - opens
            day += timedelta(days=1)
        return total

    def working_seconds_between(self, start, end, hours=WorkingHours()):
        """Working seconds from ``start`` to ``end`` (0 if end is before start)."""
        return round(self.working_time_between(start, end, hours).total_seconds())


def due_at(start, minutes, clock, calendar=None, hours=WorkingHours(), seconds=0):
    """When a clock of ``minutes`` (and ``seconds``, e.g. a pause kept to the second) started at ``start`` (aware,
    local time) runs out.

    ``clock`` is "24x7" (every second counts) or "working" (working hours on working days of ``calendar``).
    """
    span = timedelta(minutes=minutes, seconds=seconds)
    if clock == "24x7":
        return start + span
    if clock == "working":
        return calendar.add_working_time(start, span, hours)
    raise ValueError(clock)
