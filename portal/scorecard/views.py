"""The service scorecard's pages (履约看板): the scorecard, the evidence behind a row, the vendor's overview.

Every figure comes from ``metrics`` (one tested module); these views only choose the scope and the period from the
query string, check them (a message per field, never a 500), and lay out what the module returns. Who sees what:
the vendor every client; a client administrator their client, every site; a school administrator their school
(the site filter fixed); the client's IT staff not at all (403). Another client's contract or site answers 404.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from babel.lists import format_list
from babel.units import format_unit
from flask import abort, current_app, request
from flask_babel import format_decimal, format_percent
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import joinedload

from .. import choices as choice_lists  # the module: it imports models whose packages import views
from ..bounds import page_number
from ..complaints.models import Complaint
from ..contracts.models import Contract
from ..equipment.models import Equipment
from ..extensions import db
from ..htmx import is_htmx, render
from ..i18n import _l, active_locale, duration, is_chinese, local_today
from ..i18n import gettext as _
from ..inspections.models import ServiceLog, Visit
from ..orgs.models import Client, Site
from ..pagination import Order, offset_page, paginate
from ..renewals.models import RenewalQuote
from ..reports.views import PACK_ISSUERS
from ..roles import VENDOR, Role
from ..scoping import roles_required
from ..surveys.models import Survey
from ..tickets.models import ReplacedPart, Ticket
from ..types import utcnow
from . import bp, metrics
from .forms import PERIOD_KINDS, VALUE_HINTS, ScorecardFilter

ROLES = (Role.VENDOR_MANAGER, Role.VENDOR_AGENT, Role.CLIENT_ADMIN, Role.SITE_ADMIN)
OVERVIEW_ROLES = tuple(VENDOR)

GROUP_LABELS = {
    "faults": _l("Faults"),
    "warranty": _l("Warranty and renewal"),
    "complaints": _l("Complaints"),
    "visits": _l("Inspections and visits"),
    "satisfaction": _l("Satisfaction"),
}
RESULTS = {  # met → (words, tone, icon): a colour never alone
    True: (_l("Kept"), "success", "check-circle"),
    False: (_l("Broken"), "danger", "x-octagon"),
    None: (_l("Nothing to measure"), "secondary", "dash-circle"),
}
CLOCKS = ("response", "proposal", "on_site", "resolution")


# ---------------------------------------------------------------- the scope and the period


@dataclass
class Request:
    """What a scorecard page asks for, after checking: the filter form, the choices it offers, and (when the form
    is valid and a client is known) the metrics scope and period."""

    form: ScorecardFilter
    choices: object
    contract: Contract | None = None
    site: Site | None = None
    client: Client | None = None
    scope: metrics.Scope | None = None
    period: metrics.Period | None = None
    errors: list = field(default_factory=list)  # (field label, message) of every field in error

    @property
    def valid(self):
        return not self.errors and self.scope is not None and self.period is not None


def read_request(user):
    """The scorecard's filters of this request, checked for ``user``; 404 for another client's contract or site."""
    form = ScorecardFilter(request.args)
    ok = form.validate()
    client_id, contract_id, site_id = form.client.data, form.contract.data, form.site.data
    if user.is_vendor:
        choices = choice_lists.scope_choices(user, client_id, site_id, contract_id, sites=True, contracts=True)
        client_id, site_id, contract_id = choices.client, choices.site, choices.contract
    else:
        if client_id is not None and client_id != user.client_id:
            abort(404)
        if contract_id is not None:
            Contract.get_or_404(contract_id, user)
        if site_id is not None:
            Site.get_or_404(site_id, user)
        choices = choice_lists.scope_choices(user, sites=True, contracts=True)
        client_id = user.client_id
        if user.site_id is not None:
            site_id = user.site_id
    # What the form shows is what was chosen: a vendor's contract of another client is dropped, as in the lists.
    form.client.data, form.contract.data, form.site.data = client_id, contract_id, site_id
    found = Request(form=form, choices=choices)
    found.contract = next((c for c in choices.contracts if c.id == contract_id), None) if contract_id else None
    if contract_id and found.contract is None:  # a school administrator's, not among the choices offered
        found.contract = Contract.get_or_404(contract_id, user)
    if site_id:
        found.site = next((s for s in choices.sites if s.id == site_id), None) or (
            user.site if user.site_id == site_id else None
        )
    if client_id is not None:
        found.client = next((c for c in choices.clients if c.id == client_id), None) or (
            user.client if not user.is_vendor else None
        )
    if ok and client_id is not None:
        try:
            found.period = metrics.Period.parse(
                form.period.data,
                form.value.data or None,
                start=form.start.data,
                end=form.end.data,
                contract=found.contract,
                today=local_today(),
            )
        except ValueError as refused:
            message = refused.args[0] if refused.args else _("This period cannot be shown.")
            target = form.end if form.period.data == "custom" else form.value
            target.errors = [*target.errors, message]
            ok = False
        found.scope = metrics.Scope(client_id=client_id, contract_id=contract_id, site_id=site_id)
    if not ok:
        found.errors = [(f.label.text, message) for f in form for message in f.errors]
    return found


# ---------------------------------------------------------------- presentation helpers (figures only formatted)


def figure(value, unit):
    """A row's figure as the page shows it, in the reader's locale: 97.9 %, 3, 12 days, 4.6 / 5."""
    if value is None:
        return "—"
    if unit == "percent":
        return format_percent(Decimal(value) / 100, "#,##0.#%")
    if unit == "rating":
        return _("%(average)s / 5", average=format_decimal(value, "#,##0.0"))
    if unit == "days":
        return _("%(n)s days", n=format_decimal(value))
    return format_decimal(value)


BAR_W, BAR_GAP, SPARK_H = 8, 3, 28


def sparkline(points, unit):
    """The bars of a row's trend (12 months, the current one last): the geometry of each bar, its tone and its
    words. Heights follow the figure (a percentage against 100, a count or an average against the largest of the
    year); a month without anything to measure is a short grey stub."""
    values = [v for _m, v, _met in points if v is not None]
    top = Decimal(100) if unit == "percent" else Decimal(5) if unit == "rating" else max(values, default=0) or 1
    bars = []
    for n, (month, value, met) in enumerate(points):
        if value is None:
            height = 2
        else:
            height = max(3, round(float(Decimal(value) / Decimal(top)) * (SPARK_H - 2), 1))
        words = RESULTS[met][0]
        bars.append(
            dict(
                x=n * (BAR_W + BAR_GAP),
                y=SPARK_H - height,
                h=height,
                tone=RESULTS[met][1],
                month=month,
                figure=figure(value, unit),
                words=words,
            )
        )
    return dict(bars=bars, width=len(points) * (BAR_W + BAR_GAP) - BAR_GAP, height=SPARK_H)


@bp.app_template_filter("scorefigure")
def scorefigure(value, unit):
    return figure(value, unit)


def common(found, **context):
    return dict(
        found=found,
        form=found.form,
        htmx=is_htmx(),
        choices=found.choices,
        kinds=PERIOD_KINDS,
        hints=VALUE_HINTS,
        groups=GROUP_LABELS,
        results=RESULTS,
        pack_issuers=PACK_ISSUERS,
        **context,
    )


# ---------------------------------------------------------------- the scorecard


@bp.get("/")
@roles_required(*ROLES)
def index():
    found = read_request(current_user)
    card = trend = None
    if found.valid:
        now = utcnow()
        card = metrics.scorecard(found.scope, found.period, now=now)
        points = metrics.trends(found.scope, now=now)
        trend = {row.key: sparkline(points.get(row.key, []), row.unit) for row in card.rows}
    response = render(
        "scorecard/index.html",
        fragment="scorecard/_card.html",
        **common(found, card=card, trend=trend, today=local_today()),
    )
    if found.errors:
        response.status_code = 400
    return response


# ---------------------------------------------------------------- the evidence behind a row

# Each source's order, newest first (the id last).

ORDERS = {
    Ticket: Order("ev-ticket", (Ticket.filed_at, Ticket.id), desc=True),
    ReplacedPart: Order("ev-part", (ReplacedPart.id,), desc=True),
    Equipment: Order("ev-unit", (Equipment.id,), desc=True),
    RenewalQuote: Order("ev-quote", (RenewalQuote.id,), desc=True),
    Complaint: Order("ev-complaint", (Complaint.received_at, Complaint.id), desc=True),
    Visit: Order("ev-visit", (Visit.due_on, Visit.id), desc=True),
    ServiceLog: Order("ev-log", (ServiceLog.work_date, ServiceLog.id), desc=True),
    Survey: Order("ev-survey", (Survey.id,), desc=True),
}
LOADS = {
    Ticket: (joinedload(Ticket.site),),
    ReplacedPart: (joinedload(ReplacedPart.ticket),),
    Equipment: (joinedload(Equipment.model), joinedload(Equipment.site)),
    Complaint: (joinedload(Complaint.site),),
    Visit: (joinedload(Visit.site),),
    ServiceLog: (joinedload(ServiceLog.site),),
}
SOURCE_LABELS = {
    "tickets": _l("Fault reports"),
    "parts": _l("Replaced parts"),
    "units": _l("Units"),
    "quotes": _l("Renewal quotes"),
    "complaints": _l("Complaints"),
    "visits": _l("Visits"),
    "service_log": _l("Service log"),
    "ticket_ratings": _l("Ratings of fault reports"),
    "visit_ratings": _l("Ratings of visits"),
    "surveys": _l("Survey answers"),
}


def source_args(source, args):
    """The paging arguments of one source's list (a page may show three lists, each paged on its own)."""
    prefix = f"{source}-"
    return {k[len(prefix) :]: v for k, v in args.items() if k.startswith(prefix)}


def prefixed(source, args):
    return {f"{source}-{k}": v for k, v in args.items()}


def late_minutes(due, met, now):
    """How late a clock was met (or is, while it runs): whole minutes, or None when in time."""
    if due is None:
        return None
    end = met or now
    if end <= due:
        return None
    return int((end - due) / timedelta(minutes=1))


def clock_facts(ticket, key, now):
    due, met = getattr(ticket, f"{key}_due"), getattr(ticket, f"{key}_met")
    waived = key in (ticket.waived or "").split(",")
    late = None if waived else late_minutes(due, met, now)
    if waived:
        state = (_("Not needed"), "secondary", "dash-circle")
    elif met is None and late is None:
        state = (_("Running"), "info", "hourglass-split")
    elif late is None:
        state = (_("Met in time"), "success", "check-circle")
    else:
        state = (_("Late") if met else _("Late, still open"), "danger", "x-octagon")
    return dict(due=due, met=met, late=late, late_text=lateness(late), state=state)


def lateness(minutes):
    """How late, as people say it: minutes or hours within two days, days beyond."""
    if minutes is None:
        return None
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        if not hours or not rest:
            return duration(minutes)
        return format_list([duration(hours * 60), duration(rest)], style="unit", locale=active_locale())
    return format_unit(
        minutes // (24 * 60), "duration-day", length="short" if is_chinese() else "long", locale=active_locale()
    )


@bp.get("/evidence/<key>")
@roles_required(*ROLES)
def evidence(key):
    if key not in metrics.ROW_KEYS:
        abort(404)
    found = read_request(current_user)
    only_broken = request.args.get("only") == "broken"
    lists, row = [], None
    now = utcnow()
    if found.valid:
        row = metrics.scorecard(found.scope, found.period, now=now).row(key)
        for source, model, select in metrics.evidence(key, found.scope, found.period, now=now, only_broken=only_broken):
            page = paginate(
                select.options(*LOADS.get(model, ())), ORDERS[model], args=source_args(source, request.args)
            )
            page.next_args, page.prev_args = prefixed(source, page.next_args), prefixed(source, page.prev_args)
            clocks = (
                {t.id: clock_facts(t, key, now) for t in page.items} if (source == "tickets" and key in CLOCKS) else {}
            )
            lists.append(dict(source=source, label=SOURCE_LABELS.get(source, source), page=page, clocks=clocks))
    response = render(
        "scorecard/evidence.html",
        fragment="scorecard/_evidence.html",
        **common(
            found,
            key=key,
            row=row,
            lists=lists,
            only_broken=only_broken,
            now=now,
            clock_key=key if key in CLOCKS else None,
        ),
    )
    if found.errors:
        response.status_code = 400
    return response


# ---------------------------------------------------------------- the vendor's overview


class ListPagination(Pagination):
    """A page of a list already in hand (the ranking is one grouped answer of the metrics module)."""

    def _query_items(self):
        rows = self._query_args["rows"]
        return rows[self._query_offset : self._query_offset + self.per_page]

    def _query_count(self):
        return len(self._query_args["rows"])


@bp.get("/overview")
@roles_required(*OVERVIEW_ROLES)
def overview():
    ranked = metrics.at_risk(now=utcnow())
    page = offset_page(
        ListPagination(rows=ranked, page=page_number(), per_page=current_app.config["PAGE_SIZE"], error_out=False)
    )
    ids = {contract.client_id for contract, _broken, _risk in page.items}
    clients = {c.id: c for c in db.session.scalars(sa.select(Client).where(Client.id.in_(ids)))} if ids else {}
    page.items = [(page.start + n, *item) for n, item in enumerate(page.items)]
    return render("scorecard/overview.html", fragment="scorecard/_overview.html", page=page, clients=clients)
