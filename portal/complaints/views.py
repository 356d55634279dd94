"""Complaints: filing, the list, a complaint's page with its rounds, each step as one POST per action, the
attachments, and the ledger (投诉处理台账) with its XLSX export."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from .. import steps
from ..auth.models import User
from ..bounds import db_id, query_date
from ..downloads import of_row, serve
from ..equipment.io import xlsx_response
from ..extensions import db
from ..forms import optional_id
from ..htmx import render
from ..orgs.models import Client, Site
from ..pagination import Order, paginate
from ..roles import ALL, CLIENT, VENDOR, Role
from ..scoping import roles_required
from ..steps import Refused, kept_text, version_of
from ..tickets.models import Ticket
from ..types import utcnow
from ..uploads import UploadRefused
from . import bp, services
from .forms import AnswerForm, AssignForm, CloseForm, ComplaintForm, RejectForm
from .models import AWAITING_ANSWER, Category, Complaint, ComplaintAttachment, ComplaintEvent, Status

LEDGER_ROLES = (Role.VENDOR_MANAGER, Role.CLIENT_ADMIN)
REACTIONS = ("answered", "rejected", "closed")  # each round's answer and the client's reaction, in the ledger
EXPORT_MAX = 50_000
EXPORT_BATCH = 500  # complaints loaded at a time (with their events) while the ledger is written


@dataclass
class ComplaintFilter:
    state: str = ""
    category: str = ""
    client: int | None = None
    start: date | None = None
    end: date | None = None

    @classmethod
    def from_args(cls, args, user):
        state, category = args.get("state", ""), args.get("category", "")
        states = {s.value for s in Status} | {"open", "overdue"}
        return cls(
            state=state if state in states else "",
            category=category if category in {c.value for c in Category} else "",
            client=optional_id(args.get("client")) if user.is_vendor else None,
            start=_date(args.get("start")),
            end=_date(args.get("end")),
        )

    def apply(self, query, now):
        if self.state == "open":
            query = query.where(Complaint.is_open.is_(True))
        elif self.state == "overdue":
            query = query.where(Complaint.is_open.is_(True), Complaint.due_at < now)
        elif self.state:
            query = query.where(Complaint.status == self.state)
        if self.category:
            query = query.where(Complaint.category == self.category)
        if self.client:
            query = query.where(Complaint.client_id == self.client)
        zone = get_timezone()
        if self.start:
            query = query.where(Complaint.received_at >= datetime.combine(self.start, time(), zone))
        if self.end:
            query = query.where(Complaint.received_at < datetime.combine(self.end + timedelta(days=1), time(), zone))
        return query

    def args(self, **changes):
        values = {
            "state": self.state,
            "category": self.category,
            "client": self.client,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            **changes,
        }
        return {k: v for k, v in values.items() if v not in (None, "")}


def _date(value):
    return query_date(value)


def scoped(*criteria):
    return Complaint.scoped(current_user, *criteria).options(
        joinedload(Complaint.client), joinedload(Complaint.site), joinedload(Complaint.handler)
    )


# The list: open first, newest first; the ledger: newest first (indexes: models.Complaint).
OPEN_NEWEST = Order("open", (Complaint.is_open, Complaint.received_at, Complaint.id), desc=True)
NEWEST = Order("received", (Complaint.received_at, Complaint.id), desc=True)


def clients():
    return db.session.scalars(sa.select(Client).order_by(Client.name_zh)).all() if current_user.is_vendor else []


@bp.get("/")
@roles_required(*ALL)
def index():
    now = utcnow()
    filters = ComplaintFilter.from_args(request.args, current_user)
    page = paginate(filters.apply(scoped(), now), OPEN_NEWEST)
    return render(
        "complaints/index.html",
        fragment="complaints/_table.html",
        page=page,
        filters=filters,
        now=now,
        statuses=list(Status),
        categories=list(Category),
        clients=clients(),
    )


# ---------------------------------------------------------------- filing


def my_tickets():
    return db.session.scalars(Ticket.scoped(current_user).order_by(Ticket.filed_at.desc()).limit(50)).all()


def my_sites():
    return db.session.scalars(Site.scoped(current_user).order_by(Site.name_zh)).all()


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*CLIENT)
def new():
    form = ComplaintForm()
    form.ticket.choices = [("", _("None: a general complaint"))] + [
        (t.id, f"{t.number} · {t.title}") for t in my_tickets()
    ]
    form.site.choices = [("", _("The whole organisation"))] + [(s.id, s.name) for s in my_sites()]
    if not form.is_submitted():
        form.ticket.data = request.args.get("ticket", type=db_id)
    if form.validate_on_submit():
        ticket = Ticket.get_or_404(form.ticket.data, current_user) if form.ticket.data else None
        site_id = current_user.site_id or (ticket.site_id if ticket else form.site.data)
        site = Site.get_or_404(site_id, current_user) if site_id else None
        uploads = [f for f in request.files.getlist(form.attachments.name) if f and f.filename]
        checked = []
        if len(uploads) > services.MAX_ATTACHMENTS:
            form.attachments.errors = [_("At most %(n)d attachments.", n=services.MAX_ATTACHMENTS)]
        else:
            for upload in uploads:
                try:
                    checked.append(services.inspect_attachment(upload))
                except UploadRefused as rejected:
                    form.attachments.errors = [*form.attachments.errors, rejected.message]
        if not form.attachments.errors:
            complaint = services.file_complaint(
                current_user,
                site=site,
                ticket=ticket,
                category=form.category.data,
                description=form.description.data,
                attachments=checked,
            )
            steps.land_on(url_for("complaints.show", complaint_id=complaint.id))
            db.session.commit()
            flash(
                _(
                    "Complaint %(number)s is received. An answer is due by %(due)s.",
                    number=complaint.number,
                    due=format_datetime(complaint.due_at, "short"),
                ),
                "success",
            )
            return redirect(url_for("complaints.show", complaint_id=complaint.id))
    if (
        form.is_submitted()
        and not form.attachments.errors
        and any(f.filename for f in request.files.getlist(form.attachments.name))
    ):
        form.attachments.errors = [_("Choose the photos again: a browser does not keep files between sends.")]
    return render_template("complaints/new.html", form=form)


# ---------------------------------------------------------------- a complaint


def load(complaint_id):
    return db.first_or_404(
        scoped(Complaint.id == complaint_id).options(
            joinedload(Complaint.ticket),
            joinedload(Complaint.filed_by),
            selectinload(Complaint.attachments),
            selectinload(Complaint.events).joinedload(ComplaintEvent.user),
        )
    )


def handlers():
    return db.session.scalars(
        sa.select(User).where(User.role.in_([r.value for r in VENDOR]), User.active.is_(True)).order_by(User.name)
    ).all()


def complaint_page(complaint, status=200, kept=(), **submitted):
    # Built empty (formdata=None) with the complaint's version; only a submitted form shows what was typed.
    forms = {
        name: submitted[name] if name in submitted else step.form(formdata=None, data={"version": complaint.version})
        for name, step in ACTIONS.items()
        if current_user.role in step.roles
    }
    for form in submitted.values():
        form.version.data = complaint.version  # sent again as it is, it applies to the complaint as shown now
    if "assign" in forms:
        forms["assign"].handler.choices = [("", _("Choose…"))] + [(u.id, u.name) for u in handlers()]
    return render_template("complaints/show.html", complaint=complaint, forms=forms, now=utcnow(), kept=kept), status


@bp.get("/<int:complaint_id>")
@roles_required(*ALL)
def show(complaint_id):
    return complaint_page(load(complaint_id))


@bp.get("/<int:complaint_id>/attachments/<int:attachment_id>")
@roles_required(*ALL)
def attachment(complaint_id, attachment_id):
    complaint = Complaint.get_or_404(complaint_id, current_user)
    item = db.first_or_404(
        sa.select(ComplaintAttachment).where(
            ComplaintAttachment.id == attachment_id, ComplaintAttachment.complaint_id == complaint.id
        )
    )
    return serve(of_row(item, f"complaint-{complaint.id}-{item.id}"), label=f"complaint attachment {item.id}")


@dataclass(frozen=True)
class Step:
    roles: frozenset
    form: Callable
    run: Callable  # (complaint, form)
    done: Callable


def _assign(complaint, form):
    handler = db.session.get(User, form.handler.data) if form.handler.data else None  # None: not an id
    services.assign(complaint, current_user, handler)


ACTIONS = {
    "assign": Step(frozenset({Role.VENDOR_MANAGER}), AssignForm, _assign, lambda: _("The complaint is routed.")),
    "answer": Step(
        VENDOR,
        AnswerForm,
        lambda c, f: services.answer(c, current_user, f.body.data),
        lambda: _("The answer is sent to the client."),
    ),
    "close": Step(
        CLIENT,
        CloseForm,
        lambda c, f: services.close(c, current_user, f.rating.data, f.body.data),
        lambda: _("Thank you: the complaint is closed."),
    ),
    "reject": Step(
        CLIENT,
        RejectForm,
        lambda c, f: services.reject(c, current_user, f.body.data),
        lambda: _("The complaint is reopened for another round."),
    ),
}


@bp.post("/<int:complaint_id>/<any(" + ", ".join(ACTIONS) + "):action>")
@roles_required(*ALL)
def act(complaint_id, action):
    step = ACTIONS[action]
    if current_user.role not in step.roles:
        abort(403)
    form = step.form()
    if not form.validate_on_submit():
        return complaint_page(load(complaint_id), **{action: form})
    try:
        steps.take(
            Complaint, complaint_id, current_user, lambda locked: step.run(locked, form), version=version_of(form)
        )
    except Refused as refused:
        db.session.rollback()
        flash(refused.message, "danger")
        return complaint_page(load(complaint_id), refused.status, kept=kept_text(form), **{action: form})
    steps.land_on(url_for("complaints.show", complaint_id=complaint_id))
    db.session.commit()
    flash(step.done(), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint_id))


# ---------------------------------------------------------------- the ledger


def ledger_query(filters, now):
    return filters.apply(scoped(), now).order_by(*NEWEST.sql())


@bp.get("/ledger")
@roles_required(*LEDGER_ROLES)
def ledger():
    now = utcnow()
    filters = ComplaintFilter.from_args(request.args, current_user)
    page = paginate(ledger_query(filters, now).options(selectinload(Complaint.events)), NEWEST)
    return render(
        "complaints/ledger.html",
        fragment="complaints/_ledger_table.html",
        page=page,
        filters=filters,
        now=now,
        statuses=list(Status),
        categories=list(Category),
        clients=clients(),
        reactions=REACTIONS,
    )


def ledger_headers():
    return [
        _("Number"),
        _("Received at"),
        _("Channel"),
        _("Client"),
        _("Site"),
        _("Category"),
        _("Content"),
        _("Handler"),
        _("Rounds"),
        _("Answers and the client's reactions"),
        _("Result"),
        _("Satisfaction"),
        _("Closed at"),
    ]


def ledger_row(c):
    history = "\n".join(f"[{e.round}] {e.label}: {e.body}" for e in c.events if e.action in REACTIONS)
    return [
        c.number,
        format_datetime(c.received_at, "short"),
        _("Portal"),
        c.client.name,
        c.site.name if c.site else "",
        str(c.category_enum.label),
        c.description,
        c.handler.name if c.handler else "",
        c.round,
        history,
        str(c.status_enum.label),
        c.rating or "",
        format_datetime(c.closed_at, "short") if c.closed_at else "",
    ]


@bp.get("/ledger.xlsx")
@roles_required(*LEDGER_ROLES)
def ledger_export():
    now = utcnow()
    filters = ComplaintFilter.from_args(request.args, current_user)
    query = ledger_query(filters, now).options(selectinload(Complaint.events)).limit(EXPORT_MAX)
    rows = (ledger_row(c) for c in db.session.scalars(query.execution_options(yield_per=EXPORT_BATCH)))
    return xlsx_response(
        [str(h) for h in ledger_headers()], rows, _("Complaint ledger"), f"complaints-{now.date().isoformat()}.xlsx"
    )


def awaiting(user, now):
    """(open, awaiting an answer, overdue) complaints in the user's scope, in one query, for the home page."""

    def total(condition):
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    is_open = Complaint.is_open.is_(True)
    waiting = Complaint.status.in_([s.value for s in AWAITING_ANSWER])
    # Every one of the three is open: only open complaints are read (the index leading with is_open), not all.
    row = db.session.execute(
        Complaint.scope(
            sa.select(total(is_open), total(waiting), total(sa.and_(waiting, Complaint.due_at < now))).where(is_open),
            user,
        )
    ).one()
    return dict(zip(("open", "awaiting", "overdue"), row, strict=True))
