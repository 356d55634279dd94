"""The satisfaction survey by link: made when a fault is closed or a visit signed off, answered once, throttled.

The token
---------
The link's token is derived, not drawn: ``HMAC-SHA256(SECRET_KEY, "survey:<ticket|visit>:<id>:<created at>")``,
URL-safe base64 without padding (43 characters, 256 bits). Only its SHA-256 is stored (``Survey.token_hash``), as
for invitations. A random token shown once would be as strong, but the link must be shown again later: the vendor's
engineer passes it on (as a link or a QR code) to a teacher who has no account and only a phone, days after the
fault was closed, and the reporter's e-mail is written by the job worker after the step's transaction. Deriving it
lets the ticket and visit pages and the e-mail rebuild the same link at any time from the stored row and the
server's secret, while the database alone (a backup, a read-only replica) holds nothing that opens a survey.
Without SECRET_KEY the token cannot be guessed or computed; it names its subject only through that secret. Changing
SECRET_KEY ends every survey link not yet answered (as it ends every session): a deliberate way to revoke them.

One per subject
---------------
``ticket_id`` and ``visit_id`` are unique; the survey is inserted with ``ON CONFLICT DO NOTHING``, so a ticket
closed twice (the client's confirmation racing the 7-day sweep, a sweep on two hosts) makes one survey and one
invitation.

Answering once
--------------
``answer`` is one conditional ``UPDATE … WHERE answered_at IS NULL AND expires_at > now``: of two answers sent at
the same moment exactly one changes the row; the other is told the survey was already answered.

The throttle
------------
Every request to ``/survey/…`` counts against its source address: one row per address and minute in
``survey_throttle``, raised by an upsert that returns the new count (atomic on PostgreSQL and SQLite, so it holds
across workers and hosts). Above ``SURVEY_RATE_LIMIT`` in a minute the page answers 429. It is the one write of
these GET pages (``records_on_get``).
"""

import base64
import hashlib
import hmac
from datetime import timedelta
from enum import StrEnum

import sqlalchemy as sa
from flask import current_app, url_for

from ..extensions import db
from ..i18n import LANGUAGES, _l
from ..sweeps import INSERTS, dialect_of
from ..types import utcnow
from .models import Survey, SurveyThrottle

CODES = {locale: code for code, locale in LANGUAGES.items()}  # "zh_Hans_CN" → "zh"
THROTTLE_KEEP = timedelta(hours=1)  # minutes older than this are deleted when an address starts a new minute


class State(StrEnum):
    SENT = "sent"
    ANSWERED = "answered"
    EXPIRED = "expired"

    @property
    def label(self):
        return STATE_LABELS[self]


STATE_LABELS = {
    State.SENT: _l("Sent, not answered yet"),
    State.ANSWERED: _l("Answered"),
    State.EXPIRED: _l("Expired without an answer"),
}


# ---------------------------------------------------------------- the token


def token_for(subject, subject_id, created_at):
    message = f"survey:{subject}:{subject_id}:{created_at.replace(microsecond=0).isoformat()}".encode()
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_of(survey):
    """The survey's token, rebuilt from the stored row and the server's secret."""
    if survey.ticket_id is not None:
        return token_for("ticket", survey.ticket_id, survey.created_at)
    return token_for("visit", survey.visit_id, survey.created_at)


def digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def url_of(survey, external=True):
    return url_for("surveys.answer", token=token_of(survey), _external=external)


def find(token):
    """The survey of ``token``, or None: an unknown, tampered or malformed token finds nothing."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(sa.select(Survey).where(Survey.token_hash == digest(token)))


def state_of(survey, now=None):
    if survey.answered_at is not None:
        return State.ANSWERED
    return State.EXPIRED if survey.expires_at <= (now or utcnow()) else State.SENT


# ---------------------------------------------------------------- making one


def _language(user):
    return CODES.get(user.locale, "zh") if user is not None and user.locale else "zh"


def _create(subject, subject_obj, *, client_id, site_id, contract_id, recipient_name, recipient, now):
    created = (now or utcnow()).replace(microsecond=0)
    token = token_for(subject, subject_obj.id, created)
    values = dict(
        token_hash=digest(token),
        client_id=client_id,
        site_id=site_id,
        contract_id=contract_id,
        recipient_name=(recipient_name or "")[:100],
        recipient_user_id=recipient.id if recipient else None,
        language=_language(recipient),
        created_at=created,
        expires_at=created + timedelta(days=current_app.config["PORTAL_SURVEY_DAYS"]),
        comment="",
    )
    values[f"{subject}_id"] = subject_obj.id
    insert = (
        INSERTS[dialect_of(Survey)](Survey.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[f"{subject}_id"])
        .returning(Survey.__table__.c.id)
    )
    survey_id = db.session.execute(insert).scalar()
    if survey_id is None:  # made already (closed twice, or by a concurrent close)
        return None
    survey = db.session.get(Survey, survey_id)
    from ..notify import events

    if recipient is not None and not recipient.is_vendor:
        events.survey_invite(survey, recipient, subject_obj)
    return survey


def for_ticket(ticket, now=None):
    """The survey of a closed fault: to its reporter (a client user), or to the contact named on it."""
    reporter = ticket.filed_by
    user = reporter if reporter is not None and not reporter.is_vendor and reporter.active else None
    return _create(
        "ticket",
        ticket,
        client_id=ticket.client_id,
        site_id=ticket.site_id,
        contract_id=ticket.contract_id,
        recipient_name=user.name if user else ticket.contact_name,
        recipient=user,
        now=now,
    )


def for_visit(visit, by, now=None):
    """The survey of a signed-off visit: to the client user who signed it off (the school's contact named on the
    school, or the name they signed with, is who it asks)."""
    user = by if by is not None and not by.is_vendor else None
    name = (
        (visit.site.contact_name if visit.site is not None else "") or visit.signed_name or (user.name if user else "")
    )
    return _create(
        "visit",
        visit,
        client_id=visit.client_id,
        site_id=visit.site_id,
        contract_id=visit.contract_id,
        recipient_name=name,
        recipient=user,
        now=now,
    )


def for_subject(ticket=None, visit=None):
    if ticket is not None:
        return db.session.scalar(sa.select(Survey).where(Survey.ticket_id == ticket.id))
    return db.session.scalar(sa.select(Survey).where(Survey.visit_id == visit.id))


# ---------------------------------------------------------------- answering


def answer(survey, rating, comment, now=None):
    """Record the answer, once: True if this call recorded it; False if the survey was answered (by a concurrent
    request too) or has expired meanwhile."""
    now = now or utcnow()
    done = (
        db.session.execute(
            sa.update(Survey)
            .where(Survey.id == survey.id, Survey.answered_at.is_(None), Survey.expires_at > now)
            .values(answered_at=now, rating=rating, comment=(comment or "")[:2000])
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )
    db.session.flush()
    return done


# ---------------------------------------------------------------- the throttle


def hit(address, now=None):
    """Count one request from ``address`` in the current minute; returns the minute's count so far."""
    now = now or utcnow()
    minute = now.replace(second=0, microsecond=0)
    address = (address or "unknown")[:64]
    insert = INSERTS[dialect_of(SurveyThrottle)](SurveyThrottle.__table__).values(
        address=address, minute=minute, hits=1
    )
    insert = insert.on_conflict_do_update(
        index_elements=["address", "minute"], set_={"hits": SurveyThrottle.__table__.c.hits + 1}
    ).returning(SurveyThrottle.__table__.c.hits)
    hits = db.session.execute(insert).scalar()
    if hits == 1:  # a new minute for this address: forget the old ones
        db.session.execute(sa.delete(SurveyThrottle).where(SurveyThrottle.minute < minute - THROTTLE_KEEP))
    return hits


def limited(address, now=None):
    return hit(address, now) > current_app.config["SURVEY_RATE_LIMIT"]


# ---------------------------------------------------------------- the list


def counts(query):
    """(sent and waiting, answered, expired) among the surveys ``query`` selects, in one query."""
    now = utcnow()
    sub = query.with_only_columns(Survey.answered_at, Survey.expires_at).order_by(None).subquery()

    def total(condition):
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    row = db.session.execute(
        sa.select(
            total(sa.and_(sub.c.answered_at.is_(None), sub.c.expires_at > now)),
            total(sub.c.answered_at.is_not(None)),
            total(sa.and_(sub.c.answered_at.is_(None), sub.c.expires_at <= now)),
        )
    ).one()
    return {"sent": int(row[0]), "answered": int(row[1]), "expired": int(row[2])}
