"""Accounts: users, their invitations, their sign-in sessions, and the sign-in throttle (kept in the database, so that
it holds across workers and hosts)."""

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..orgs.models import Client, Site
from ..roles import Role
from ..scoping import ClientScoped
from ..types import UTCDateTime, utcnow

ROLE_CHECK = "role IN ({})".format(", ".join(f"'{r.value}'" for r in Role))


def new_token():
    return secrets.token_urlsafe(32)


def token_digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


class User(UserMixin, ClientScoped, db.Model):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL
    __table_args__ = (sa.CheckConstraint(ROLE_CHECK, name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    phone: Mapped[str] = mapped_column(sa.String(50), default="")
    role: Mapped[str] = mapped_column(sa.String(32))
    client_id: Mapped[int | None] = mapped_column(sa.ForeignKey("client.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"), index=True)
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    # Part of every session cookie; replaced to end all of the user's sessions at once (their rows are ended too).
    session_token: Mapped[str] = mapped_column(sa.String(64), default=new_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Made by ``flask seed-demo`` with the README's published password: refused at sign-in in production.
    demo: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The password policy (``portal.auth.passwords``): when the password was set (None: before this was recorded,
    # counted from the account's creation), and a change the security administrator requires at the next sign-in.
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_change_required: Mapped[bool] = mapped_column(default=False)

    client: Mapped[Client | None] = relationship()
    site: Mapped[Site | None] = relationship()

    # Flask-Login: the id in the session names the user *and* the current session token.
    def get_id(self):
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self):
        return self.active

    @property
    def role_enum(self):
        return Role(self.role)

    @property
    def is_vendor(self):
        return self.role_enum.is_vendor

    @property
    def is_admin(self):
        """One of the three separated administrators: vendor side, but no business page."""
        return self.role_enum.is_admin

    @property
    def is_business(self):
        """A business role (vendor or client staff): the one who sees tickets, equipment, contracts, notifications."""
        return self.role_enum.is_business

    @property
    def state(self):
        """ "deactivated", "invited" (no password chosen yet) or "active"; users.views.filtered() mirrors it in SQL."""
        if not self.active:
            return "deactivated"
        return "active" if self.password_hash is not None else "invited"

    @property
    def has_password(self):
        return self.password_hash is not None

    def set_password(self, password):
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password):
        return self.password_hash is not None and check_password_hash(self.password_hash, password)

    def end_sessions(self, reason="revoked", now=None):
        """Invalidate every session this user holds, on every worker and host: the token in each cookie no longer
        matches, and the session rows are ended so that the list of sessions shows none open."""
        self.session_token = new_token()
        if self.id is not None:
            db.session.execute(
                sa.update(SignInSession)
                .where(SignInSession.user_id == self.id, SignInSession.ended_at.is_(None))
                .values(ended_at=now or utcnow(), end_reason=reason)
            )

    @property
    def organisation(self):
        return self.site or self.client


class Invitation(db.Model):
    """A one-time link for a new user to set their password. Only the token's digest is stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class SignInSession(db.Model):
    """One sign-in on one device: the session cookie holds its random id, only the id's digest is stored. Open while
    ``ended_at`` is empty and the absolute lifetime has not passed; the idle time is kept in the signed cookie (so
    that no page view writes here)."""

    __tablename__ = "sign_in_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    address: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(100), default="")  # a summary: "Firefox 133 on Windows"
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(sa.String(20))  # signed_out, ended, revoked

    user: Mapped[User] = relationship()


class SignInThrottle(db.Model):
    """Failed sign-ins counted per source address (``kind`` "address", IPv6 by /64) and per account (``kind``
    "account", the e-mail as typed, known or not). A row is reserved atomically before the password is checked (see
    ``auth.throttle``); rows idle for longer than the window are pruned: the audit trail keeps every failure."""

    __tablename__ = "sign_in_throttle"

    kind: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
