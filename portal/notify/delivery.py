"""Sending what the outbox holds: each due delivery claimed by one worker, sent, and marked (or retried with
back-off). The job worker calls ``deliver_due`` (often) and ``send_digests`` (daily); the manager's deliveries page
calls ``resend``.

At most once per channel, with any number of workers: a delivery is claimed by one conditional UPDATE (pending →
sending, with a lease) committed before anything is sent, so a second worker finds it taken. A worker that stops
between the claim and the mark leaves it ``sending``: once its lease is over it becomes ``failed`` with a message
that says so, for the manager to resend or not, rather than being sent again silently (it may have gone out).
Nothing is sent while a transaction is open: on SQLite that would hold the one write lock during a network call.
"""

from datetime import timedelta
from functools import partial
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from .. import metrics
from ..auth.models import User
from ..extensions import db
from ..types import utcnow
from . import mails, robots
from .kinds import N_
from .models import Delivery, DeliveryState, Notification
from .services import _add_once, may_see, mine

PENDING, SENDING, SENT, FAILED = (s.value for s in DeliveryState)
DIGEST = "digest"  # the kind of a daily digest's delivery (a digest is no notification of its own)
DIGEST_MAX = 200  # notifications in one digest; any more wait for the next day's

STOPPED = N_("The worker stopped while sending; it may or may not have been delivered.")
NO_ADDRESS = N_("The user is deactivated or has no e-mail address.")
ROBOT_OFF = N_("The robot is switched off.")
NOTHING_LEFT = N_("What this delivery told no longer exists.")
NOT_THEIRS = N_("The user may no longer see what this delivery told (another school or client now).")
ERRORS = frozenset(
    {STOPPED, NO_ADDRESS, ROBOT_OFF, NOTHING_LEFT, NOT_THEIRS}
)  # the outbox's own errors: shown translated


class Undeliverable(Exception):
    """A delivery no retry can send (its user left, its robot is off): failed at once."""


def deliver_due(now=None, limit=200):
    """Send every delivery that is due; return counts {"sent": n, "retry": n, "failed": n}."""
    now = now or utcnow()
    counts = {"sent": 0, "retry": 0, "failed": _fail_stopped(now)}
    due = db.session.scalars(
        sa.select(Delivery.id)
        .where(Delivery.state == PENDING, Delivery.due_at <= now)
        .order_by(Delivery.due_at, Delivery.id)
        .limit(limit)
    ).all()
    db.session.commit()
    for delivery_id in due:
        claim = _claim(delivery_id, now)
        if claim is not None:  # else another worker took it
            counts[_send(delivery_id, *claim, now)] += 1
    return counts


def _fail_stopped(now):
    """Deliveries whose worker stopped mid-send. Their lease stays: should the worker only have been slow, its
    late "sent" still lands."""
    stopped = db.session.execute(
        sa.update(Delivery)
        .where(Delivery.state == SENDING, Delivery.lease_until < now)
        .values(state=FAILED, error=STOPPED)
    ).rowcount
    db.session.commit()
    return stopped


def _claim(delivery_id, now):
    """Take one delivery (pending → sending), committed before it is sent: (its lease, which try this is, its
    channel), or None if another worker has it."""
    lease = now + current_app.config["DELIVERY_LEASE"]
    claimed = db.session.execute(
        sa.update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state == PENDING, Delivery.due_at <= now)
        .values(state=SENDING, lease_until=lease, attempts=Delivery.attempts + 1)
        .returning(Delivery.attempts, Delivery.channel)
    ).first()
    db.session.commit()
    return None if claimed is None else (lease, *claimed)


def _send(delivery_id, lease, attempts, channel, now):
    """Send one claimed delivery and record how it went (and count it for ``/metrics``)."""
    outcome = _try(delivery_id, lease, attempts, now)
    metrics.delivery_tried(channel, failed=outcome != SENT)
    return outcome


def _try(delivery_id, lease, attempts, now):
    try:
        try:
            send = _prepare(delivery_id)
        finally:
            db.session.rollback()  # it only read: no transaction stays open during the network call
        send()
    except Undeliverable as refusal:
        return _settle(delivery_id, lease, state=FAILED, error=str(refusal))
    except Exception as error:  # noqa: BLE001 - any failed try is recorded and retried
        current_app.logger.warning("delivery %s, try %s: %s", delivery_id, attempts, _describe(error))
        if attempts >= current_app.config["DELIVERY_MAX_ATTEMPTS"]:
            return _settle(delivery_id, lease, state=FAILED, error=_describe(error))
        return _settle(
            delivery_id, lease, state=PENDING, due_at=now + backoff(attempts), error=_describe(error), outcome="retry"
        )
    return _settle(delivery_id, lease, state=SENT, sent_at=now, error="")


def backoff(attempts):
    """The wait after the ``attempts``-th failed try: 1, 2, 4 … minutes, at most ``DELIVERY_BACKOFF_MAX``."""
    return min(timedelta(minutes=2 ** min(attempts - 1, 20)), current_app.config["DELIVERY_BACKOFF_MAX"])


def _settle(delivery_id, lease, outcome=None, **values):
    """Record how the try went, if the delivery is still the one this worker claimed (same lease)."""
    db.session.execute(
        sa.update(Delivery).where(Delivery.id == delivery_id, Delivery.lease_until == lease).values(**values)
    )
    db.session.commit()
    return outcome or values["state"]


def _describe(error):
    text = " ".join(str(error).split())
    text = text if isinstance(error, robots.RobotError) else f"{type(error).__name__}: {text}".rstrip(": ")
    return text[:480] + "…" if len(text) > 480 else text


def _prepare(delivery_id):
    """What sends the delivery (a callable that needs no database), built while its rows are at hand."""
    delivery = db.session.get(Delivery, delivery_id)
    if delivery.robot_id is not None:
        robot = delivery.robot
        if robot is None or not robot.active:
            raise Undeliverable(ROBOT_OFF)
        return partial(robots.post, robot.platform, robot.webhook_url, robot.secret, robots.compose(robot, delivery))
    if delivery.kind == DIGEST:
        user = db.session.get(User, delivery.params.get("user_id"))
        _check_address(user)
        notes = db.session.scalars(
            sa.select(Notification)
            .where(Notification.id.in_(delivery.params.get("ids", ())), mine(user))
            .order_by(Notification.created_at, Notification.id)
        ).all()
        if not notes:
            raise Undeliverable(NOTHING_LEFT)
        return mails.digest_mail(delivery, user, notes).send
    if delivery.notification is None:
        raise Undeliverable(NOTHING_LEFT)
    note = delivery.notification
    _check_address(note.user)
    if not may_see(note.user, note.client_id, note.site_id):  # moved to another school or client since
        raise Undeliverable(NOT_THEIRS)
    return mails.notification_mail(delivery).send


def _check_address(user):
    if user is None or not user.active or not user.email:
        raise Undeliverable(NO_ADDRESS)


def resend(delivery_id):
    """Put a failed delivery back in the outbox, due now, with a fresh set of tries (in the caller's transaction).
    False if it is not failed (already resent, or sent meanwhile)."""
    again = (
        db.session.execute(
            sa.update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.state == FAILED)
            .values(state=PENDING, due_at=utcnow(), attempts=0, lease_until=None, error="")
        ).rowcount
        == 1
    )
    if again:
        db.session.info["notify_kick"] = True
    return again


def send_digests(now=None):
    """Put each user's daily digest in the outbox: one e-mail with every notification they chose to receive that
    way (whose flag is then cleared), at most one per user per day (a unique key, so two workers or a second run
    add nothing). The worker's next ``deliver_due`` sends them. Returns how many digests were added."""
    now = now or utcnow()
    day = now.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()  # the portal's day
    users = db.session.scalars(
        sa.select(Notification.user_id)
        .where(Notification.digest_due.is_(True))
        .group_by(Notification.user_id)
        .order_by(Notification.user_id)
    ).all()
    db.session.commit()
    added = 0
    for user_id in users:
        ids = db.session.scalars(
            sa.select(Notification.id)
            .where(Notification.user_id == user_id, Notification.digest_due.is_(True))
            .order_by(Notification.id)
            .limit(DIGEST_MAX)
        ).all()
        digest = Delivery(
            channel="email",
            kind=DIGEST,
            subject_type=DIGEST,
            params={"user_id": user_id, "ids": ids},
            key=f"digest:{user_id}:{day.isoformat()}",
            due_at=now,
        )
        if ids and _add_once(digest, keyed=True):
            db.session.execute(sa.update(Notification).where(Notification.id.in_(ids)).values(digest_due=False))
            db.session.info["notify_kick"] = True
            added += 1
        db.session.commit()
    return added
