"""The service scorecard (履约看板): every promise of the bid, measured from the stored events.

One module computes every number; pages, the evidence pack and the vendor's overview only show what it returns.
Nothing here loads rows to count them: each source (tickets, parts, extensions, quotes, complaints, visits, the
service log, ratings) is read with one aggregate query over an indexed range.

THE INTERFACE BELOW IS FIXED (pages and the PDF are built against it); the bodies are filled in by the metrics work.

Vocabulary
- ``Scope``: a client, optionally narrowed to one contract and/or one site. A school administrator's scope always
  carries their site. Rows whose site is NULL (phone visits for the whole client, complaints without a site) count
  for a client-wide scope only, never for a site scope.
- ``Period``: [start, end) as dates in the site time zone (the app's BABEL_DEFAULT_TIMEZONE, set by PORTAL_TIMEZONE,
  default Asia/Shanghai); ``utc_bounds()`` gives the UTC datetimes for ``UTCDateTime`` columns. Events are attributed
  to a period by: tickets by ``filed_at``; replaced parts, warranty extensions and their faults by the ticket's
  ``filed_at``; "replacement due" flags by the flag's event time; quotes by ``issued_at``; complaints by
  ``received_at``; visits by ``due_on`` (the sign-off row by ``done_on``); service log by ``work_date``; ratings by
  when they were given (ticket ``closed_at``, visit ``signed_at``, survey ``answered_at``).
- A ``Row``: one promise. ``met`` is True (kept), False (broken), or None (nothing to measure in the period, or
  only clocks still running). ``measured``/``total`` are the counts behind the figure (e.g. 47 of 48 clocks met);
  ``value`` is the figure itself (a percentage as a Decimal 0–100, a count, or an average) per ``unit``.

How each row is measured (``now`` is the moment of the question; everything still running is judged at ``now``)
- response / proposal / on_site / resolution: the clocks of the tickets filed in the period. A waived clock is not
  measured. A clock is *met* if met at or before its due time (or met while paused, with no due time), *broken* if
  its breach is recorded, it was met late, or it is unmet and its due time has passed at ``now``; otherwise it is
  *pending* (unmet and not yet due, or paused). value = met ÷ (met + broken) in %, to 0.1; met = True iff nothing
  broken and at least one clock measured; None if nothing measured. Target: the contracts' own minutes (the range
  across severities and contracts when they differ) and clock kind (7×24, working hours, or mixed).
- no_response_24h: tickets filed in the period with no response 24 h after filing: unmet and filed more than 24 h
  before ``now``, or met more than 24 h after filing (to the second, portable: ``julianday`` on SQLite, an interval
  on PostgreSQL). value = that count; met iff 0 (None if no ticket was filed); pending = unanswered tickets not 24 h
  old yet.
- parts_3_days: parts replaced for tickets filed in the period: in time if ``replaced_on`` is on or before the 3rd
  working day (China's calendar, ``sla.holidays.business_calendar``) after the ticket's filing date in its site's
  time zone. The (filing time, zone, replaced_on) triples are loaded for this row alone (parts are few) and the
  calendar with them (two more queries, only if there are parts).
- extensions: tickets filed in the period whose fault stopped work (``work_stopped``, or severity A/B with the
  resolution clock breached once resolved: the rule ``tickets.services.apply_warranty_effects`` applies). Each needs
  a WarrantyExtension (cause "ticket", its id) of at least 60 days. value = how many have one; detail days_granted
  (the days of those extensions); met iff every one has it (None if none).
- replacements: the "replacement due" flags (ticket events ``replacement_due``) raised in the period; a flag is done
  once the unit's replacement is recorded at or after it. value = flags still outstanding; measured = replaced;
  met iff none outstanding (None if no flag).
- quotes: renewal quotes issued in the period (any status since). Within terms: every line's rate at or below its
  contract's ``renewal_rate`` and, where the contract has a ``renewal_ceiling``, the quote's yearly amount for that
  contract (each line's amount ÷ its years, summed) at or below it. value = % within terms; met iff all.
- complaints_24h: complaints received in the period. Late if any round was answered late (``overdue_rounds``) or the
  round waiting for an answer is past due at ``now``; pending if a round awaits its answer, not yet due; otherwise in
  time. value = % in time of (in time + late); met iff none late.
- complaints_satisfied: complaints received in the period and closed since (only the client closes, satisfied):
  satisfied if the rating given at closing is 4–5 or none was given. pending = still open. value %, met iff all.
- complaints_open: complaints open at T = the period's end, or ``now`` if sooner (received before T, not closed by
  T), whatever the period they were received in. value = that count; detail oldest_days (days from the oldest one's
  receipt to T); met False iff one of them was past due at T (its round unanswered after its due time), else True.
- inspections / end_of_life / phone_visits / return_visits: visits of that kind due in the period: on time (done on
  or before ``due_on``), late (done after), missed (not done and due before today), pending (not yet due). value =
  on time ÷ (on time + late + missed) in %; met iff no late and no missed (None if none due and past). Target: the
  contracts' plans (frequency; phone visits a year; quarterly return visits; the end-of-life inspection).
- visit_signoff: visits recorded (done, signed, disputed) with ``done_on`` in the period: signed off ÷ recorded;
  pending = awaiting sign-off; met iff all signed.
- service_log: entries with ``work_date`` in the period: signed ÷ entries; met iff all signed.
- satisfaction: answers given in the period (ticket ratings at ``closed_at``, visit sign-off satisfaction at
  ``signed_at``, survey answers at ``answered_at``): value = share of 4–5 in %; detail average (1 place) and each
  source's count; met iff share ≥ 95 and at least one answer.
- Deposit (a single contract): amount = price × deposit_rate (to the fen), due_on = accepted_on + deposit_months,
  returned_on; promises_met = no row broken in the period (None if no row measured anything).

Scoping: tickets, visits, service log and surveys by their client, contract and site columns; parts, extensions
and replacement flags through their ticket; quotes through their contract (the quote's, or a line's), a site scope
keeping quotes with a line for a unit at the site; complaints through their ticket's contract, a complaint without
a ticket counting for every contract of its client; a row with a NULL site only for a scope without a site.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_decimal, format_percent
from sqlalchemy.orm import aliased

from ..i18n import _l, duration, format_date, gettext, money, rate, skeleton

# The rows, in the order the scorecard shows them; the key names the row everywhere (URLs, the PDF, the trends).
ROW_KEYS = (
    "response",
    "proposal",
    "on_site",
    "resolution",  # % of clocks met, per the contract's own targets
    "no_response_24h",  # tickets without a response 24 h after filing: a count that must be 0
    "parts_3_days",  # parts swapped within 3 working days of the fault's filing
    "extensions",  # faults that stopped work, and the +60 days granted for each
    "replacements",  # units flagged for unconditional replacement, and whether it happened
    "quotes",  # renewal quotes at or below the contract's rate and ceiling
    "complaints_24h",  # complaints answered within 24 h (every round)
    "complaints_satisfied",  # complaints closed satisfied
    "complaints_open",  # complaints still open, and the oldest one's age in days
    "inspections",  # preventive inspections done by their due date, per the plan
    "end_of_life",  # the full inspection in the 3 months before the end of the system's life
    "phone_visits",  # four a year
    "return_visits",  # quarterly
    "visit_signoff",  # inspection records signed off by the client
    "service_log",  # resident service log entries signed
    "satisfaction",  # share of answers 4–5 against the bids' 95 %, and the average
)
GROUPS = {  # row key -> group key, for headings
    "response": "faults",
    "proposal": "faults",
    "on_site": "faults",
    "resolution": "faults",
    "no_response_24h": "faults",
    "parts_3_days": "faults",
    "extensions": "warranty",
    "replacements": "warranty",
    "quotes": "warranty",
    "complaints_24h": "complaints",
    "complaints_satisfied": "complaints",
    "complaints_open": "complaints",
    "inspections": "visits",
    "end_of_life": "visits",
    "phone_visits": "visits",
    "return_visits": "visits",
    "visit_signoff": "visits",
    "service_log": "visits",
    "satisfaction": "satisfaction",
}
# Each promise in the client's words (the bids').
PROMISES = {
    "response": _l("A substantive response to every fault report within the promised time"),
    "proposal": _l("A solution proposal within the promised time"),
    "on_site": _l("An engineer on site within the promised time when needed"),
    "resolution": _l("Fixed, or a spare unit installed, within the promised time"),
    "no_response_24h": _l("No fault left without a response for 24 hours"),
    "parts_3_days": _l("Spare parts swapped within 3 working days"),
    "extensions": _l("Every fault that stopped work extends the warranty"),
    "replacements": _l("The same fault after two repairs: the unit replaced"),
    "quotes": _l("Renewal quotes at or below the contract's rate and ceiling"),
    "complaints_24h": _l("Every complaint answered within 24 hours"),
    "complaints_satisfied": _l("Complaints closed to the client's satisfaction"),
    "complaints_open": _l("No complaint left open past its due time"),
    "inspections": _l("Preventive inspections done by their due date"),
    "end_of_life": _l("A full inspection in the 3 months before the end of the system's life"),
    "phone_visits": _l("Phone visits, four a year"),
    "return_visits": _l("Return visits every quarter"),
    "visit_signoff": _l("Every inspection record signed off by the client"),
    "service_log": _l("Every day of resident service signed by the client"),
    "satisfaction": _l("Customers satisfied at the promised share"),
}
GROUP_LABELS = {
    "faults": _l("Faults"),
    "warranty": _l("Warranty and renewal"),
    "complaints": _l("Complaints"),
    "visits": _l("Inspections and visits"),
    "satisfaction": _l("Satisfaction"),
}
CLOCK_ROWS = ("response", "proposal", "on_site", "resolution")
VISIT_ROWS = {
    "inspections": "inspection",
    "end_of_life": "end_of_life",
    "phone_visits": "phone_visit",
    "return_visits": "return_visit",
}
NO_RESPONSE = timedelta(hours=24)
PART_WORKING_DAYS = 3
SATISFIED_SHARE = 95
RISK_VISIT_DAYS = 7  # at_risk(): a visit due within 7 days and not done
RISK_COMPLAINT = timedelta(hours=4)  # at_risk(): a complaint due within 4 hours
MIN_YEAR, MAX_YEAR, MAX_DAYS = 2000, 2100, 5 * 366
PERIOD_KINDS = ("month", "quarter", "year", "service_year", "custom")


def _zone():
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _utc(day):
    """Midnight starting ``day`` in the site time zone, as an aware UTC datetime."""
    return datetime.combine(day, time(0), _zone()).astimezone(UTC)


def _now(now):
    return (now or datetime.now(UTC)).replace(microsecond=0)


def _today(now):
    return now.astimezone(_zone()).date()


def _month_start(day, shift=0):
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


class PeriodError(ValueError):
    """A period a page cannot show; the message is translated."""


def _invalid(message=None):
    return PeriodError(str(message or _l("This period is not valid.")))


@dataclass(frozen=True)
class Scope:
    client_id: int
    contract_id: int | None = None
    site_id: int | None = None


@dataclass(frozen=True)
class Period:
    kind: str  # "month", "quarter", "year", "service_year", "custom"
    start: date  # first day, in the site time zone
    end: date  # the day after the last day (exclusive)
    number: int | None = None  # the service year's number (1, 2, …), for ``label``

    def utc_bounds(self):
        """(start, end) as UTC datetimes (naive or aware as ``portal.types.UTCDateTime`` stores them)."""
        return _utc(self.start), _utc(self.end)

    @property
    def last(self):
        """The last day of the period (inclusive)."""
        return self.end - timedelta(days=1)

    @classmethod
    def parse(cls, kind, value=None, *, start=None, end=None, contract=None, today):
        """The period a page asks for: ``month`` with value "2026-10", ``quarter`` "2026-Q3", ``year`` "2025",
        ``service_year`` with value "1", "2", … counted from the contract's ``accepted_on`` (needs ``contract``),
        ``custom`` with ``start``/``end`` (inclusive last day as the user types it). No value: the current one
        (the current month, quarter, year, service year). Raises ValueError with a translated message for anything
        out of range (before 2000, after 2100, end before start, longer than 5 years)."""
        value = (value or "").strip() if isinstance(value, str) else value
        try:
            if kind == "month":
                if value:
                    year, month = (int(p) for p in _split(value, "-", 2))
                    first = date(year, month, 1)
                else:
                    first = _month_start(today)
                period = cls(kind, first, _month_start(first, 1))
            elif kind == "quarter":
                if value:
                    year, q = _split(value.upper(), "-Q", 2)
                    year, q = int(year), int(q)
                    if not 1 <= q <= 4:
                        raise _invalid()
                else:
                    year, q = today.year, (today.month - 1) // 3 + 1
                first = date(year, 3 * q - 2, 1)
                period = cls(kind, first, _month_start(first, 3))
            elif kind == "year":
                year = int(value) if value else today.year
                period = cls(kind, date(year, 1, 1), date(year + 1, 1, 1))
            elif kind == "service_year":
                if contract is None or contract.accepted_on is None:
                    raise _invalid(_l("The contract is not accepted yet: it has no service years."))
                from ..equipment.warranty import add_months

                accepted = contract.accepted_on
                if value:
                    number = int(value)
                else:
                    number = 1
                    while add_months(accepted, 12 * number) <= today:
                        number += 1
                if not 1 <= number <= 100:
                    raise _invalid()
                period = cls(kind, add_months(accepted, 12 * (number - 1)), add_months(accepted, 12 * number), number)
            elif kind == "custom":
                first, last = _as_date(start), _as_date(end)
                if first is None or last is None:
                    raise _invalid(_l("Give the first and the last day of the period."))
                if last < first:
                    raise _invalid(_l("The period ends before it starts."))
                period = cls(kind, first, last + timedelta(days=1))
            else:
                raise _invalid()
        except PeriodError:
            raise
        except (ValueError, TypeError, OverflowError):  # not a number, not a date (2026-02-30), year 0 …
            raise _invalid() from None
        if period.start.year < MIN_YEAR or period.last.year >= MAX_YEAR:
            raise _invalid(_l("Choose a period between the years 2000 and 2100."))
        if (period.end - period.start).days > MAX_DAYS:
            raise _invalid(_l("A period is at most 5 years long."))
        return period

    def label(self):
        """How the page names it, in the reader's locale ("2026年10月", "Q3 2026", "2nd service year …")."""
        if self.kind == "month":
            return skeleton(self.start, "yMMMM")
        if self.kind == "quarter":
            return gettext("Q%(quarter)s %(year)s", quarter=(self.start.month - 1) // 3 + 1, year=self.start.year)
        if self.kind == "year":
            return gettext("The year %(year)s", year=self.start.year)
        span = gettext("%(first)s – %(last)s", first=format_date(self.start), last=format_date(self.last))
        if self.kind == "service_year":
            return gettext("Service year %(number)s (%(span)s)", number=self.number, span=span)
        return span


def _split(value, sep, parts):
    pieces = value.split(sep)
    if len(pieces) != parts or not all(p.strip().isdigit() for p in pieces):
        raise _invalid()
    return pieces


def _as_date(value):
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


@dataclass
class Row:
    key: str
    group: str
    met: bool | None
    value: Decimal | int | None  # per ``unit``
    unit: str  # "percent", "count", "days", "rating"
    measured: int = 0  # e.g. clocks met / complaints answered in time / visits done on time
    total: int = 0  # e.g. clocks measured / complaints / visits due
    pending: int = 0  # not measurable yet (clocks still running, visits not yet due)
    target: dict = field(default_factory=dict)  # e.g. {"minutes": 30, "clock": "24x7"} or {"share": 95}
    detail: dict = field(default_factory=dict)  # row-specific facts (e.g. {"days_granted": 120}, {"oldest_days": 9})

    @property
    def promise(self):
        """The promise in the client's words, translated (from ``PROMISES``)."""
        return str(PROMISES[self.key])

    @property
    def group_label(self):
        return str(GROUP_LABELS[self.group])

    @property
    def target_text(self):
        """The target in words, translated and formatted for the locale ("30 min, 7×24", "0", "≥ 95 %")."""
        return _target_text(self)

    @property
    def measured_text(self):
        """What was measured, in words ("47 of 48 clocks met (97.9 %)")."""
        return _measured_text(self)


@dataclass
class Deposit:
    amount: Decimal | None  # price × deposit rate (5 % by default); None without a contract price
    rate: Decimal
    due_on: date | None  # accepted_on + deposit months (12 by default); None before acceptance
    returned_on: date | None
    promises_met: bool | None  # every measured row of the period met; None if nothing measured


@dataclass
class Scorecard:
    scope: Scope
    period: Period
    rows: list[Row]
    deposit: Deposit | None  # only for a single contract

    def row(self, key):
        return next(r for r in self.rows if r.key == key)

    @property
    def broken(self):
        return [r for r in self.rows if r.met is False]


# ---------------------------------------------------------------- formatting


def _share_text(value):
    return "" if value is None else format_percent(Decimal(value) / 100, format="#,##0.#%")


def _n(value):
    return format_decimal(value or 0)


def _minutes_text(target):
    low, high = target.get("minutes"), target.get("minutes_max")
    if low is None:
        return ""
    if high is not None and high != low:
        return gettext("%(low)s to %(high)s", low=duration(low), high=duration(high))
    return duration(low)


CLOCK_NAMES = {"24x7": _l("7×24"), "working": _l("working hours"), "mixed": _l("7×24 or working hours")}
FREQUENCY_NAMES = {
    "monthly": _l("monthly"),
    "quarterly": _l("quarterly"),
    "half_yearly": _l("half-yearly"),
    "none": _l("none planned"),
    "mixed": _l("per each contract's plan"),
}


def _target_text(row):
    t = row.target
    key = row.key
    if key in CLOCK_ROWS:
        minutes = _minutes_text(t)
        if not minutes:
            return ""
        return gettext("%(time)s, %(clock)s", time=minutes, clock=CLOCK_NAMES.get(t.get("clock"), ""))
    if key in ("no_response_24h", "replacements"):
        return _n(0)
    if key == "parts_3_days":
        return gettext("%(days)s working days", days=_n(t["working_days"]))
    if key == "extensions":
        return gettext("+%(days)s days each", days=_n(t["days"]))
    if key == "quotes":
        rates = t.get("rate")
        if rates is None:
            return ""
        text = gettext("rate ≤ %(rate)s", rate=rate(rates))
        if t.get("ceiling") is not None:
            text = gettext("%(rate)s, ≤ %(ceiling)s a year", rate=text, ceiling=money(t["ceiling"]))
        return text
    if key in ("complaints_24h", "complaints_open"):
        return gettext("%(hours)s hours", hours=_n(t["hours"]))
    if key == "inspections":
        return str(FREQUENCY_NAMES.get(t.get("frequency"), ""))
    if key == "end_of_life":
        return gettext("in the last %(months)s months", months=_n(t["months"]))
    if key == "phone_visits":
        return gettext("%(count)s a year", count=_n(t.get("per_year")))
    if key == "return_visits":
        return str(FREQUENCY_NAMES["quarterly"]) if t.get("planned", True) else str(FREQUENCY_NAMES["none"])
    if "share" in t:
        return gettext("≥ %(share)s", share=_share_text(t["share"]))
    return ""


MEASURED = {
    "response": _l("%(measured)s of %(total)s clocks met (%(share)s)"),
    "proposal": _l("%(measured)s of %(total)s clocks met (%(share)s)"),
    "on_site": _l("%(measured)s of %(total)s clocks met (%(share)s)"),
    "resolution": _l("%(measured)s of %(total)s clocks met (%(share)s)"),
    "parts_3_days": _l("%(measured)s of %(total)s parts swapped in time (%(share)s)"),
    "quotes": _l("%(measured)s of %(total)s quotes within the terms (%(share)s)"),
    "complaints_24h": _l("%(measured)s of %(total)s complaints answered in time (%(share)s)"),
    "complaints_satisfied": _l("%(measured)s of %(total)s closed complaints satisfied (%(share)s)"),
    "inspections": _l("%(measured)s of %(total)s done on time (%(share)s)"),
    "end_of_life": _l("%(measured)s of %(total)s done on time (%(share)s)"),
    "phone_visits": _l("%(measured)s of %(total)s done on time (%(share)s)"),
    "return_visits": _l("%(measured)s of %(total)s done on time (%(share)s)"),
    "visit_signoff": _l("%(measured)s of %(total)s records signed off (%(share)s)"),
    "service_log": _l("%(measured)s of %(total)s entries signed (%(share)s)"),
}


def _measured_text(row):
    key, d = row.key, row.detail
    if key == "no_response_24h":
        text = (
            gettext("%(count)s tickets without a response after 24 hours", count=_n(row.value))
            if row.total
            else gettext("Nothing to measure in this period")
        )
    elif key == "complaints_open":
        text = (
            gettext("%(count)s open, the oldest for %(days)s days", count=_n(row.value), days=_n(d.get("oldest_days")))
            if row.value
            else gettext("No complaint open")
        )
    elif not row.total:
        text = gettext("Nothing to measure in this period")
    elif key == "extensions":
        text = gettext(
            "%(measured)s of %(total)s faults extended, %(days)s days granted",
            measured=_n(row.measured),
            total=_n(row.total),
            days=_n(d.get("days_granted")),
        )
    elif key == "replacements":
        text = gettext(
            "%(measured)s of %(total)s units replaced, %(outstanding)s outstanding",
            measured=_n(row.measured),
            total=_n(row.total),
            outstanding=_n(row.value),
        )
    elif key == "satisfaction":
        text = gettext(
            "%(measured)s of %(total)s answers 4–5 (%(share)s), average %(average)s",
            measured=_n(row.measured),
            total=_n(row.total),
            share=_share_text(row.value),
            average=format_decimal(d.get("average"), format="0.0"),
        )
    else:
        text = str(MEASURED[key]) % dict(measured=_n(row.measured), total=_n(row.total), share=_share_text(row.value))
    if row.pending:
        text = gettext("%(text)s; %(pending)s still running", text=text, pending=_n(row.pending))
    return text


# ---------------------------------------------------------------- SQL helpers


def _db():
    from ..extensions import db

    return db


def _one():
    return sa.literal_column("1")


def _zero():
    return sa.literal_column("0")


def _flag(condition):
    return sa.case((condition, _one()), else_=_zero())


def _has(column, name):
    """``name`` is one of the comma-separated names in ``column`` ("proposal,on_site")."""
    return (sa.literal(",") + column + sa.literal(",")).like(f"%,{name},%")


def _dialect():
    return _db().session.get_bind().dialect.name


def _later_than(later, earlier, span):
    """``later`` is more than ``span`` after ``earlier`` (two columns), on SQLite and PostgreSQL alike."""
    if _dialect() == "sqlite":
        seconds = sa.func.round((sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400)
        return seconds > int(span.total_seconds())
    return later > earlier + sa.literal_column(f"interval '{int(span.total_seconds())} seconds'")


def _buckets(column, bounds):
    """The group a row falls into: its bucket's index among ``bounds`` ([b0, b1, …, bn], n buckets)."""
    if len(bounds) == 2:
        return _zero()
    return sa.case(
        *[(column < b, sa.literal_column(str(i))) for i, b in enumerate(bounds[1:-1])],
        else_=sa.literal_column(str(len(bounds) - 2)),
    )


def _aggregate(group, columns, select_from, where, sums=None, mins=None):
    """One query: ``group`` and the per-row ``columns`` ({name: SQL expression}) selected from ``select_from``
    under ``where``, then summed (or MIN for ``mins``) per group in an outer query (PostgreSQL groups by a column
    of a subquery, never by an expression holding bound values). {group: {name: value}}."""
    inner = sa.select(group.label("g"), *[expr.label(name) for name, expr in columns.items()])
    if select_from is not None:
        inner = inner.select_from(select_from)
    inner = inner.where(*where).subquery()
    mins = set(mins or ())
    outer = sa.select(
        inner.c.g,
        *[
            (sa.func.min(inner.c[n]) if n in mins else sa.func.coalesce(sa.func.sum(inner.c[n]), 0)).label(n)
            for n in columns
        ],
    )
    result = {}
    for row in _db().session.execute(outer.group_by(inner.c.g)):
        result[row.g] = dict(row._mapping)
    return result


# ---------------------------------------------------------------- scoping per source


def _models():
    from ..complaints.models import Complaint, ComplaintEvent
    from ..contracts.models import Contract
    from ..equipment.models import Equipment, WarrantyExtension
    from ..inspections.models import InspectionPlan, ServiceLog, Visit
    from ..renewals.models import QuoteLine, RenewalQuote
    from ..surveys.models import Survey
    from ..tickets.models import ReplacedPart, Ticket, TicketEvent

    return dict(
        Complaint=Complaint,
        ComplaintEvent=ComplaintEvent,
        Contract=Contract,
        Equipment=Equipment,
        WarrantyExtension=WarrantyExtension,
        InspectionPlan=InspectionPlan,
        ServiceLog=ServiceLog,
        Visit=Visit,
        QuoteLine=QuoteLine,
        RenewalQuote=RenewalQuote,
        Survey=Survey,
        ReplacedPart=ReplacedPart,
        Ticket=Ticket,
        TicketEvent=TicketEvent,
    )


def _plain_scope(model, scope):
    """A model with client_id, contract_id and site_id columns."""
    if scope is None:
        return []
    where = [model.client_id == scope.client_id]
    if scope.contract_id is not None:
        where.append(model.contract_id == scope.contract_id)
    if scope.site_id is not None:
        where.append(model.site_id == scope.site_id)
    return where


def _complaint_contract(Complaint, contract_id):
    Ticket = _models()["Ticket"]
    return sa.or_(
        Complaint.ticket_id.is_(None),
        sa.exists().where(Ticket.id == Complaint.ticket_id, Ticket.contract_id == contract_id),
    )


def _complaint_scope(Complaint, scope):
    where = [Complaint.client_id == scope.client_id]
    if scope.contract_id is not None:
        where.append(_complaint_contract(Complaint, scope.contract_id))
    if scope.site_id is not None:
        where.append(Complaint.site_id == scope.site_id)
    return where


def _quote_contract(m, contract_id):
    RenewalQuote, QuoteLine = m["RenewalQuote"], m["QuoteLine"]
    return sa.or_(
        RenewalQuote.contract_id == contract_id,
        sa.exists().where(QuoteLine.quote_id == RenewalQuote.id, QuoteLine.contract_id == contract_id),
    )


def _quote_scope(m, scope):
    RenewalQuote, QuoteLine, Equipment = m["RenewalQuote"], m["QuoteLine"], m["Equipment"]
    where = [RenewalQuote.client_id == scope.client_id]
    if scope.contract_id is not None:
        where.append(_quote_contract(m, scope.contract_id))
    if scope.site_id is not None:
        where.append(
            sa.exists().where(
                QuoteLine.quote_id == RenewalQuote.id,
                Equipment.id == QuoteLine.equipment_id,
                Equipment.site_id == scope.site_id,
            )
        )
    return where


# ---------------------------------------------------------------- the sources
# Each returns {group: {row key: {"met"/"measured", "broken", "pending", …: int}}}; ``group`` is a bucket (a period's
# index among several) or a contract id (the vendor's overview).


def _tally():
    return defaultdict(lambda: defaultdict(lambda: defaultdict(int)))


def _tickets(where, group, now, out):
    """The four clocks, the 24-hour promise and the warranty extensions of the tickets selected."""
    m = _models()
    Ticket, Extension = m["Ticket"], m["WarrantyExtension"]
    columns = {}
    for name in CLOCK_ROWS:
        due, met = getattr(Ticket, f"{name}_due"), getattr(Ticket, f"{name}_met")
        waived, breached = _has(Ticket.waived, name), _has(Ticket.breached, name)
        measured = sa.not_(waived)
        columns[f"{name}_met"] = _flag(
            sa.and_(measured, sa.not_(breached), met.is_not(None), sa.or_(due.is_(None), met <= due))
        )
        columns[f"{name}_broken"] = _flag(
            sa.and_(
                measured,
                sa.or_(
                    breached,
                    sa.and_(met.is_not(None), due.is_not(None), met > due),
                    sa.and_(met.is_(None), due.is_not(None), due < now),
                ),
            )
        )
        columns[f"{name}_pending"] = _flag(
            sa.and_(measured, sa.not_(breached), met.is_(None), sa.or_(due.is_(None), due >= now))
        )
    columns["tickets"] = _one()
    columns["no_response"] = _flag(
        sa.or_(
            sa.and_(Ticket.response_met.is_(None), Ticket.filed_at < now - NO_RESPONSE),
            sa.and_(Ticket.response_met.is_not(None), _later_than(Ticket.response_met, Ticket.filed_at, NO_RESPONSE)),
        )
    )
    columns["no_response_pending"] = _flag(sa.and_(Ticket.response_met.is_(None), Ticket.filed_at >= now - NO_RESPONSE))
    from ..equipment.warranty import STOPPED_WORK_DAYS

    stopped = sa.or_(
        Ticket.work_stopped.is_(True),
        sa.and_(
            Ticket.severity.in_(("A", "B")),
            _has(Ticket.breached, "resolution"),
            Ticket.status.in_(("resolved", "closed")),
        ),
    )
    extension = sa.and_(Extension.cause_kind == "ticket", Extension.cause_id == Ticket.id)
    granted = sa.select(sa.func.coalesce(sa.func.sum(Extension.days), 0)).where(extension).scalar_subquery()
    columns["stopped"] = _flag(stopped)
    columns["extended"] = _flag(sa.and_(stopped, sa.exists().where(extension, Extension.days >= STOPPED_WORK_DAYS)))
    columns["days"] = sa.case((stopped, granted), else_=_zero())
    for g, r in _aggregate(
        group,
        columns,
        None,
        where,
    ).items():
        for name in CLOCK_ROWS:
            t = out[g][name]
            t["measured"] += r[f"{name}_met"]
            t["broken"] += r[f"{name}_broken"]
            t["pending"] += r[f"{name}_pending"]
        t = out[g]["no_response_24h"]
        t["count"] += r["no_response"]
        t["tickets"] += r["tickets"]
        t["pending"] += r["no_response_pending"]
        t = out[g]["extensions"]
        t["total"] += r["stopped"]
        t["measured"] += r["extended"]
        t["days"] += int(r["days"] or 0)


def _parts(where, group, out):
    """Parts swapped in time: (filing, zone, replaced_on) loaded for the tickets selected (parts are few)."""
    m = _models()
    Ticket, Part = m["Ticket"], m["ReplacedPart"]
    rows = (
        _db()
        .session.execute(
            sa.select(group.label("g"), Ticket.filed_at, Ticket.timezone, Part.replaced_on)
            .select_from(Part)
            .join(Ticket, Ticket.id == Part.ticket_id)
            .where(*where)
        )
        .all()
    )
    if not rows:
        return
    from ..sla.holidays import business_calendar

    working = business_calendar()
    for g, filed_at, zone, replaced_on in rows:
        filed = filed_at.astimezone(ZoneInfo(zone or current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()
        t = out[g]["parts_3_days"]
        if replaced_on <= working.add_working_days(filed, PART_WORKING_DAYS):
            t["measured"] += 1
        else:
            t["broken"] += 1


def _replacements(where, group, out):
    m = _models()
    Ticket, Event, Equipment = m["Ticket"], m["TicketEvent"], m["Equipment"]
    columns = {
        "flagged": _one(),
        "replaced": _flag(
            sa.and_(Equipment.replacement_recorded_at.is_not(None), Equipment.replacement_recorded_at >= Event.at)
        ),
    }
    source = sa.join(Event, Ticket, Ticket.id == Event.ticket_id).join(Equipment, Equipment.id == Ticket.equipment_id)
    for g, r in _aggregate(group, columns, source, [Event.action == "replacement_due", *where]).items():
        t = out[g]["replacements"]
        t["total"] += r["flagged"]
        t["measured"] += r["replaced"]


def _quote_within(m):
    """A quote within the terms: every line's rate at or below its contract's renewal rate, and the yearly amount
    for each contract with a ceiling (each line's amount ÷ its years, summed) at or below the ceiling."""
    Quote, Line, Contract = m["RenewalQuote"], m["QuoteLine"], m["Contract"]
    LineContract = aliased(Contract)
    line_contract = LineContract.id == sa.func.coalesce(Line.contract_id, Quote.contract_id)
    over_rate = sa.exists().where(Line.quote_id == Quote.id, line_contract, Line.rate > LineContract.renewal_rate)
    yearly = (
        sa.select(LineContract.id)
        .select_from(Line)
        .join(LineContract, line_contract)
        .where(Line.quote_id == Quote.id, LineContract.renewal_ceiling.is_not(None))
        .group_by(LineContract.id, LineContract.renewal_ceiling)
        .having(sa.func.sum(Line.amount * sa.literal(1.0) / Line.years) > LineContract.renewal_ceiling)
    )
    return sa.and_(sa.not_(over_rate), sa.not_(sa.exists(yearly)))


def _quotes(where, group, out, select_from=None):
    m = _models()
    columns = {"issued": _one(), "within": _flag(_quote_within(m))}
    for g, r in _aggregate(group, columns, select_from, where).items():
        t = out[g]["quotes"]
        t["measured"] += r["within"]
        t["broken"] += r["issued"] - r["within"]


def _complaints(where, group, now, out, select_from=None):
    Complaint = _models()["Complaint"]
    late = sa.or_(Complaint.overdue_rounds > 0, sa.and_(Complaint.due_at.is_not(None), Complaint.due_at < now))
    closed = Complaint.status == "closed"
    columns = {
        "late": _flag(late),
        "waiting": _flag(sa.and_(sa.not_(late), Complaint.due_at.is_not(None))),
        "in_time": _flag(sa.and_(sa.not_(late), Complaint.due_at.is_(None))),
        "closed": _flag(closed),
        "satisfied": _flag(sa.and_(closed, sa.or_(Complaint.rating.is_(None), Complaint.rating >= 4))),
        "open": _flag(Complaint.is_open.is_(True)),
    }
    for g, r in _aggregate(group, columns, select_from, where).items():
        t = out[g]["complaints_24h"]
        t["measured"] += r["in_time"]
        t["broken"] += r["late"]
        t["pending"] += r["waiting"]
        t = out[g]["complaints_satisfied"]
        t["measured"] += r["satisfied"]
        t["broken"] += r["closed"] - r["satisfied"]
        t["pending"] += r["open"]


def _complaint_open_at(at):
    """Open at the moment ``at``: received before it, not closed by it (a closed complaint stays closed)."""
    Complaint = _models()["Complaint"]
    return sa.and_(Complaint.received_at < at, sa.or_(Complaint.closed_at.is_(None), Complaint.closed_at >= at))


def _complaint_overdue_at(at):
    """Past due at ``at``: the round awaiting an answer now was due before ``at``, or a round answered late (its
    "late" event, at the due time, before ``at``) was answered only at or after ``at``."""
    m = _models()
    Complaint, Event = m["Complaint"], m["ComplaintEvent"]
    Answer = aliased(Event)
    answered_late_after = sa.exists().where(
        Event.complaint_id == Complaint.id,
        Event.action == "late",
        Event.at < at,
        sa.exists().where(
            Answer.complaint_id == Event.complaint_id,
            Answer.round == Event.round,
            Answer.action == "answered",
            Answer.at >= at,
        ),
    )
    return sa.or_(sa.and_(Complaint.due_at.is_not(None), Complaint.due_at < at), answered_late_after)


def _complaints_open(where, group, moments, out, select_from=None):
    """Complaints open at each moment T of ``moments`` ({bucket: T}): received before T and not closed by T; the
    oldest one's receipt; how many were past due at T (the round then awaiting an answer was due before T)."""
    Complaint = _models()["Complaint"]
    columns = {}
    for i, at in moments.items():
        open_at, overdue = _complaint_open_at(at), _complaint_overdue_at(at)
        columns[f"open_{i}"] = _flag(open_at)
        columns[f"overdue_{i}"] = _flag(sa.and_(open_at, overdue))
        columns[f"oldest_{i}"] = sa.case((open_at, Complaint.received_at), else_=sa.null())
    latest, earliest = max(moments.values()), min(moments.values())
    where = [
        *where,
        Complaint.received_at < latest,
        sa.or_(Complaint.closed_at.is_(None), Complaint.closed_at >= earliest),
    ]
    mins = {f"oldest_{i}" for i in moments}
    for g, r in _aggregate(group, columns, select_from, where, mins=mins).items():
        for i, at in moments.items():
            target = out[g if len(moments) == 1 else i]["complaints_open"]
            target["count"] += r[f"open_{i}"]
            target["broken"] += r[f"overdue_{i}"]
            oldest = r[f"oldest_{i}"]
            if isinstance(oldest, str):  # SQLite's MIN over a subquery's column: the stored text
                oldest = datetime.fromisoformat(oldest).replace(tzinfo=UTC)
            if oldest is not None:
                if oldest.tzinfo is None:
                    oldest = oldest.replace(tzinfo=UTC)
                days = (at - oldest).days
                target["oldest_days"] = max(target.get("oldest_days", 0), days)
            target["at"] = at


def _visits_due(where, group, today, out):
    from ..inspections.models import DONE_STATES

    Visit = _models()["Visit"]
    done = Visit.status.in_(DONE_STATES)
    scheduled = Visit.status == "scheduled"
    columns = {}
    for key, kind in VISIT_ROWS.items():
        of_kind = Visit.kind == kind
        columns[f"{key}_on_time"] = _flag(sa.and_(of_kind, done, Visit.done_on <= Visit.due_on))
        columns[f"{key}_late"] = _flag(sa.and_(of_kind, done, Visit.done_on > Visit.due_on))
        columns[f"{key}_missed"] = _flag(sa.and_(of_kind, scheduled, Visit.due_on < today))
        columns[f"{key}_pending"] = _flag(sa.and_(of_kind, scheduled, Visit.due_on >= today))
    for g, r in _aggregate(group, columns, None, [Visit.kind.in_(tuple(VISIT_ROWS.values())), *where]).items():
        for key in VISIT_ROWS:
            t = out[g][key]
            t["measured"] += r[f"{key}_on_time"]
            t["late"] += r[f"{key}_late"]
            t["missed"] += r[f"{key}_missed"]
            t["broken"] += r[f"{key}_late"] + r[f"{key}_missed"]
            t["pending"] += r[f"{key}_pending"]


def _visits_done(where, group, out):
    from ..inspections.models import DONE_STATES

    Visit = _models()["Visit"]
    columns = {
        "recorded": _one(),
        "signed": _flag(Visit.status == "signed"),
        "awaiting": _flag(Visit.status == "done"),
        "disputed": _flag(Visit.status == "disputed"),
    }
    for g, r in _aggregate(group, columns, None, [Visit.status.in_(DONE_STATES), *where]).items():
        t = out[g]["visit_signoff"]
        t["measured"] += r["signed"]
        t["broken"] += r["recorded"] - r["signed"]
        t["pending"] += r["awaiting"]
        t["disputed"] += r["disputed"]


def _service_log(where, group, out):
    Log = _models()["ServiceLog"]
    columns = {"entries": _one(), "signed": _flag(Log.signed_at.is_not(None))}
    for g, r in _aggregate(group, columns, None, where).items():
        t = out[g]["service_log"]
        t["measured"] += r["signed"]
        t["broken"] += r["entries"] - r["signed"]


def _ratings(column, where, group, out, source):
    columns = {"answers": _one(), "satisfied": _flag(column >= 4), "points": column}
    for g, r in _aggregate(group, columns, None, [column.is_not(None), *where]).items():
        t = out[g]["satisfaction"]
        t["total"] += r["answers"]
        t["measured"] += r["satisfied"]
        t["points"] += int(r["points"] or 0)
        t[source] += r["answers"]


# ---------------------------------------------------------------- rows from the tallies


def _percent(part, whole):
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _build(key, t, target):
    t = t or {}
    group = GROUPS[key]
    if key == "no_response_24h":
        tickets, count = t.get("tickets", 0), t.get("count", 0)
        return Row(
            key,
            group,
            None if not tickets else count == 0,
            count,
            "count",
            measured=tickets - count - t.get("pending", 0),
            total=tickets,
            pending=t.get("pending", 0),
            target=target,
        )
    if key == "extensions":
        total, measured = t.get("total", 0), t.get("measured", 0)
        return Row(
            key,
            group,
            None if not total else measured == total,
            measured,
            "count",
            measured=measured,
            total=total,
            target=target,
            detail={"days_granted": t.get("days", 0)},
        )
    if key == "replacements":
        total, measured = t.get("total", 0), t.get("measured", 0)
        return Row(
            key,
            group,
            None if not total else measured == total,
            total - measured,
            "count",
            measured=measured,
            total=total,
            target=target,
            detail={"outstanding": total - measured},
        )
    if key == "complaints_open":
        count, broken = t.get("count", 0), t.get("broken", 0)
        return Row(
            key,
            group,
            broken == 0,
            count,
            "count",
            measured=count - broken,
            total=count,
            target=target,
            detail={"oldest_days": t.get("oldest_days", 0) if count else 0, "past_due": broken},
        )
    if key == "satisfaction":
        total, measured = t.get("total", 0), t.get("measured", 0)
        average = (Decimal(t.get("points", 0)) / total).quantize(Decimal("0.1"), ROUND_HALF_UP) if total else None
        met = None if not total else measured * 100 >= SATISFIED_SHARE * total
        return Row(
            key,
            group,
            met,
            _percent(measured, total),
            "percent",
            measured=measured,
            total=total,
            target=target,
            detail={
                "average": average,
                "tickets": t.get("tickets", 0),
                "visits": t.get("visits", 0),
                "surveys": t.get("surveys", 0),
            },
        )
    measured, broken = t.get("measured", 0), t.get("broken", 0)
    total = measured + broken
    detail = {name: t.get(name, 0) for name in ("late", "missed", "disputed") if name in t}
    return Row(
        key,
        group,
        None if not total else broken == 0,
        _percent(measured, total),
        "percent",
        measured=measured,
        total=total,
        pending=t.get("pending", 0),
        target=target,
        detail=detail,
    )


def _rows(tallies, targets):
    return [_build(key, tallies.get(key), dict(targets.get(key, {}))) for key in ROW_KEYS]


def _contracts_of(scope):
    Contract = _models()["Contract"]
    query = sa.select(Contract).where(Contract.client_id == scope.client_id)
    if scope.contract_id is not None:
        query = query.where(Contract.id == scope.contract_id)
    return _db().session.scalars(query.order_by(Contract.id)).all()


def _targets(contracts):
    """Each row's target from the contracts' own terms: SLA policies, renewal terms, inspection plans."""
    from ..equipment.warranty import STOPPED_WORK_DAYS
    from ..inspections.schedule import END_OF_LIFE_WINDOW_MONTHS
    from ..sla.models import BID_TARGETS
    from ..sla.services import policies_for
    from ..tickets.services import REPAIRS_BEFORE_REPLACEMENT

    targets = {}
    policies = policies_for([c.id for c in contracts]).values() if contracts else []
    clocks = {p.clock for p in policies}
    clock = clocks.pop() if len(clocks) == 1 else ("mixed" if clocks else "24x7")
    for name in CLOCK_ROWS:
        minutes = [getattr(t, name) for p in policies for t in p.targets] or [BID_TARGETS[name]]
        targets[name] = {"minutes": min(minutes), "clock": clock}
        if max(minutes) != min(minutes):
            targets[name]["minutes_max"] = max(minutes)
    targets["no_response_24h"] = {"count": 0, "hours": 24}
    targets["parts_3_days"] = {"working_days": PART_WORKING_DAYS}
    targets["extensions"] = {"days": STOPPED_WORK_DAYS}
    targets["replacements"] = {"repairs": REPAIRS_BEFORE_REPLACEMENT, "outstanding": 0}
    rates = [c.renewal_rate for c in contracts if c.renewal_rate is not None]
    ceilings = [c.renewal_ceiling for c in contracts if c.renewal_ceiling is not None]
    targets["quotes"] = {
        "rate": min(rates) if rates else None,
        "ceiling": ceilings[0] if len(contracts) == 1 and ceilings else None,
    }
    hours = current_app.config["COMPLAINT_ANSWER_HOURS"]
    targets["complaints_24h"] = {"hours": hours}
    targets["complaints_satisfied"] = {"share": 100}
    targets["complaints_open"] = {"hours": hours}
    InspectionPlan = _models()["InspectionPlan"]
    plans = (
        _db()
        .session.scalars(sa.select(InspectionPlan).where(InspectionPlan.contract_id.in_([c.id for c in contracts])))
        .all()
        if contracts
        else []
    )
    frequencies = {p.frequency for p in plans}
    targets["inspections"] = {
        "frequency": frequencies.pop() if len(frequencies) == 1 else ("mixed" if frequencies else None)
    }
    targets["end_of_life"] = {
        "months": END_OF_LIFE_WINDOW_MONTHS,
        "planned": any(p.end_of_life for p in plans) if plans else None,
    }
    phone = {p.phone_visits for p in plans}
    targets["phone_visits"] = {"per_year": phone.pop() if len(phone) == 1 else (max(phone) if phone else 4)}
    targets["return_visits"] = {
        "frequency": "quarterly",
        "planned": any(p.return_visits for p in plans) if plans else True,
    }
    targets["visit_signoff"] = {"share": 100}
    targets["service_log"] = {"share": 100}
    targets["satisfaction"] = {"share": SATISFIED_SHARE}
    return targets


# ---------------------------------------------------------------- the questions


class _Ranges:
    """What every source needs to select and bucket its rows: the UTC bounds (times) and the local days (dates)."""

    def __init__(self, days):
        self.days = days  # [d0, d1, …, dn]: n buckets [d_i, d_i+1)
        self.times = [_utc(d) for d in days]

    def time(self, column):
        return [column >= self.times[0], column < self.times[-1]], _buckets(column, self.times)

    def date(self, column):
        return [column >= self.days[0], column < self.days[-1]], _buckets(column, self.days)


def _measure(scope, ranges, now, out):
    """Every source's tallies for ``scope`` (None: every client, grouped by contract), bucketed by ``ranges``."""
    m = _models()
    Ticket, Event, Quote, Complaint = m["Ticket"], m["TicketEvent"], m["RenewalQuote"], m["Complaint"]
    Visit, Log, Survey, Contract = m["Visit"], m["ServiceLog"], m["Survey"], m["Contract"]
    by_contract = scope is None

    def grouped(column_range, contract_column):
        where, bucket = column_range
        return where, (contract_column if by_contract else bucket)

    where, group = grouped(ranges.time(Ticket.filed_at), Ticket.contract_id)
    tickets = [*_plain_scope(Ticket, scope), *where]
    _tickets(tickets, group, now, out)
    _parts(tickets, group, out)
    where, group = grouped(ranges.time(Event.at), Ticket.contract_id)
    _replacements([*_plain_scope(Ticket, scope), *where], group, out)
    where, group = grouped(ranges.time(Quote.issued_at), Contract.id)
    if by_contract:
        source = sa.join(
            Quote, Contract, sa.and_(Contract.client_id == Quote.client_id, _quote_contract(m, Contract.id))
        )
        _quotes(where, group, out, source)
    else:
        _quotes([*_quote_scope(m, scope), *where], group, out)
    where, group = grouped(ranges.time(Complaint.received_at), Contract.id)
    source = (
        sa.join(
            Complaint,
            Contract,
            sa.and_(Contract.client_id == Complaint.client_id, _complaint_contract(Complaint, Contract.id)),
        )
        if by_contract
        else None
    )
    scoped = [] if by_contract else _complaint_scope(Complaint, scope)
    _complaints([*scoped, *where], group, now, out, source)
    moments = {i: min(at, now) for i, at in enumerate(ranges.times[1:])}
    _complaints_open(scoped, Contract.id if by_contract else _zero(), moments, out, source)
    where, group = grouped(ranges.date(Visit.due_on), Visit.contract_id)
    _visits_due([*_plain_scope(Visit, scope), *where], group, _today(now), out)
    where, group = grouped(ranges.date(Visit.done_on), Visit.contract_id)
    _visits_done([*_plain_scope(Visit, scope), *where], group, out)
    where, group = grouped(ranges.date(Log.work_date), Log.contract_id)
    _service_log([*_plain_scope(Log, scope), *where], group, out)
    where, group = grouped(ranges.time(Ticket.closed_at), Ticket.contract_id)
    _ratings(Ticket.rating, [*_plain_scope(Ticket, scope), *where], group, out, "tickets")
    where, group = grouped(ranges.time(Visit.signed_at), Visit.contract_id)
    _ratings(Visit.satisfaction, [*_plain_scope(Visit, scope), *where], group, out, "visits")
    where, group = grouped(ranges.time(Survey.answered_at), Survey.contract_id)
    _ratings(Survey.rating, [*_plain_scope(Survey, scope), *where], group, out, "surveys")
    return out


def _deposit(contract, rows):
    from ..equipment.warranty import add_months

    rate_ = contract.deposit_rate if contract.deposit_rate is not None else Decimal("0.05")
    amount = (contract.price * rate_).quantize(Decimal("0.01"), ROUND_HALF_UP) if contract.price is not None else None
    due_on = add_months(contract.accepted_on, contract.deposit_months or 0) if contract.accepted_on else None
    measured = [r for r in rows if r.met is not None and (r.total or r.key == "complaints_open" and r.value)]
    promises_met = None if not measured else not any(r.met is False for r in rows)
    return Deposit(amount, rate_, due_on, contract.deposit_returned_on, promises_met)


def scorecard(scope, period, *, now=None):
    """Every row for ``scope`` and ``period``; a bounded number of queries whatever the data's size."""
    now = _now(now)
    out = _measure(scope, _Ranges([period.start, period.end]), now, _tally())
    contracts = _contracts_of(scope)
    rows = _rows(out.get(0, {}), _targets(contracts))
    deposit = None
    if scope.contract_id is not None and contracts:
        deposit = _deposit(contracts[0], rows)
    return Scorecard(scope, period, rows, deposit)


def trends(scope, *, months=12, now=None):
    """Each row's figure for each of the last ``months`` calendar months (the current one last):
    {row key: [(month start date, value or None, met or None), …]}, in a bounded number of queries."""
    now = _now(now)
    months = max(1, min(int(months), 120))
    first = _month_start(_today(now), 1 - months)
    days = [_month_start(first, i) for i in range(months + 1)]
    out = _measure(scope, _Ranges(days), now, _tally())
    targets = {}  # the figures do not depend on the targets (met does not either)
    result = {key: [] for key in ROW_KEYS}
    for i, start in enumerate(days[:-1]):
        for row in _rows(out.get(i, {}), targets):
            result[row.key].append((start, row.value, row.met))
    return result


# ---------------------------------------------------------------- the evidence behind a row


def _clock_broken(Ticket, name, now):
    due, met = getattr(Ticket, f"{name}_due"), getattr(Ticket, f"{name}_met")
    return sa.and_(
        sa.not_(_has(Ticket.waived, name)),
        sa.or_(
            _has(Ticket.breached, name),
            sa.and_(met.is_not(None), due.is_not(None), met > due),
            sa.and_(met.is_(None), due.is_not(None), due < now),
        ),
    )


def evidence(key, scope, period, *, now=None, only_broken=False):
    """The objects behind a row, as a list of ``(source, model, select)``: ``source`` names the list
    ("tickets", "parts", "units", "quotes", "complaints", "visits", "service_log", "ticket_ratings",
    "visit_ratings", "surveys"), ``model`` the mapped class the select returns (Ticket, ReplacedPart, Equipment,
    RenewalQuote, Complaint, Visit, ServiceLog, Ticket, Visit, Survey), newest first. Most rows have one source;
    satisfaction has three (ticket ratings, visit ratings, survey answers). ``only_broken`` keeps the objects that
    broke the promise. Pages paginate each select; nothing here runs it (except for ``parts_3_days`` with
    ``only_broken``: the working days are counted in Python, so the late parts' ids are found first)."""
    if key not in ROW_KEYS:
        raise KeyError(key)
    now = _now(now)
    m = _models()
    Ticket, Event, Equipment, Quote = m["Ticket"], m["TicketEvent"], m["Equipment"], m["RenewalQuote"]
    Complaint, Visit, Log, Survey, Part = m["Complaint"], m["Visit"], m["ServiceLog"], m["Survey"], m["ReplacedPart"]
    ranges = _Ranges([period.start, period.end])
    tickets = [*_plain_scope(Ticket, scope), *ranges.time(Ticket.filed_at)[0]]
    newest_tickets = (Ticket.filed_at.desc(), Ticket.id.desc())
    if key in CLOCK_ROWS:
        where = [*tickets, sa.not_(_has(Ticket.waived, key))]
        if only_broken:
            where.append(_clock_broken(Ticket, key, now))
        return [("tickets", Ticket, sa.select(Ticket).where(*where).order_by(*newest_tickets))]
    if key == "no_response_24h":
        where = list(tickets)
        if only_broken:
            where.append(
                sa.or_(
                    sa.and_(Ticket.response_met.is_(None), Ticket.filed_at < now - NO_RESPONSE),
                    sa.and_(
                        Ticket.response_met.is_not(None), _later_than(Ticket.response_met, Ticket.filed_at, NO_RESPONSE)
                    ),
                )
            )
        return [("tickets", Ticket, sa.select(Ticket).where(*where).order_by(*newest_tickets))]
    if key == "parts_3_days":
        query = sa.select(Part).join(Ticket, Ticket.id == Part.ticket_id).where(*tickets)
        if only_broken:
            late = []
            rows = (
                _db()
                .session.execute(
                    sa.select(Part.id, Ticket.filed_at, Ticket.timezone, Part.replaced_on)
                    .join(Ticket, Ticket.id == Part.ticket_id)
                    .where(*tickets)
                )
                .all()
            )
            if rows:
                from ..sla.holidays import business_calendar

                working = business_calendar()
                for part_id, filed_at, zone, replaced_on in rows:
                    filed = filed_at.astimezone(ZoneInfo(zone)).date()
                    if replaced_on > working.add_working_days(filed, PART_WORKING_DAYS):
                        late.append(part_id)
            query = query.where(Part.id.in_(late))
        return [("parts", Part, query.order_by(Part.replaced_on.desc(), Part.id.desc()))]
    if key == "extensions":
        from ..equipment.warranty import STOPPED_WORK_DAYS

        Extension = m["WarrantyExtension"]
        stopped = sa.or_(
            Ticket.work_stopped.is_(True),
            sa.and_(
                Ticket.severity.in_(("A", "B")),
                _has(Ticket.breached, "resolution"),
                Ticket.status.in_(("resolved", "closed")),
            ),
        )
        where = [*tickets, stopped]
        if only_broken:
            where.append(
                sa.not_(
                    sa.exists().where(
                        Extension.cause_kind == "ticket",
                        Extension.cause_id == Ticket.id,
                        Extension.days >= STOPPED_WORK_DAYS,
                    )
                )
            )
        return [("tickets", Ticket, sa.select(Ticket).where(*where).order_by(*newest_tickets))]
    if key == "replacements":
        flags = (
            sa.select(Ticket.equipment_id)
            .select_from(Event)
            .join(Ticket, Ticket.id == Event.ticket_id)
            .where(Event.action == "replacement_due", *_plain_scope(Ticket, scope), *ranges.time(Event.at)[0])
        )
        if only_broken:
            flags = flags.join(Equipment, Equipment.id == Ticket.equipment_id).where(
                sa.or_(Equipment.replacement_recorded_at.is_(None), Equipment.replacement_recorded_at < Event.at)
            )
        return [
            (
                "units",
                Equipment,
                sa.select(Equipment)
                .where(Equipment.id.in_(flags))
                .order_by(
                    Equipment.replacement_due_since.desc().nulls_last()
                    if _dialect() == "postgresql"
                    else Equipment.replacement_due_since.desc(),
                    Equipment.id.desc(),
                ),
            )
        ]
    if key == "quotes":
        where = [*_quote_scope(m, scope), *ranges.time(Quote.issued_at)[0]]
        query = sa.select(Quote).where(*where).order_by(Quote.issued_at.desc(), Quote.id.desc())
        if only_broken:
            within = _quote_within(m)
            query = query.where(sa.not_(within))
        return [("quotes", Quote, query)]
    if key in ("complaints_24h", "complaints_satisfied", "complaints_open"):
        where = _complaint_scope(Complaint, scope)
        if key == "complaints_open":
            at = min(_utc(period.end), now)
            where.append(_complaint_open_at(at))
            if only_broken:
                where.append(_complaint_overdue_at(at))
        else:
            where += ranges.time(Complaint.received_at)[0]
            if key == "complaints_24h" and only_broken:
                where.append(
                    sa.or_(Complaint.overdue_rounds > 0, sa.and_(Complaint.due_at.is_not(None), Complaint.due_at < now))
                )
            if key == "complaints_satisfied":
                where.append(Complaint.status == "closed")
                if only_broken:
                    where.append(Complaint.rating < 4)
        return [
            (
                "complaints",
                Complaint,
                sa.select(Complaint).where(*where).order_by(Complaint.received_at.desc(), Complaint.id.desc()),
            )
        ]
    if key in VISIT_ROWS:
        from ..inspections.models import DONE_STATES

        where = [*_plain_scope(Visit, scope), *ranges.date(Visit.due_on)[0], Visit.kind == VISIT_ROWS[key]]
        if only_broken:
            where.append(
                sa.or_(
                    sa.and_(Visit.status.in_(DONE_STATES), Visit.done_on > Visit.due_on),
                    sa.and_(Visit.status == "scheduled", Visit.due_on < _today(now)),
                )
            )
        return [("visits", Visit, sa.select(Visit).where(*where).order_by(Visit.due_on.desc(), Visit.id.desc()))]
    if key == "visit_signoff":
        from ..inspections.models import DONE_STATES

        where = [*_plain_scope(Visit, scope), *ranges.date(Visit.done_on)[0], Visit.status.in_(DONE_STATES)]
        if only_broken:
            where.append(Visit.status != "signed")
        return [("visits", Visit, sa.select(Visit).where(*where).order_by(Visit.done_on.desc(), Visit.id.desc()))]
    if key == "service_log":
        where = [*_plain_scope(Log, scope), *ranges.date(Log.work_date)[0]]
        if only_broken:
            where.append(Log.signed_at.is_(None))
        return [("service_log", Log, sa.select(Log).where(*where).order_by(Log.work_date.desc(), Log.id.desc()))]
    # satisfaction
    sources = []
    for source, model, column, when in (
        ("ticket_ratings", Ticket, Ticket.rating, Ticket.closed_at),
        ("visit_ratings", Visit, Visit.satisfaction, Visit.signed_at),
        ("surveys", Survey, Survey.rating, Survey.answered_at),
    ):
        where = [*_plain_scope(model, scope), *ranges.time(when)[0], column.is_not(None)]
        if only_broken:
            where.append(column < 4)
        sources.append((source, model, sa.select(model).where(*where).order_by(when.desc(), model.id.desc())))
    return sources


# ---------------------------------------------------------------- the vendor's overview


def at_risk(*, now=None, limit=None):
    """The vendor's overview: every contract with this month's count of rows broken or at risk (open clocks past
    their risk point, visits due within 7 days and not done, complaints due within 4 h), most first:
    [(contract, broken, at_risk), …], in a bounded number of queries (grouped by contract, not one scorecard each).

    ``broken`` counts the rows of the contract's scorecard for this month that are broken; ``at_risk`` the other
    rows with something at risk now: a clock of an open ticket past its risk point and not yet due (the clock's
    row), a visit not done and due within 7 days (its kind's row), a complaint whose answer is due within 4 hours
    (complaints_24h). Contracts with nothing broken or at risk follow, by number."""
    now = _now(now)
    today = _today(now)
    m = _models()
    Ticket, Visit, Complaint, Contract = m["Ticket"], m["Visit"], m["Complaint"], m["Contract"]
    first = _month_start(today)
    out = _measure(None, _Ranges([first, _month_start(first, 1)]), now, _tally())
    broken = defaultdict(set)
    for contract_id, tallies in out.items():
        if contract_id is None:
            continue
        for row in _rows(tallies, {}):
            if row.met is False:
                broken[contract_id].add(row.key)
    risky = defaultdict(set)
    columns = {}
    for name in CLOCK_ROWS:
        due, risk, met = (getattr(Ticket, f"{name}_{part}") for part in ("due", "risk", "met"))
        columns[name] = _flag(sa.and_(met.is_(None), sa.not_(_has(Ticket.waived, name)), risk <= now, due >= now))
    found = _aggregate(
        Ticket.contract_id, columns, None, [Ticket.is_open.is_(True), Ticket.next_due >= now, Ticket.next_risk <= now]
    )
    for contract_id, r in found.items():
        risky[contract_id].update(name for name in CLOCK_ROWS if r[name])
    columns = {key: _flag(Visit.kind == kind) for key, kind in VISIT_ROWS.items()}
    found = _aggregate(
        Visit.contract_id,
        columns,
        None,
        [Visit.status == "scheduled", Visit.due_on >= today, Visit.due_on <= today + timedelta(days=RISK_VISIT_DAYS)],
    )
    for contract_id, r in found.items():
        risky[contract_id].update(key for key in VISIT_ROWS if r[key])
    source = sa.join(
        Complaint,
        Contract,
        sa.and_(Contract.client_id == Complaint.client_id, _complaint_contract(Complaint, Contract.id)),
    )
    found = _aggregate(
        Contract.id,
        {"due": _one()},
        source,
        [Complaint.is_open.is_(True), Complaint.due_at >= now, Complaint.due_at <= now + RISK_COMPLAINT],
    )
    for contract_id, r in found.items():
        if r["due"]:
            risky[contract_id].add("complaints_24h")
    contracts = _db().session.scalars(sa.select(Contract).order_by(Contract.number)).all()
    ranked = [(c, len(broken[c.id]), len(risky[c.id] - broken[c.id])) for c in contracts]
    ranked.sort(key=lambda item: (-(item[1] + item[2]), -item[1]))
    return ranked[:limit] if limit else ranked
