"""Accounts: users, their invitations, and failed sign-ins (kept in the database for throttling)."""
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
    # Part of every session and remember-me cookie; replaced to end all of the user's sessions at once.
    session_token: Mapped[str] = mapped_column(sa.String(64), default=new_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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
    def state(self):
        """"deactivated", "invited" (no password chosen yet) or "active"; users.views.filtered() mirrors it in SQL."""
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

    def end_sessions(self):
        """Invalidate every session and remember-me cookie this user holds, on every worker and host."""
        self.session_token = new_token()

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


class LoginFailure(db.Model):
    """One failed sign-in for an e-mail address (known or not): the throttle counts these."""

    __tablename__ = "login_failure"
    __table_args__ = (sa.Index("ix_login_failure_email_at", "email", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
