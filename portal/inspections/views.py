"""Inspections and visits: the schedule, a contract's plan, recording a visit with its per-unit results, the
client's sign-off or dispute, findings turned into fault reports, the printable report, the calendar feed; and
the resident engineers' service log with its monthly view and XLSX export."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, pgettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from .. import (
    choices,  # the module, not its function (a cycle: choices, models, views)
    steps,
)
from ..bounds import CONTROL_MESSAGE, DATE_MAX, DATE_MIN, db_id, has_control
from ..complaints.services import inspect_attachment
from ..contracts.models import Contract
from ..downloads import of_row, serve
from ..equipment.io import xlsx_response
from ..extensions import db
from ..forms import optional_id
from ..htmx import is_htmx, render
from ..i18n import local_today
from ..orgs.models import Site
from ..pagination import Order, paginate
from ..roles import ALL, CLIENT, VENDOR, Role
from ..scoping import roles_required
from ..steps import Refused, kept_text, version_of
from ..surveys.views import panel
from ..types import utcnow
from ..uploads import UploadRefused
from . import bp, ical, services
from .forms import DisputeForm, ExtraVisitForm, LogForm, LogSignForm, PlanForm, RecordForm, SignForm
from .models import (
    DONE_STATES,
    InspectionPlan,
    Method,
    ServiceLog,
    UnitResult,
    Visit,
    VisitAttachment,
    VisitKind,
    VisitStatus,
    VisitUnit,
)

MANAGER = (Role.VENDOR_MANAGER,)
MAX_ATTACHMENTS = 5
FEED_DAYS_BACK, FEED_DAYS_AHEAD = 31, 400


# The schedule: the soonest due first (open, overdue, soon) or the latest first; the service log: by day and time.
SOONEST = Order("due", (Visit.due_on, Visit.id))
LATEST = Order("-due", (Visit.due_on, Visit.id), desc=True)
LOG_ORDER = Order("log", (ServiceLog.work_date, ServiceLog.time_in, ServiceLog.id))


def my_sites():
    return db.session.scalars(
        Site.scoped(current_user).options(joinedload(Site.client)).order_by(Site.client_id, Site.name_zh)
    ).all()


def my_contracts():
    return db.session.scalars(
        Contract.scoped(current_user).options(joinedload(Contract.client)).order_by(Contract.number)
    ).all()


# ---------------------------------------------------------------- the schedule

STATES = ("open", "overdue", "soon", "done", "to_sign", "signed", "disputed", "all")


@dataclass
class VisitFilter:
    state: str = "open"
    kind: str = ""
    client: int | None = None
    site: int | None = None
    contract: int | None = None

    @classmethod
    def from_args(cls, args, user):
        state, kind = args.get("state", "open"), args.get("kind", "")
        return cls(
            state=state if state in STATES else "open",
            kind=kind if kind in {k.value for k in VisitKind} else "",
            client=optional_id(args.get("client")) if user.is_vendor else None,
            site=optional_id(args.get("site")),
            contract=optional_id(args.get("contract")),
        )

    def apply(self, query, today):
        scheduled = Visit.status == VisitStatus.SCHEDULED.value
        conditions = {
            "open": scheduled,
            "overdue": Visit.overdue(today),
            "soon": Visit.due_soon(today),
            "done": Visit.status.in_(DONE_STATES),
            "to_sign": Visit.status == VisitStatus.DONE.value,
            "signed": Visit.status == VisitStatus.SIGNED.value,
            "disputed": Visit.status == VisitStatus.DISPUTED.value,
        }
        if self.state in conditions:
            query = query.where(conditions[self.state])
        for column, value in (
            (Visit.kind, self.kind),
            (Visit.client_id, self.client),
            (Visit.site_id, self.site),
            (Visit.contract_id, self.contract),
        ):
            if value:
                query = query.where(column == value)
        return query.order_by(*self.order.sql())

    @property
    def order(self):
        return SOONEST if self.state in ("open", "overdue", "soon") else LATEST

    def args(self, **changes):
        values = {
            "state": self.state,
            "kind": self.kind,
            "client": self.client,
            "site": self.site,
            "contract": self.contract,
            **changes,
        }
        return {k: v for k, v in values.items() if v not in (None, "")}


def listed(query):
    return query.options(joinedload(Visit.client), joinedload(Visit.site), joinedload(Visit.contract))


@bp.get("/")
@roles_required(*ALL)
def index():
    today = local_today()
    filters = VisitFilter.from_args(request.args, current_user)
    # The client, then its sites and contracts: bounded choices, checked before the query (portal.choices).
    scope = choices.scope_choices(current_user, filters.client, filters.site, filters.contract, contracts=True)
    filters.client, filters.site, filters.contract = scope.client, scope.site, scope.contract
    page = paginate(listed(filters.apply(Visit.scoped(current_user), today)), filters.order)
    return render(
        "inspections/index.html",
        fragment="inspections/_table.html",
        page=page,
        filters=filters,
        today=today,
        kinds=list(VisitKind),
        scope=scope,
        scope_oob=is_htmx(),
        counts=services.counts(current_user, today),
    )


# ---------------------------------------------------------------- a contract's plan (vendor manager)


def contract_sites(contract):
    return db.session.scalars(sa.select(Site).where(Site.client_id == contract.client_id).order_by(Site.name_zh)).all()


@bp.route("/plans/<int:contract_id>", methods=["GET", "POST"])
@roles_required(*MANAGER)
def plan(contract_id):
    contract = Contract.get_or_404(contract_id, current_user)
    existing = db.session.scalar(
        sa.select(InspectionPlan)
        .where(InspectionPlan.contract_id == contract.id)
        .options(selectinload(InspectionPlan.sites))
    )
    sites = contract_sites(contract)
    form = PlanForm(sites=sites)
    if not form.is_submitted():
        if existing:
            form.frequency.data, form.months.data = existing.frequency, existing.month_list
            form.phone_visits.data, form.return_visits.data = existing.phone_visits, existing.return_visits
            form.end_of_life.data, form.sites.data = existing.end_of_life, [s.id for s in existing.sites]
        else:  # the bids' usual promise
            form.frequency.data, form.phone_visits.data = "quarterly", 4
            form.return_visits.data = form.end_of_life.data = True
    if form.validate_on_submit():
        chosen = [s for s in sites if s.id in set(form.sites.data or [])]
        _plan, count = services.save_plan(
            contract,
            current_user,
            frequency=form.frequency.data,
            months=form.months.data or [],
            phone_visits=form.phone_visits.data,
            return_visits=form.return_visits.data,
            end_of_life=form.end_of_life.data,
            sites=chosen,
            today=local_today(),
        )
        db.session.commit()
        flash(_("The plan is saved: %(n)d visits are scheduled from today.", n=count), "success")
        return redirect(url_for("inspections.index", contract=contract.id))
    return render_template("inspections/plan.html", form=form, contract=contract)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*VENDOR)
def new():
    form = ExtraVisitForm()
    contracts = my_contracts()
    form.contract.choices = [("", _("Choose…"))] + [(c.id, f"{c.number} · {c.client.name}") for c in contracts]
    sites = my_sites()
    form.site.choices = [("", _("The whole client (phone visit)"))] + [
        (s.id, f"{s.name} · {s.client.name}") for s in sites
    ]
    if not form.is_submitted():
        form.kind.data, form.due_on.data = VisitKind.EXTRA.value, local_today()
        form.contract.data = request.args.get("contract", type=db_id)
    if form.validate_on_submit():
        contract = Contract.get_or_404(form.contract.data, current_user)
        site = next((s for s in sites if s.id == form.site.data), None)
        if form.site.data and site is None:
            abort(404)
        if site is not None and site.client_id != contract.client_id:
            form.site.errors.append(_("This site is not the contract's client's."))
        else:
            visit = services.add_visit(contract, site, kind=form.kind.data, due_on=form.due_on.data)
            steps.land_on(url_for("inspections.record", visit_id=visit.id))
            db.session.commit()
            return redirect(url_for("inspections.record", visit_id=visit.id))
    return render_template("inspections/new.html", form=form)


# ---------------------------------------------------------------- a visit


def load(visit_id):
    return db.first_or_404(
        Visit.scoped(current_user, Visit.id == visit_id).options(
            joinedload(Visit.client),
            joinedload(Visit.site),
            joinedload(Visit.contract),
            joinedload(Visit.recorded_by),
            selectinload(Visit.units).joinedload(VisitUnit.unit),
            selectinload(Visit.units).joinedload(VisitUnit.ticket),
            selectinload(Visit.attachments),
        )
    )


def visit_page(visit, status=200, sign_form=None, dispute_form=None, kept=()):
    """The visit with the client's forms: new ones carry the visit's version; a submitted one keeps what was
    typed and is given the current version."""
    sign_form = sign_form or SignForm(formdata=None, name=current_user.name)
    dispute_form = dispute_form or DisputeForm(formdata=None)
    sign_form.version.data = dispute_form.version.data = visit.version
    survey_panel = panel(visit=visit) if visit.status == VisitStatus.SIGNED.value else None
    return render_template(
        "inspections/show.html",
        visit=visit,
        today=local_today(),
        sign_form=sign_form,
        dispute_form=dispute_form,
        kept=kept,
        survey_panel=survey_panel,
    ), status


@bp.get("/<int:visit_id>")
@roles_required(*ALL)
def show(visit_id):
    return visit_page(load(visit_id))


@bp.get("/<int:visit_id>/report")
@roles_required(*ALL)
def report(visit_id):
    visit = load(visit_id)
    if not visit.is_done:
        abort(404)
    return render_template("inspections/report.html", visit=visit, printed_at=utcnow())


@bp.get("/<int:visit_id>/attachments/<int:attachment_id>")
@roles_required(*ALL)
def attachment(visit_id, attachment_id):
    visit = Visit.get_or_404(visit_id, current_user)
    item = db.first_or_404(
        sa.select(VisitAttachment).where(VisitAttachment.id == attachment_id, VisitAttachment.visit_id == visit.id)
    )
    return serve(of_row(item, f"visit-{visit.id}-{item.id}"), label=f"visit attachment {item.id}")


def unit_results(units):
    """The per-unit rows of the record form, from the request: {unit id: (result, note)}, and the errors by unit."""
    results, errors = {}, {}
    allowed = {r.value for r in UnitResult}
    for unit in units:
        result = request.form.get(f"unit-{unit.id}-result", UnitResult.OK.value)
        note = request.form.get(f"unit-{unit.id}-note", "").strip()[:500]
        if has_control(result) or has_control(note):
            errors[unit.id] = str(CONTROL_MESSAGE)
        elif result not in allowed:
            errors[unit.id] = _("Choose a result.")
        elif result in (UnitResult.ISSUE.value, UnitResult.FIXED.value, UnitResult.NOT_FOUND.value) and not note:
            errors[unit.id] = _("Say what was found.")
        results[unit.id] = (result, note)
    return results, errors


@bp.route("/<int:visit_id>/record", methods=["GET", "POST"])
@roles_required(*VENDOR)
def record(visit_id):
    visit = load(visit_id)
    if visit.status == VisitStatus.SIGNED.value:
        flash(_("This visit is signed off by the client: it can no longer be changed."), "warning")
        return redirect(url_for("inspections.show", visit_id=visit.id))
    units = services.site_units(visit) if visit.on_site else []
    form = RecordForm(obj=visit if visit.is_done else None)
    if not form.is_submitted():
        form.version.data = visit.version
        form.done_on.data = visit.done_on or min(local_today(), max(visit.due_on, visit.window_start))
        form.method.data = visit.method or (
            Method.PHONE.value if visit.kind == VisitKind.PHONE_VISIT.value else Method.ON_SITE.value
        )
        form.engineers.data = visit.engineers or current_user.name
    previous = {vu.equipment_id: (vu.result, vu.note) for vu in visit.units}
    results, unit_errors = unit_results(units) if form.is_submitted() else (previous, {})
    if form.validate_on_submit() and not unit_errors:
        uploads = [f for f in request.files.getlist(form.attachments.name) if f and f.filename]
        checked = []
        if len(uploads) + len(visit.attachments) > MAX_ATTACHMENTS:
            form.attachments.errors = [_("At most %(n)d attachments.", n=MAX_ATTACHMENTS)]
        for upload in uploads:
            try:
                checked.append(inspect_attachment(upload))
            except UploadRefused as rejected:
                form.attachments.errors = [*form.attachments.errors, rejected.message]
        if not form.attachments.errors:
            try:
                steps.take(
                    Visit,
                    visit_id,
                    current_user,
                    lambda locked: services.record(
                        locked,
                        current_user,
                        done_on=form.done_on.data,
                        method=form.method.data,
                        engineers=form.engineers.data,
                        hardware=form.hardware.data or "",
                        software=form.software.data or "",
                        risks=form.risks.data or "",
                        recommendations=form.recommendations.data or "",
                        results=results,
                        attachments=checked,
                    ),
                    version=version_of(form),
                )
            except Refused as refused:  # signed or changed meanwhile: shown as it is now, what was typed kept
                db.session.rollback()
                flash(refused.message, "danger")
                visit = load(visit_id)
                form.version.data = visit.version
                return render_template(
                    "inspections/record.html",
                    visit=visit,
                    form=form,
                    units=units,
                    results=results,
                    unit_errors=unit_errors,
                    unit_results=list(UnitResult),
                ), refused.status
            steps.land_on(url_for("inspections.show", visit_id=visit_id))
            db.session.commit()
            issues = sum(1 for r, _n in results.values() if r == UnitResult.ISSUE.value)
            flash(
                _("The visit is recorded and waits for the client's sign-off.")
                + (
                    " " + _("Issues found: %(n)d. Open a fault report for each from the visit's page.", n=issues)
                    if issues
                    else ""
                ),
                "success",
            )
            return redirect(url_for("inspections.show", visit_id=visit.id))
    if (
        form.is_submitted()
        and not form.attachments.errors
        and any(f.filename for f in request.files.getlist(form.attachments.name))
    ):
        form.attachments.errors = [_("Choose the files again: a browser does not keep files between sends.")]
    return render_template(
        "inspections/record.html",
        visit=visit,
        form=form,
        units=units,
        results=results,
        unit_errors=unit_errors,
        unit_results=list(UnitResult),
    )


def client_step(visit_id, form_name, form, run, done):
    """Sign-off or dispute: the form checked, the step taken on the version the client read (or refused with a
    message, the visit shown as it is now and what was typed kept), the visit shown again."""
    if not form.validate_on_submit():
        return visit_page(load(visit_id), **{form_name: form})
    try:
        steps.take(Visit, visit_id, current_user, lambda visit: run(visit, form), version=version_of(form))
    except Refused as refused:
        db.session.rollback()
        flash(refused.message, "danger")
        return visit_page(load(visit_id), refused.status, kept=kept_text(form), **{form_name: form})
    steps.land_on(url_for("inspections.show", visit_id=visit_id))
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("inspections.show", visit_id=visit_id))


@bp.post("/<int:visit_id>/sign")
@roles_required(*CLIENT)
def sign(visit_id):
    return client_step(
        visit_id,
        "sign_form",
        SignForm(),
        lambda visit, form: services.sign(
            visit, current_user, name=form.name.data, satisfaction=form.satisfaction.data, comment=form.comment.data
        ),
        _("Thank you: the visit is signed off."),
    )


@bp.post("/<int:visit_id>/dispute")
@roles_required(*CLIENT)
def dispute(visit_id):
    return client_step(
        visit_id,
        "dispute_form",
        DisputeForm(),
        lambda visit, form: services.dispute(visit, current_user, reason=form.reason.data),
        _("The record is disputed: the vendor corrects it and asks you to sign again."),
    )


@bp.post("/<int:visit_id>/units/<int:row_id>/ticket")
@roles_required(*VENDOR)
def open_ticket(visit_id, row_id):
    severity = request.form.get("severity", "C")
    opened = []

    def move(visit):  # the visit's row is locked: two of these at once open one fault report
        row = next((vu for vu in visit.units if vu.id == row_id), None)
        if row is None:
            abort(404)
        if row.ticket_id is None:
            opened.append(
                services.open_ticket(row, current_user, severity=severity if severity in ("A", "B", "C", "D") else "C")
            )
        return row

    try:
        visit = steps.take(Visit, visit_id, current_user, move, options=(selectinload(Visit.units),))
    except Refused as refused:
        db.session.rollback()
        flash(refused.message, "danger")
        return visit_page(load(visit_id), refused.status)
    if not opened:  # sent twice, or by two people: the fault report is already there
        row = next(vu for vu in visit.units if vu.id == row_id)
        db.session.rollback()
        flash(_("A fault report is already open for this finding."), "info")
        return redirect(url_for("tickets.show", ticket_id=row.ticket_id))
    ticket = opened[0]
    steps.land_on(url_for("tickets.show", ticket_id=ticket.id))
    db.session.commit()
    flash(_("Fault report %(number)s is open for this finding.", number=ticket.number), "success")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


# ---------------------------------------------------------------- the calendar feed


@bp.route("/calendar", methods=["GET", "POST"])
@roles_required(*ALL)
def calendar_settings():
    token = None
    if request.method == "POST":  # CSRF-checked, like every POST
        if request.form.get("action") == "revoke":
            services.revoke_feed(current_user)
            db.session.commit()
            flash(_("The calendar address is revoked: calendars using it no longer receive your visits."), "success")
            return redirect(url_for("inspections.calendar_settings"))
        token = services.new_feed(current_user)
        db.session.commit()
    from .models import CalendarFeed

    feed = db.session.get(CalendarFeed, current_user.id)
    url = url_for("inspections.calendar_feed", token=token, _external=True) if token else None
    return render_template("inspections/calendar.html", feed=feed, url=url)


@bp.get("/calendar/<token>.ics")
def calendar_feed(token):
    """The user's upcoming visits, for a calendar program: no sign-in, the secret address is the key."""
    user = services.feed_user(token)
    if user is None:
        abort(404)
    with force_locale(user.locale or "zh_Hans_CN"):
        return feed_response(user)


def feed_response(user):
    today = local_today()
    visits = db.session.scalars(
        listed(
            Visit.scoped(
                user,
                Visit.status == VisitStatus.SCHEDULED.value,
                Visit.due_on >= today - timedelta(days=FEED_DAYS_BACK),
                Visit.due_on <= today + timedelta(days=FEED_DAYS_AHEAD),
            )
        )
        .order_by(Visit.due_on, Visit.id)
        .limit(2000)
    ).all()
    events = [
        {
            "uid": f"visit-{v.id}",
            "day": v.due_on,
            "summary": f"{v.kind_enum.label} · {v.site.name if v.site else v.client.name}",
            "description": f"{v.contract.number} · {v.client.name}",
            "location": v.site.address if v.site else "",
            "url": url_for("inspections.show", visit_id=v.id, _external=True),
        }
        for v in visits
    ]
    body = ical.calendar(_("Inspections and visits"), events, utcnow(), request.host)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = "inline; filename=visits.ics"
    return response


# ---------------------------------------------------------------- the service log


def month_of(value, today):
    """``2026-03`` as the first of that month (within the portal's dates); anything else is this month."""
    match = re.fullmatch(r"([0-9]{4})-(0?[1-9]|1[0-2])", value or "")
    if match and DATE_MIN.year <= int(match[1]) <= DATE_MAX.year:
        return date(int(match[1]), int(match[2]), 1)
    return today.replace(day=1)


def log_query(month, contract_id=None, site_id=None):
    end = (month + timedelta(days=32)).replace(day=1)
    query = ServiceLog.scoped(current_user, ServiceLog.work_date >= month, ServiceLog.work_date < end).options(
        joinedload(ServiceLog.client), joinedload(ServiceLog.site), joinedload(ServiceLog.contract)
    )
    if contract_id:
        query = query.where(ServiceLog.contract_id == contract_id)
    if site_id:
        query = query.where(ServiceLog.site_id == site_id)
    return query.order_by(*LOG_ORDER.sql())


@bp.get("/log")
@roles_required(*ALL)
def log():
    today = local_today()
    month = month_of(request.args.get("month"), today)
    contract_id, site_id = optional_id(request.args.get("contract")), optional_id(request.args.get("site"))
    page = paginate(log_query(month, contract_id, site_id), LOG_ORDER)
    entries = log_query(month, contract_id, site_id).order_by(None).subquery()
    totals = db.session.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(entries.c.headcount), 0))).one()
    args = {k: v for k, v in {"contract": contract_id, "site": site_id}.items() if v}
    return render(
        "inspections/log.html",
        fragment="inspections/_log_table.html",
        page=page,
        month=month,
        previous=(month - timedelta(days=1)).replace(day=1),
        next=(month + timedelta(days=32)).replace(day=1),
        contracts=my_contracts(),
        sites=my_sites() if current_user.site_id is None else [],
        contract_id=contract_id,
        site_id=site_id,
        args=args,
        totals=totals,
        sign_form=LogSignForm(formdata=None, name=current_user.name),
    )


def log_form():
    form = LogForm()
    form.contract.choices = [("", _("Choose…"))] + [(c.id, f"{c.number} · {c.client.name}") for c in my_contracts()]
    form.site.choices = [("", _("No particular site"))] + [(s.id, f"{s.name} · {s.client.name}") for s in my_sites()]
    return form


@bp.route("/log/new", methods=["GET", "POST"])
@roles_required(*VENDOR)
def log_new():
    form = log_form()
    if not form.is_submitted():
        form.work_date.data, form.headcount.data = local_today(), 1
        form.engineers.data = current_user.name
    if form.validate_on_submit():
        contract = Contract.get_or_404(form.contract.data, current_user)
        site = Site.get_or_404(form.site.data, current_user) if form.site.data else None
        if site is not None and site.client_id != contract.client_id:
            form.site.errors.append(_("This site is not the contract's client's."))
        else:
            entry = services.add_log(
                current_user,
                contract_id=contract.id,
                client_id=contract.client_id,
                site_id=site.id if site else None,
                work_date=form.work_date.data,
                engineers=form.engineers.data,
                headcount=form.headcount.data,
                time_in=form.time_in.data,
                time_out=form.time_out.data,
                place=form.place.data,
                work_done=form.work_done.data,
                result=form.result.data or "",
            )
            steps.land_on(url_for("inspections.log", month=entry.work_date.strftime("%Y-%m")))
            db.session.commit()
            flash(_("The day's work is in the service log, waiting for the client's signature."), "success")
            return redirect(url_for("inspections.log", month=entry.work_date.strftime("%Y-%m")))
    return render_template("inspections/log_form.html", form=form)


@bp.post("/log/<int:entry_id>/sign")
@roles_required(*CLIENT)
def log_sign(entry_id):
    entry = ServiceLog.get_or_404(entry_id, current_user)
    back = url_for("inspections.log", month=entry.work_date.strftime("%Y-%m"))
    form = LogSignForm()
    if not form.validate_on_submit():
        flash(_("Sign with your name."), "danger")
        return redirect(back)
    try:
        entry = steps.take(
            ServiceLog,
            entry_id,
            current_user,
            lambda locked: services.sign_log(locked, current_user, form.name.data),
            version=version_of(form),
        )
    except Refused as refused:
        db.session.rollback()
        flash(refused.message, "warning")
        return redirect(back)
    steps.land_on(back)
    db.session.commit()
    flash(_("The entry of %(date)s is signed.", date=entry.work_date.isoformat()), "success")
    return redirect(back)


@bp.get("/log.xlsx")
@roles_required(*ALL)
def log_export():
    from flask_babel import format_date, format_datetime

    month = month_of(request.args.get("month"), local_today())
    entries = db.session.scalars(
        log_query(
            month, optional_id(request.args.get("contract")), optional_id(request.args.get("site"))
        ).execution_options(yield_per=500)
    )
    headers = [
        _("Date"),
        _("Client"),
        _("Site"),
        _("Contract"),
        _("Engineers"),
        _("Headcount"),
        _("Time in"),
        _("Time out"),
        pgettext("work", "Place"),
        _("Work done"),
        _("Result"),
        _("Signed by"),
        _("Signed at"),
    ]
    rows = (
        [
            format_date(e.work_date, "medium"),
            e.client.name,
            e.site.name if e.site else "",
            e.contract.number,
            e.engineers,
            e.headcount,
            e.time_in.strftime("%H:%M"),
            e.time_out.strftime("%H:%M"),
            e.place,
            e.work_done,
            e.result,
            e.signed_name,
            format_datetime(e.signed_at, "short") if e.signed_at else "",
        ]
        for e in entries
    )
    return xlsx_response(
        [str(h) for h in headers], rows, _("Service log"), f"service-log-{month.strftime('%Y-%m')}.xlsx"
    )


# ---------------------------------------------------------------- for other pages


def site_history(site_id, limit=10):
    """The latest recorded visits of a site (its page), newest first."""
    return db.session.scalars(
        Visit.scoped(current_user, Visit.site_id == site_id, Visit.status.in_(DONE_STATES))
        .order_by(Visit.done_on.desc(), Visit.id.desc())
        .limit(limit)
    ).all()


def next_visit(site_id):
    """The next scheduled visit of a site (its page)."""
    return db.session.scalar(
        Visit.scoped(current_user, Visit.site_id == site_id, Visit.status == VisitStatus.SCHEDULED.value)
        .order_by(Visit.due_on, Visit.id)
        .limit(1)
    )


def unit_history(unit_id, limit=10):
    """A unit's results in inspections (its page), newest first."""
    return db.session.scalars(
        sa.select(VisitUnit)
        .join(Visit)
        .where(VisitUnit.equipment_id == unit_id, Visit.status.in_(DONE_STATES))
        .options(joinedload(VisitUnit.visit), joinedload(VisitUnit.ticket))
        .order_by(Visit.done_on.desc(), Visit.id.desc())
        .limit(limit)
    ).all()
