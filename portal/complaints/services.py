"""A complaint's rounds: filed → routed → answered → closed satisfied, or not satisfied → reopened → routed →
answered → …, until the client closes it. Only the client closes; every step is an event of the ledger."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from .. import uploads
from ..extensions import db
from ..i18n import _l
from ..notify import events as notify
from ..roles import VENDOR
from ..sequence import next_in_year
from ..steps import Refused
from ..storage import stage_upload
from ..types import utcnow
from .models import TRANSITIONS, Complaint, ComplaintAttachment, ComplaintCounter, ComplaintEvent, Status

MAX_ATTACHMENTS = 3
MAX_BYTES = 5 * 1024 * 1024


class ComplaintRefused(Refused):
    """Refused: the message says why."""


def moment(now=None):
    return (now or utcnow()).replace(microsecond=0)


def answer_hours():
    return current_app.config["COMPLAINT_ANSWER_HOURS"]


def next_number(year):
    return f"TS-{year}-{next_in_year(ComplaintCounter, year):04d}"


def event(complaint, user, action, body="", at=None):
    db.session.add(
        ComplaintEvent(
            complaint=complaint,
            round=complaint.round,
            user_id=user.id if user else None,
            action=action,
            body=body or "",
            at=at or moment(),
        )
    )


def move(complaint, to):
    if Status(to) not in TRANSITIONS[complaint.status_enum]:
        raise ComplaintRefused(
            _l("This complaint is “%(state)s”: that step is not possible.", state=complaint.status_enum.label)
        )
    complaint.status = Status(to).value
    complaint.is_open = complaint.status != Status.CLOSED.value


def inspect_attachment(upload):
    """A photo (JPEG/PNG, re-encoded without its metadata) or a PDF, 5 MB at most, checked by ``portal.uploads``:
    its columns (its file staged in storage), or UploadRefused saying why. Visits' attachments are the same."""
    return stage_upload(uploads.check(upload, uploads.ATTACHMENTS, MAX_BYTES))


def file_complaint(by, *, site, ticket, category, description, attachments=(), now=None):
    now = moment(now)
    zone = ZoneInfo(site.timezone if site else current_app.config["BABEL_DEFAULT_TIMEZONE"])
    complaint = Complaint(
        number=next_number(now.astimezone(zone).year),
        client_id=by.client_id,
        site_id=site.id if site else None,
        ticket_id=ticket.id if ticket else None,
        category=category,
        description=description,
        channel="portal",
        status=Status.NEW.value,
        is_open=True,
        round=1,
        filed_by_id=by.id,
        received_at=now,
        due_at=now + timedelta(hours=answer_hours()),
        overdue_rounds=0,
    )
    for item in attachments:
        complaint.attachments.append(ComplaintAttachment(uploaded_at=now, **item))
    db.session.add(complaint)
    event(complaint, by, "filed", description, at=now)
    db.session.flush()
    notify.complaint_filed(complaint, by)
    return complaint


def assign(complaint, by, handler, now=None):
    """The manager routes the complaint (again, for a new round) to the person responsible."""
    if handler is None or handler.role not in VENDOR or not handler.active:
        raise ComplaintRefused(_l("Complaints are routed to the vendor's active staff only."))
    move(complaint, Status.ASSIGNED)
    complaint.handler_id = handler.id
    event(complaint, by, "assigned", handler.name, at=moment(now))
    notify.complaint_routed(complaint, handler, by)


def answer(complaint, by, text, now=None):
    """The handler's answer for this round; an answer after the due time is recorded as late."""
    now = moment(now)
    if complaint.handler_id != by.id and by.role != "vendor_manager":
        raise ComplaintRefused(_l("Only the assigned handler or the vendor manager answers this complaint."))
    move(complaint, Status.ANSWERED)
    if complaint.due_at is not None and now > complaint.due_at:
        complaint.overdue_rounds += 1
        event(complaint, None, "late", at=complaint.due_at)
    complaint.answered_at, complaint.due_at = now, None
    event(complaint, by, "answered", text, at=now)
    notify.complaint_answered(complaint, by)


def close(complaint, by, rating, comment, now=None):
    """The client is satisfied: only the client closes a complaint."""
    now = moment(now)
    move(complaint, Status.CLOSED)
    complaint.closed_at, complaint.rating = now, rating
    event(complaint, by, "closed", comment, at=now)


def reject(complaint, by, reason, now=None):
    """Not satisfied: the complaint reopens for another round, back to the manager, due again."""
    now = moment(now)
    move(complaint, Status.REOPENED)
    event(complaint, by, "rejected", reason, at=now)  # the client's reaction belongs to the round answered
    complaint.round += 1
    complaint.handler_id = None
    complaint.due_at = now + timedelta(hours=answer_hours())
