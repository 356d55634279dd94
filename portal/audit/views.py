"""The auditor's pages (审计管理员 only): the trail with its filters, one record with its hashes, the filtered records
as CSV or XLSX (the export is itself recorded: a download, see ``hooks``), and the chain's last check."""

import json
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

from ..bounds import db_id, has_control, query_date
from ..extensions import db
from ..htmx import render
from ..i18n import active_timezone
from ..orgs.models import Client
from ..pagination import Order, paginate
from ..roles import Role
from ..scoping import roles_required
from . import bp, catalogue, record, retention
from .models import RESULTS, AuditEvent

ORDER = Order("recent", (AuditEvent.seq,), desc=True)
FILTERS = ("from", "to", "email", "group", "event", "result", "client", "address")
EXPORT_MAX = 100_000  # records in one export of the page; an archive of everything is ``flask audit export``


def _start_of(day):
    """A day of the site's calendar, as the UTC moment it starts."""
    return datetime.combine(day, time.min, tzinfo=active_timezone())


def filtered(args):
    """The records the filters ask for, newest first (every filter one indexed column)."""
    query = sa.select(AuditEvent)
    start, end = query_date(args.get("from")), query_date(args.get("to"))
    if start:
        query = query.where(AuditEvent.at >= _start_of(start))
    if end:
        query = query.where(AuditEvent.at < _start_of(end + timedelta(days=1)))
    email = args.get("email", "").strip().lower()[:254]
    if email and not has_control(email):
        query = query.where(AuditEvent.user_email == email)
    event = args.get("event", "")
    group = args.get("group", "")
    if event and len(event) <= 80 and not has_control(event):
        query = query.where(AuditEvent.event == event)
    elif group in catalogue.GROUPS:
        named = [k.event for k in catalogue.EVENTS.values() if k.group == group]
        query = query.where(
            sa.or_(
                AuditEvent.event.in_(named),
                *(AuditEvent.event.startswith(p, autoescape=True) for p in catalogue.prefixes(group)),
            )
        )
    result = args.get("result", "")
    if result in RESULTS:
        query = query.where(AuditEvent.result == result)
    client_id = args.get("client", type=db_id)
    if client_id:
        query = query.where(AuditEvent.client_id == client_id)
    address = args.get("address", "").strip()[:64]
    if address and not has_control(address):
        query = query.where(AuditEvent.address == address)
    return query.order_by(AuditEvent.seq.desc())


def current_filters():
    return {k: v for k, v in request.args.items() if k in FILTERS and v}


def verify_status():
    """The chain's last check: (when, intact, summary) or None when never checked."""
    row = retention.last_verified()
    if row is None:
        return None
    details = json.loads(row.details or "{}")
    return {
        "at": row.at,
        "ok": row.result == "ok",
        "count": details.get("count"),
        "seq": details.get("seq"),
        "problem": details.get("problem", ""),
    }


@bp.get("/")
@roles_required(Role.AUDITOR)
def index():
    page = paginate(filtered(request.args), ORDER)
    clients = db.session.execute(sa.select(Client.id, Client.name_zh, Client.name_en).order_by(Client.name_zh)).all()
    return render(
        "audit/index.html",
        fragment="audit/_table.html",
        page=page,
        filters=current_filters(),
        clients=clients,
        client_names={c.id: c.name_zh for c in clients},
        catalogue=catalogue,
        results=catalogue.RESULTS,
        status=verify_status(),
        retention_days=retention.retention_days(),
    )


@bp.get("/<int:seq>")
@roles_required(Role.AUDITOR)
def show(seq):
    item = db.first_or_404(sa.select(AuditEvent).where(AuditEvent.seq == seq))
    client = db.session.get(Client, item.client_id) if item.client_id else None
    details = json.loads(item.details or "{}")
    return render(
        "audit/show.html",
        item=item,
        client=client,
        catalogue=catalogue,
        results=catalogue.RESULTS,
        details=json.dumps(details, ensure_ascii=False, indent=2, sort_keys=True),
    )


def export_headers():
    return [
        _("Seq"),
        _("Time"),
        _("User"),
        _("E-mail"),
        _("Role"),
        _("Client"),
        _("Address"),
        _("Event"),
        _("Event name"),
        _("Object"),
        _("Object id"),
        _("Object label"),
        _("Result"),
        _("Details"),
        _("Request id"),
        _("Previous hash"),
        _("Hash"),
    ]


@bp.get("/export.<any(csv, xlsx):fmt>")
@roles_required(Role.AUDITOR)
def export(fmt):
    from ..equipment import io

    query = filtered(request.args).limit(EXPORT_MAX)
    zone = active_timezone()
    names = dict(db.session.execute(sa.select(Client.id, Client.name_zh)).all())
    labels = {event: catalogue.label(event) for event in catalogue.EVENTS}
    results = {k: str(v) for k, v in catalogue.RESULTS.items()}

    def rows():  # read when the response is sent (see io.csv_response)
        for item in db.session.scalars(query.execution_options(yield_per=1000)):
            yield [
                item.seq,
                item.at.astimezone(zone).replace(tzinfo=None),
                item.user_name,
                item.user_email,
                item.role,
                names.get(item.client_id, ""),
                item.address,
                labels.get(item.event, item.event),
                item.event,
                item.target_type,
                item.target_id,
                item.target_label,
                results.get(item.result),
                item.details,
                item.request_id,
                item.prev_hash,
                item.hash,
            ]

    stamp = format_datetime(datetime.now(zone), "yyyyMMdd-HHmm")
    filename = f"audit-{stamp}.{fmt}"
    headers = [str(h) for h in export_headers()]
    if fmt == "csv":
        return io.csv_response(headers, rows(), filename)
    return io.xlsx_response(headers, rows(), _("Audit trail"), filename)


@bp.post("/verify")
@roles_required(Role.AUDITOR)
def verify():
    """Ask the job worker to check the chain now (it may take minutes on millions of records)."""
    try:
        retention.request_verify()
    except Exception:  # noqa: BLE001 - the queue is down: said so, and recorded as failed
        record("audit.verify_requested", result="failed")
        flash(_("The check could not be started: the job worker's queue is not reachable. Try again later."), "danger")
    else:
        record("audit.verify_requested")
        flash(_("The check of the audit trail has started; its result appears here when it is done."), "success")
    return redirect(url_for("audit.index"), 303)
