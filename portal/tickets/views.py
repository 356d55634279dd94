"""Fault reports: the queue and the client's list, filing, a ticket's page with its clocks and timeline, every
step as one POST endpoint per action, the printable service report, and the photos."""

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from .. import steps
from ..auth.models import User
from ..bounds import db_id
from ..contracts.models import Contract
from ..downloads import of_row, serve
from ..equipment.models import Equipment
from ..extensions import db
from ..forms import optional_id
from ..htmx import is_htmx, render
from ..i18n import _l, local_today
from ..orgs.models import Client, Site
from ..pagination import paginate
from ..renewals.models import SparePart
from ..roles import ALL, CLIENT, VENDOR, Role
from ..scoping import roles_required
from ..search import matches
from ..sla.holidays import business_calendar
from ..sla.services import promises, promises_in_scope
from ..steps import Refused, kept_text, version_of
from ..surveys.views import panel
from ..types import utcnow
from ..uploads import UploadRefused
from . import bp, photos, services
from .filters import TicketFilter
from .forms import (
    ArriveForm,
    AssignForm,
    ConfirmForm,
    CoverageForm,
    FileForm,
    LoanForm,
    ResolveForm,
    ReturnForm,
    SeverityForm,
    TextForm,
    Versioned,
)
from .models import SEVERITY_LABELS, SEVERITY_MEANINGS, TRANSITIONS, Status, Ticket, TicketEvent, TicketPhoto
from .scan import scanned_at

UNIT_CHOICES = 10  # units shown while searching by serial number or asset tag


# ---------------------------------------------------------------- lists


def list_query(filters, now):
    return filters.apply(Ticket.scoped(current_user), current_user, now).options(
        joinedload(Ticket.client),
        joinedload(Ticket.site),
        joinedload(Ticket.assignee),
        joinedload(Ticket.equipment).joinedload(Equipment.model),
    )


@bp.get("/")
@roles_required(*ALL)
def index():
    now = utcnow()
    filters = TicketFilter.from_args(request.args, current_user)
    page = paginate(list_query(filters, now), filters.order)
    clients = db.session.scalars(sa.select(Client).order_by(Client.name_zh)).all() if current_user.is_vendor else []
    # A client's list states their contracts' own service levels (if few enough to state each), never the bids'.
    stated = None if current_user.is_vendor or is_htmx() else promises_in_scope(Contract.scoped(current_user))
    return render(
        "tickets/index.html",
        fragment="tickets/_table.html",
        page=page,
        filters=filters,
        now=now,
        clients=clients,
        statuses=list(Status),
        severities=SEVERITY_LABELS,
        clock_state=services.clock_state,
        promises=stated,
    )


# ---------------------------------------------------------------- filing


def find_units(q):
    """Units in the user's scope whose serial number or asset tag contains ``q``."""
    query = Equipment.scoped(current_user, matches(q, Equipment.serial, Equipment.asset_tag))
    return db.session.scalars(
        query.options(joinedload(Equipment.model), joinedload(Equipment.site))
        .order_by(Equipment.serial)
        .limit(UNIT_CHOICES)
    ).all()


def site_choices():
    sites = db.session.scalars(
        Site.scoped(current_user).options(joinedload(Site.client)).order_by(Site.client_id, Site.name_zh)
    ).all()
    if current_user.is_vendor:
        return [(s.id, f"{s.client.name} · {s.name}") for s in sites]
    return [(s.id, s.name) for s in sites]


def file_page(form, unit):
    q = request.args.get("q", "").strip()
    units = find_units(q) if q and unit is None else []
    if form.site.choices is None:
        form.site.choices = [("", _("Choose the site"))] + site_choices()
    # The service levels of the unit's contract; before a unit is chosen, those of the user's contract(s), if few.
    stated = None
    if unit is not None:
        stated = promises([unit.contract])
    elif not current_user.is_vendor and not is_htmx():
        stated = promises_in_scope(Contract.scoped(current_user))
    return render(
        "tickets/new.html",
        fragment="tickets/_unit_choices.html",
        form=form,
        unit=unit,
        q=q,
        units=units,
        meanings=SEVERITY_MEANINGS,
        today=local_today(),
        promises=stated,
        expiring_days=current_app.config["WARRANTY_EXPIRING_DAYS"],
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*ALL)
def new():
    form = FileForm(vendor=current_user.is_vendor)
    unit_id = optional_id(form.unit.data) if form.is_submitted() else request.args.get("unit", type=db_id)
    unit = Equipment.get_or_404(unit_id, current_user) if unit_id else None
    if not form.is_submitted():
        form.unit.data = unit.id if unit else ""
        if not current_user.is_vendor:
            form.contact_name.data, form.contact_phone.data = current_user.name, current_user.phone
        if current_user.site_id:
            form.site.data = current_user.site_id
        return file_page(form, unit)
    form.site.choices = [("", _("Choose the site"))] + site_choices()
    valid = form.validate_on_submit()
    site_id = unit.site_id if unit else (current_user.site_id or form.site.data)
    site = Site.get_or_404(site_id, current_user) if site_id else None
    uploads = [f for f in request.files.getlist(form.photos.name) if f and f.filename]
    checked = []
    if site is None:
        form.site.errors = [*form.site.errors, _("Choose the site where the equipment is.")]
    if unit is None and not form.equipment_text.data:
        form.equipment_text.errors = [
            *form.equipment_text.errors,
            _("Choose the unit above, or describe the equipment here."),
        ]
    if len(uploads) > photos.MAX_PHOTOS:
        form.photos.errors = [*form.photos.errors, _("At most %(n)d photos.", n=photos.MAX_PHOTOS)]
    else:
        for upload in uploads:
            try:
                checked.append(photos.inspect(upload))
            except UploadRefused as rejected:
                form.photos.errors = [*form.photos.errors, rejected.message]
    if valid and not (form.site.errors or form.equipment_text.errors or form.photos.errors):
        ticket = services.file_ticket(
            current_user,
            site,
            unit,
            form.equipment_text.data,
            severity=form.severity.data,
            kind=form.kind.data,
            channel=form.channel.data,
            title=form.title.data,
            description=form.description.data,
            contact_name=form.contact_name.data,
            contact_phone=form.contact_phone.data,
            photos=checked,
            today=local_today(),
        )
        steps.land_on(url_for("tickets.show", ticket_id=ticket.id))
        db.session.commit()
        flash(
            _(
                "Fault report %(number)s is filed. The response is due by %(due)s.",
                number=ticket.number,
                due=format_due(ticket.response_due),
            ),
            "success",
        )
        return redirect(url_for("tickets.show", ticket_id=ticket.id))
    if uploads and not form.photos.errors:
        form.photos.errors = [_("Choose the photos again: a browser does not keep files between sends.")]
    return file_page(form, unit)


def format_due(moment):
    from flask_babel import format_datetime

    return format_datetime(moment, "short")


# ---------------------------------------------------------------- a ticket


def load(ticket_id):
    return db.first_or_404(
        Ticket.scoped(current_user, Ticket.id == ticket_id).options(
            joinedload(Ticket.client),
            joinedload(Ticket.site),
            joinedload(Ticket.contract),
            joinedload(Ticket.assignee),
            joinedload(Ticket.filed_by),
            joinedload(Ticket.equipment).joinedload(Equipment.model),
            selectinload(Ticket.photos),
            selectinload(Ticket.loans),
            selectinload(Ticket.parts),
        )
    )


def timeline(ticket):
    query = (
        sa.select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
        .options(joinedload(TicketEvent.user))
        .order_by(TicketEvent.at, TicketEvent.id)
    )
    if not current_user.is_vendor:
        query = query.where(TicketEvent.internal.is_(False))
    return db.session.scalars(query).all()


def vendor_staff():
    return db.session.scalars(
        sa.select(User).where(User.role.in_([r.value for r in VENDOR]), User.active.is_(True)).order_by(User.name)
    ).all()


def parts_list():
    return db.session.scalars(sa.select(SparePart).order_by(SparePart.name_zh)).all()


def build_forms(ticket):
    # Built from the ticket as it is now, never from a submitted form (formdata=None): after a refusal only the
    # submitted form shows what was typed, and every other form carries the current version.
    v = {"version": ticket.version}
    forms = {
        name: action.form(ticket, formdata=None, data=v)
        for name, action in ACTIONS.items()
        if current_user.role in action.roles
    }
    if "assign" in forms:
        forms["assign"].assignee.data = ticket.assignee_id
    if "severity" in forms:
        forms["severity"].severity.data = ticket.severity
    if "coverage" in forms:
        forms["coverage"].excluded.data = ticket.coverage == "excluded"
        forms["coverage"].body.data = ticket.coverage_note
    return forms


def ticket_page(ticket, status=200, kept=(), **submitted):
    now = utcnow()
    forms = build_forms(ticket)
    forms.update(submitted)
    staff = vendor_staff() if "assign" in forms else []
    if "assign" in forms:
        forms["assign"].assignee.choices = [("", _("Nobody"))] + [(u.id, u.name) for u in staff]
    unconfirmed = []
    if ticket.clock == "working":  # due times in a year whose holidays are not confirmed count weekends only
        dues = [d for d in (ticket.resolution_due, ticket.on_site_due) if d]
        unconfirmed = sorted(business_calendar().unconfirmed_years(ticket.filed_at.date(), max(dues).date()))
    survey_panel = panel(ticket=ticket) if ticket.status == Status.CLOSED.value else None
    return render_template(
        "tickets/show.html",
        ticket=ticket,
        forms=forms,
        now=now,
        events=timeline(ticket),
        survey_panel=survey_panel,
        unconfirmed=unconfirmed,
        kept=kept,
        stopped_work_days=services.STOPPED_WORK_DAYS,
        clocks=services.clock_rows(ticket, now),
        loan_state=services.loan_state,
        moves={s.value for s in TRANSITIONS[ticket.status_enum_at(now)]},
    ), status


@bp.get("/<int:ticket_id>")
@roles_required(*ALL)
def show(ticket_id):
    return ticket_page(load(ticket_id))


@bp.get("/<int:ticket_id>/report")
@roles_required(*ALL)
def report(ticket_id):
    ticket = load(ticket_id)
    now = utcnow()
    return render_template(
        "tickets/report.html",
        ticket=ticket,
        now=now,
        clocks=services.clock_rows(ticket, now),
        events=[e for e in timeline(ticket) if not e.internal],
    )


@bp.get("/<int:ticket_id>/photos/<int:photo_id>")
@roles_required(*ALL)
def photo(ticket_id, photo_id):
    ticket = Ticket.get_or_404(ticket_id, current_user)
    item = db.first_or_404(sa.select(TicketPhoto).where(TicketPhoto.id == photo_id, TicketPhoto.ticket_id == ticket.id))
    return serve(of_row(item, f"ticket-{ticket.id}-photo-{item.id}"), label=f"ticket photo {item.id}")


# ---------------------------------------------------------------- steps


@dataclass(frozen=True)
class Action:
    roles: frozenset
    form: Callable  # (ticket, **kwargs) -> form
    run: Callable  # (ticket, form) -> None; raises services.TicketRefused
    done: Callable  # () -> the message once done


def text_form(label, message=None):
    return lambda ticket, **kw: TextForm(label=label, message=message, **kw)


def _respond(ticket, form):
    services.respond(ticket, current_user, form.body.data)


def _propose(ticket, form):
    services.propose(ticket, current_user, form.body.data)


def _arrive(ticket, form):
    at = scanned_at(ticket, form.scan.data) if form.scan.data else None
    services.arrive(ticket, current_user, at or utcnow(), form.body.data, scanned=at is not None)


def _wait(ticket, form):
    services.wait(ticket, current_user, form.body.data)


def _resume(ticket, form):
    services.resume(ticket, current_user)


def _resolve(ticket, form):
    parts = []
    if form.part.data:
        part = db.session.get(SparePart, form.part.data)
        if part is None:
            raise services.TicketRefused(_("Choose a part from the list."))
        parts.append({"part_id": part.id, "description": part.name, "quantity": form.quantity.data})
    if form.part_text.data:
        parts.append({"description": form.part_text.data, "quantity": form.quantity.data})
    services.resolve(
        ticket,
        current_user,
        problem_kind=form.problem_kind.data,
        cause=form.cause.data,
        solution=form.solution.data,
        loss=form.loss.data,
        parts=parts,
        today=local_today(),
        work_stopped=form.work_stopped.data and current_user.role == Role.VENDOR_MANAGER,
    )


def _confirm(ticket, form):
    services.confirm(ticket, current_user, form.rating.data, form.comment.data)


def _reopen(ticket, form):
    services.reopen(ticket, current_user, form.body.data)


def _assign(ticket, form):
    assignee = None
    if form.assignee.data:
        assignee = db.session.get(User, form.assignee.data)
        if assignee is None:
            raise services.TicketRefused(_("Choose someone from the list."))
    services.assign(ticket, current_user, assignee)


def _severity(ticket, form):
    services.change_severity(ticket, current_user, form.severity.data, form.body.data)


def _coverage(ticket, form):
    services.set_coverage(
        ticket,
        current_user,
        form.excluded.data,
        form.body.data,
        local_today(),
        current_app.config["WARRANTY_EXPIRING_DAYS"],
    )


def _reply(ticket, form):
    services.reply(ticket, current_user, form.body.data)


def _note(ticket, form):
    services.note(ticket, current_user, form.body.data)


def _loan(ticket, form):
    services.lend_spare(ticket, current_user, form.spare.data, form.body.data)


def _return(ticket, form):
    loan = ticket.open_loan
    if loan is None:
        raise services.TicketRefused(_("No spare unit is on loan for this ticket."))
    services.return_original(ticket, loan, current_user, form.body.data)


CLIENT_ROLES = CLIENT
ACTIONS = {
    "respond": Action(
        VENDOR,
        text_form(_l("Initial handling opinion"), _l("Write the initial handling opinion.")),
        _respond,
        lambda: _("The response is recorded."),
    ),
    "propose": Action(
        VENDOR,
        text_form(_l("Solution proposal"), _l("Write the solution proposal.")),
        _propose,
        lambda: _("The solution proposal is recorded."),
    ),
    "arrive": Action(
        VENDOR, lambda ticket, **kw: ArriveForm(**kw), _arrive, lambda: _("The arrival on site is recorded.")
    ),
    "wait": Action(
        VENDOR,
        text_form(_l("What are you waiting for?"), _l("Say what the client needs to do.")),
        _wait,
        lambda: _("The ticket waits for the client; the resolution clock is paused."),
    ),
    "resume": Action(
        VENDOR,
        lambda ticket, **kw: Versioned(**kw),
        _resume,
        lambda: _("The wait is over; the resolution clock runs again."),
    ),
    "resolve": Action(
        VENDOR,
        lambda ticket, **kw: ResolveForm(parts=parts_list(), **kw),
        _resolve,
        lambda: _("The ticket is resolved; the client is asked to confirm."),
    ),
    "assign": Action(VENDOR, lambda ticket, **kw: AssignForm(**kw), _assign, lambda: _("The assignee is saved.")),
    "severity": Action(
        VENDOR,
        lambda ticket, **kw: SeverityForm(**kw),
        _severity,
        lambda: _("The severity is changed and the due times recomputed."),
    ),
    "coverage": Action(
        VENDOR,
        lambda ticket, **kw: CoverageForm(**kw),
        _coverage,
        lambda: _("The warranty coverage of this repair is saved."),
    ),
    "loan": Action(VENDOR, lambda ticket, **kw: LoanForm(**kw), _loan, lambda: _("The spare unit's loan is recorded.")),
    "return": Action(
        VENDOR,
        lambda ticket, **kw: ReturnForm(**kw),
        _return,
        lambda: _("The original unit is back; the loan is closed."),
    ),
    "note": Action(
        VENDOR,
        text_form(_l("Internal note"), _l("Write the note first.")),
        _note,
        lambda: _("The internal note is saved."),
    ),
    "reply": Action(ALL, text_form(_l("Reply")), _reply, lambda: _("Your reply is added.")),
    "confirm": Action(
        CLIENT_ROLES,
        lambda ticket, **kw: ConfirmForm(**kw),
        _confirm,
        lambda: _("Thank you: the ticket is closed with your rating."),
    ),
    "reopen": Action(
        CLIENT_ROLES,
        text_form(_l("Why is it not fixed?"), _l("Say what is still wrong.")),
        _reopen,
        lambda: _("The ticket is reopened; the vendor has been told."),
    ),
}


@bp.post("/<int:ticket_id>/<any(" + ", ".join(ACTIONS) + "):action>")
@roles_required(*ALL)
def act(ticket_id, action):
    step = ACTIONS[action]
    if current_user.role not in step.roles:
        abort(403)
    ticket = load(ticket_id)
    form = step.form(ticket)
    if not form.validate_on_submit():
        return ticket_page(ticket, 200, **{action: form})
    try:
        steps.take(Ticket, ticket_id, current_user, lambda locked: step.run(locked, form), version=version_of(form))
    except Refused as refusal:
        db.session.rollback()
        return refused(ticket_id, action, form, refusal.message, refusal.status)
    target = url_for("tickets.show", ticket_id=ticket_id) + ("#timeline" if action in ("reply", "note") else "")
    steps.land_on(target)
    db.session.commit()
    flash(step.done(), "success")
    return redirect(target)


def refused(ticket_id, action, form, message, status):
    """Show the ticket as it is now, the refusal, and the submitted form as typed (with the current version)."""
    ticket = load(ticket_id)
    form.version.data = ticket.version
    flash(message, "danger")
    # The step may no longer be offered (someone else took it): what was typed is shown to copy, whatever happens.
    return ticket_page(ticket, status, kept=kept_text(form), **{action: form})
