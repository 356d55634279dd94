"""A ticket's SLA clocks as pure functions (no database, no request), unit-tested on their edges.

Four clocks start when a fault is filed: response (with the initial handling opinion), solution proposal, on site
and resolution (a fix, or a spare unit lent). Each has a due time and an "at risk" moment, when less than 25% of
its time is left. Waiting for the client pauses the resolution clock only: the time spent waiting (counted on
the policy's clock, to the second) pushes its due time out. A clock met after its due time is breached, and stays so.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ..i18n import _l
from ..sla.calendar import WorkingHours, due_at

RISK_SHARE = 0.25  # "at risk": less than a quarter of the clock's time left


class ClockState(StrEnum):
    RUNNING = "running"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    PAUSED = "paused"
    WAIVED = "waived"  # not needed: the fault was resolved before this clock ran out (e.g. fixed remotely)

    @property
    def label(self):
        return STATE_LABELS[self]

    @property
    def tone(self):
        return STATE_TONES[self]


STATE_LABELS = {
    ClockState.RUNNING: _l("Running"),
    ClockState.AT_RISK: _l("At risk"),
    ClockState.BREACHED: _l("Breached"),
    ClockState.MET: _l("Met"),
    ClockState.PAUSED: _l("Paused"),
    ClockState.WAIVED: _l("Not needed"),
}
STATE_TONES = {
    ClockState.RUNNING: "info",
    ClockState.AT_RISK: "warning",
    ClockState.BREACHED: "danger",
    ClockState.MET: "success",
    ClockState.PAUSED: "muted",
    ClockState.WAIVED: "muted",
}


@dataclass(frozen=True)
class Schedule:
    due: datetime
    risk: datetime


def schedule(start, minutes, clock, calendar=None, hours=None, paused_seconds=0):
    """When a clock of ``minutes`` started at ``start`` (aware, local) runs out, and when it turns at risk.

    ``paused_seconds`` of clock time spent waiting for the client (working seconds on a working-hours clock) are
    added to both.
    """
    hours = hours or WorkingHours()
    due = due_at(start, minutes, clock, calendar, hours, seconds=paused_seconds)
    risk = due_at(start, minutes * (1 - RISK_SHARE), clock, calendar, hours, seconds=paused_seconds)
    return Schedule(due=_whole_second(due), risk=_whole_second(risk))


def seconds_between(start, end, clock, calendar=None, hours=None):
    """Clock seconds from ``start`` to ``end`` (aware), exact: every second on 7×24, working seconds otherwise
    (a pause over a night or a holiday counts its working time only)."""
    if end <= start:
        return 0
    if clock == "24x7":
        return round((end - start).total_seconds())
    return calendar.working_seconds_between(start, end, hours or WorkingHours())


def state(due, risk, met, now, paused=False, waived=False):
    """The state of one clock at ``now`` (every argument aware, or None)."""
    if met is not None and met <= due:
        return ClockState.MET
    if waived:  # not needed any more: a late arrival after work went on remotely is not a breach
        return ClockState.WAIVED
    if met is not None:
        return ClockState.BREACHED
    if paused or due is None:
        return ClockState.PAUSED
    if now > due:
        return ClockState.BREACHED
    if now >= risk:
        return ClockState.AT_RISK
    return ClockState.RUNNING


def _whole_second(moment):
    return moment.replace(microsecond=0) + (timedelta(seconds=1) if moment.microsecond >= 500_000 else timedelta())
