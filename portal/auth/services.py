"""Signing in, throttling, invitations and passwords: the account rules, in one tested place.

Services change the session and ``flush()``; the view commits once.
"""
import unicodedata
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ..audit import record
from ..extensions import db
from ..types import utcnow
from . import passwords
from .models import Invitation, LoginFailure, User, new_token, token_digest


def normalise_email(email):
    return (email or "").strip().lower()


def normalise_password(password):
    """Passwords are Unicode: compose them the same way whatever keyboard or system typed them."""
    return unicodedata.normalize("NFC", password or "")


class SignInRefused(Exception):
    """Sign-in refused; ``locked`` says whether it is the throttle rather than bad credentials."""

    def __init__(self, locked=False, until=None):
        super().__init__("locked" if locked else "invalid")
        self.locked = locked
        self.until = until


def lock_until(email, now=None):
    """When the throttle on ``email`` ends, or None if it is not locked.

    Locked once ``LOGIN_MAX_FAILURES`` failures fall within ``LOGIN_LOCK_MINUTES``; attempts during
    the lock are not counted, so the lock ends that many minutes after the last counted failure.
    """
    now = now or utcnow()
    window = timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
    recent = db.session.execute(
        sa.select(sa.func.count(), sa.func.max(LoginFailure.at)).where(
            LoginFailure.email == email, LoginFailure.at > now - window
        )
    ).one()
    count, last = recent
    if count >= current_app.config["LOGIN_MAX_FAILURES"]:
        return last + window
    return None


def authenticate(email, password, now=None):
    """The active user with these credentials, or ``SignInRefused``.

    An unknown e-mail, a wrong password and a deactivated account are refused alike, and all
    count towards the throttle, so that the answer tells nothing about which accounts exist.
    """
    now = now or utcnow()
    email = normalise_email(email)
    until = lock_until(email, now)
    if until is not None:
        raise SignInRefused(locked=True, until=until)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None or not user.active or not user.check_password(normalise_password(password)):
        db.session.add(LoginFailure(email=email, at=now))
        # Keep the table small: failures older than a day no longer count for anything.
        db.session.execute(sa.delete(LoginFailure).where(LoginFailure.at < now - timedelta(days=1)))
        db.session.flush()
        raise SignInRefused(locked=lock_until(email, now) is not None, until=lock_until(email, now))
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.email == email))
    user.last_login_at = now
    db.session.flush()
    return user


def sign_out(user):
    """End every session of the user, on every device, remember-me cookies included."""
    user.end_sessions()
    db.session.flush()


def change_password(user, new_password):
    passwords.remember(user)  # the old one joins the history; the date is noted; a required change is done
    user.set_password(normalise_password(new_password))
    user.end_sessions()
    db.session.flush()
    record("account.password_changed", user=user, target=user)


def invite(user, by=None, now=None):
    """A fresh invitation link token for ``user`` (earlier unused ones stop working). Shown once."""
    now = now or utcnow()
    db.session.execute(
        sa.delete(Invitation).where(Invitation.user_id == user.id, Invitation.used_at.is_(None))
    )
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
    change_password(invitation.user, password)
    return invitation.user
