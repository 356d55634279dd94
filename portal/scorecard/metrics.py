"""The service scorecard (履约看板): every promise of the bid, measured from the stored events.

One module computes every number; pages, the evidence pack and the vendor's overview only show what it returns.
Nothing here loads rows to count them: each source (tickets, parts, extensions, quotes, complaints, visits, the
service log, ratings) is read with one aggregate query over an indexed range.

THE INTERFACE BELOW IS FIXED (pages and the PDF are built against it); the bodies are filled in by the metrics work.

Vocabulary
- ``Scope``: a client, optionally narrowed to one contract and/or one site. A school administrator's scope always
  carries their site. Rows whose site is NULL (phone visits for the whole client, complaints without a site) count
  for a client-wide scope only, never for a site scope.
- ``Period``: [start, end) as dates in the site time zone (the app's PORTAL_TIMEZONE, default Asia/Shanghai);
  ``utc_bounds()`` gives the UTC datetimes for ``UTCDateTime`` columns. Events are attributed to a period by:
  tickets by ``filed_at``; replaced parts by the ticket's ``filed_at``; warranty extensions by ``created_at``;
  quotes by ``issued_at``; complaints by ``received_at``; visits by ``due_on``; service log by ``work_date``;
  ratings by when they were given (ticket ``closed_at``, visit ``signed_at``, complaint ``closed_at``, survey
  ``answered_at``).
- A ``Row``: one promise. ``met`` is True (kept), False (broken), or None (nothing to measure in the period, or
  only clocks still running). ``measured``/``total`` are the counts behind the figure (e.g. 47 of 48 clocks met);
  ``value`` is the figure itself (a percentage as a Decimal 0–100, a count, or an average) per ``unit``.
"""
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

# The rows, in the order the scorecard shows them; the key names the row everywhere (URLs, the PDF, the trends).
ROW_KEYS = (
    "response", "proposal", "on_site", "resolution",  # % of clocks met, per the contract's own targets
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
    "response": "faults", "proposal": "faults", "on_site": "faults", "resolution": "faults",
    "no_response_24h": "faults", "parts_3_days": "faults", "extensions": "warranty", "replacements": "warranty",
    "quotes": "warranty", "complaints_24h": "complaints", "complaints_satisfied": "complaints",
    "complaints_open": "complaints", "inspections": "visits", "end_of_life": "visits", "phone_visits": "visits",
    "return_visits": "visits", "visit_signoff": "visits", "service_log": "visits", "satisfaction": "satisfaction",
}


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

    def utc_bounds(self):
        """(start, end) as UTC datetimes (naive or aware as ``portal.types.UTCDateTime`` stores them)."""
        raise NotImplementedError

    @classmethod
    def parse(cls, kind, value=None, *, start=None, end=None, contract=None, today):
        """The period a page asks for: ``month`` with value "2026-10", ``quarter`` "2026-Q3", ``year`` "2025",
        ``service_year`` with value "1", "2", … counted from the contract's ``accepted_on`` (needs ``contract``),
        ``custom`` with ``start``/``end`` (inclusive last day as the user types it). No value: the current one
        (the current month, quarter, year, service year). Raises ValueError with a translated message for anything
        out of range (before 2000, after 2100, end before start, longer than 5 years)."""
        raise NotImplementedError

    def label(self):
        """How the page names it, in the reader's locale ("2026年10月", "Q3 2026", "2nd service year …")."""
        raise NotImplementedError


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
        raise NotImplementedError

    @property
    def target_text(self):
        """The target in words, translated and formatted for the locale ("30 min, 7×24", "0", "≥ 95 %")."""
        raise NotImplementedError

    @property
    def measured_text(self):
        """What was measured, in words ("47 of 48 clocks met (97.9 %)")."""
        raise NotImplementedError


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


def scorecard(scope, period, *, now=None):
    """Every row for ``scope`` and ``period``; a bounded number of queries whatever the data's size."""
    raise NotImplementedError


def trends(scope, *, months=12, now=None):
    """Each row's figure for each of the last ``months`` calendar months (the current one last):
    {row key: [(month start date, value or None, met or None), …]}, in a bounded number of queries."""
    raise NotImplementedError


def evidence(key, scope, period, *, now=None, only_broken=False):
    """The objects behind a row, as a list of ``(source, model, select)``: ``source`` names the list
    ("tickets", "parts", "units", "quotes", "complaints", "visits", "service_log", "ticket_ratings",
    "visit_ratings", "surveys"), ``model`` the mapped class the select returns (Ticket, ReplacedPart, Equipment,
    RenewalQuote, Complaint, Visit, ServiceLog, Ticket, Visit, Survey), newest first. Most rows have one source;
    satisfaction has three (ticket ratings, visit ratings, survey answers). ``only_broken`` keeps the objects that
    broke the promise. Pages paginate each select; nothing here runs it."""
    raise NotImplementedError


def at_risk(*, now=None, limit=None):
    """The vendor's overview: every contract with this month's count of rows broken or at risk (open clocks past
    their risk point, visits due within 7 days and not done, complaints due within 4 h), most first:
    [(contract, broken, at_risk), …], in a bounded number of queries (grouped by contract, not one scorecard each)."""
    raise NotImplementedError
