"""Signing in, throttling, invitations and passwords: the account rules, in one tested place.

Services change the session and ``flush()``; the view commits once.
"""

import re
import secrets
import unicodedata
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from ..audit import record
from ..extensions import db
from ..types import utcnow
from . import passwords, throttle
from .models import Invitation, SignInSession, User, new_token, token_digest


def normalise_email(email):
    return (email or "").strip().lower()


def normalise_password(password):
    """Passwords are Unicode: compose them the same way whatever keyboard or system typed them."""
    return unicodedata.normalize("NFC", password or "")


class SignInRefused(Exception):
    """Sign-in refused. ``reason`` is for the audit trail (the person signing in sees one answer for every bad
    credential); ``wait`` is set when the throttle refused the attempt: seconds before the next one."""

    def __init__(self, reason, wait=0):
        super().__init__(reason)
        self.reason = reason
        self.wait = wait

    @property
    def throttled(self):
        return self.reason == "throttled"

    @property
    def demo(self):
        return self.reason == "demo_in_production"


_dummy_hash = None


def dummy_hash():
    """A scrypt hash made once, with the same parameters as the real ones: checking a password against it costs what
    checking a real account's costs, so that a refusal takes as long for an unknown e-mail as for a known one."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = generate_password_hash(secrets.token_urlsafe(16), method="scrypt")
    return _dummy_hash


def password_matches(user, password):
    """Check ``password`` against the user's hash, or against the dummy one (unknown e-mail, no password yet): the
    same work either way."""
    stored = user.password_hash if user is not None and user.password_hash else None
    matches = check_password_hash(stored or dummy_hash(), password)
    return matches and stored is not None


def is_demo_account(user, password):
    """A demo account (made by the demo seed, one of the README's, or any account with the published password)."""
    from ..cli import DEMO_ACCOUNTS, DEMO_PASSWORD

    return user.demo or user.email in {email for email, *_ in DEMO_ACCOUNTS} or password == DEMO_PASSWORD


def authenticate(email, password, address=None, now=None):
    """The active user with these credentials, or ``SignInRefused``.

    The throttle reserves the attempt first (``auth.throttle``): a waiting attempt is refused without looking at the
    password. An unknown e-mail, a wrong password, an account without a password and a deactivated account then take
    the same path (one scrypt check) and get the same answer, so that neither the answer nor its time tells which
    accounts exist. Every refusal is recorded for the audit trail with its reason.
    """
    now = now or utcnow()
    email = normalise_email(email)
    password = normalise_password(password)
    reservation = throttle.reserve(address, email, now)
    if reservation.wait:
        record("auth.sign_in", result="refused", reason="throttled", email=email, wait=reservation.wait)
        raise SignInRefused("throttled", wait=reservation.wait)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    matches = password_matches(user, password)
    reason = None
    if user is None:
        reason = "unknown_account"
    elif not user.has_password:
        reason = "no_password"
    elif not matches:
        reason = "bad_password"
    elif not user.active:
        reason = "deactivated"
    elif current_app.config["PORTAL_ENV"] == "production" and is_demo_account(user, password):
        reason = "demo_in_production"
    if reason is not None:
        throttle.prune(now)
        db.session.flush()
        record("auth.sign_in", result="refused", user=user, reason=reason, email=email)
        raise SignInRefused(reason)
    throttle.succeeded(reservation)
    user.last_login_at = now
    db.session.flush()
    return user


BROWSERS = (
    ("MicroMessenger/", "WeChat"),
    ("DingTalk/", "DingTalk"),
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Version/", "Safari"),
)
SYSTEMS = (
    ("Windows", "Windows"),
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def user_agent_summary(header):
    """ "Chrome 120 / Windows": enough for a person to recognise their device in the list of sessions, and no more
    (the full header is long and says little)."""
    header = header or ""
    browser = ""
    for marker, label in BROWSERS:
        found = re.search(re.escape(marker) + r"(\d+)", header)
        if found:
            browser = f"{label} {found.group(1)}"
            break
    system = next((label for marker, label in SYSTEMS if marker in header), "")
    return " / ".join(part for part in (browser, system) if part)[:100]


def open_session(user, address="", user_agent="", now=None):
    """A new sign-in session for ``user``: the row, and its random id for the cookie (only its digest is stored)."""
    token = new_token()
    row = SignInSession(
        token_hash=token_digest(token),
        user_id=user.id,
        started_at=now or utcnow(),
        address=(address or "")[:64],
        user_agent=user_agent_summary(user_agent),
    )
    db.session.add(row)
    db.session.flush()
    return row, token


def find_session(token):
    if not token or not isinstance(token, str):
        return None
    return db.session.scalar(sa.select(SignInSession).where(SignInSession.token_hash == token_digest(token)))


def open_sessions(user, now=None):
    """The user's sessions still open (not ended, within the absolute lifetime), the newest first."""
    now = now or utcnow()
    lifetime = current_app.config["SESSION_LIFETIME"]
    return db.session.scalars(
        sa.select(SignInSession)
        .where(
            SignInSession.user_id == user.id,
            SignInSession.ended_at.is_(None),
            SignInSession.started_at > now - lifetime,
        )
        .order_by(SignInSession.started_at.desc(), SignInSession.id.desc())
    ).all()


def end_session(session_row, reason="signed_out", now=None):
    if session_row is not None and session_row.ended_at is None:
        session_row.ended_at = now or utcnow()
        session_row.end_reason = reason
        db.session.flush()


def end_other_sessions(user, keep=None, now=None):
    """End every open session of the user but ``keep`` (this device's): how many were ended."""
    query = sa.update(SignInSession).where(SignInSession.user_id == user.id, SignInSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(SignInSession.id != keep.id)
    result = db.session.execute(query.values(ended_at=now or utcnow(), end_reason="ended"))
    db.session.flush()
    return result.rowcount


def sign_out(user):
    """End every session of the user, on every device."""
    user.end_sessions()
    db.session.flush()


def change_password(user, new_password, event="account.password_changed"):
    passwords.remember(user)  # the old one joins the history; the date is noted; a required change is done
    user.set_password(normalise_password(new_password))
    user.end_sessions()
    db.session.flush()
    record(event, user=user, target=user)


def invite(user, by=None, now=None):
    """A fresh invitation link token for ``user`` (earlier unused ones stop working). Shown once."""
    now = now or utcnow()
    db.session.execute(sa.delete(Invitation).where(Invitation.user_id == user.id, Invitation.used_at.is_(None)))
    token = new_token()
    hours = current_app.config["INVITATION_HOURS"]
    db.session.add(
        Invitation(
            user_id=user.id,
            token_hash=token_digest(token),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
            created_by_id=by.id if by else None,
        )
    )
    db.session.flush()
    return token


def find_invitation(token, now=None):
    """The invitation for this token if it can still be used, else None (unknown, used or expired)."""
    now = now or utcnow()
    if not token:
        return None
    invitation = db.session.scalar(sa.select(Invitation).where(Invitation.token_hash == token_digest(token)))
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        return None
    if not invitation.user.active:
        return None
    return invitation


def accept_invitation(invitation, password, now=None):
    invitation.used_at = now or utcnow()
    # A first password or a forgotten one replaced: either way set through a link an administrator sent.
    change_password(invitation.user, password, event="account.password_reset")
    return invitation.user
