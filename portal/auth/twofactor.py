"""The second factor (双因素认证): time-based one-time codes (TOTP, RFC 6238, by pyotp) and recovery codes (恢复码).

Who must have one: vendor staff and the three administrators always; everyone when the policy says so. Someone who
must and has none is sent to enrolment after the password, unless the policy's grace period (counted from the
account's creation, or from when the policy started requiring it of everyone) still runs: then a banner asks.

The TOTP secret is stored encrypted with Fernet (``cryptography``: AES in CBC mode with an HMAC-SHA256 tag), its
key derived from ``SECRET_KEY`` by HKDF. A database dump alone does not give the secrets; changing ``SECRET_KEY`` makes every enrolment unreadable, so everyone enrols again (see the README).
Recovery codes are kept as scrypt hashes only, and each works once. A code's time step is kept once it is used, so
that the same code (or an earlier one) never signs in twice.
"""

import base64
import hmac
import secrets
from datetime import datetime, timedelta

import pyotp
import segno
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..roles import ADMINS, VENDOR, Role
from ..types import UTCDateTime, utcnow
from .passwords import policy

ALWAYS = VENDOR | ADMINS  # roles that always need a second factor
RECOVERY_CODES = 10
MAX_FAILURES = 5  # wrong codes in a row: back to the password step
PENDING_MINUTES = 5  # the time to type the code after the password
WINDOW = 1  # time steps accepted either side of now (clocks drift; a code typed just as it changed)
ISSUER = "Service portal"


class TwoFactor(db.Model):
    """A user's enrolled authenticator: the encrypted secret, the last time step used, wrong codes in a row."""

    __tablename__ = "two_factor"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(sa.String(200))  # encrypt_secret()
    last_step: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    failures: Mapped[int] = mapped_column(default=0)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCode(db.Model):
    """One recovery code (its hash): for when the phone is lost; used once."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# ---------------------------------------------------------------- the secret, kept encrypted


def _fernet():
    """Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) with a key derived from ``SECRET_KEY`` by HKDF."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal two-factor secret").derive(
        str(current_app.config["SECRET_KEY"]).encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret):
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token):
    """The secret, or None when it was not made with this ``SECRET_KEY`` (or was altered)."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError, TypeError):
        return None


# ---------------------------------------------------------------- who needs one


def enrolment(user):
    """The user's TwoFactor row, or None."""
    return db.session.get(TwoFactor, user.id) if user.id is not None else None


def required(user, rules=None):
    rules = rules or policy()
    return Role(user.role) in ALWAYS or bool(rules.second_factor_for_everyone)


def enrol_by(user, rules=None):
    """When a user who must have a second factor and has none must have enrolled (the grace period's end)."""
    rules = rules or policy()
    start = user.created_at or utcnow()
    if Role(user.role) not in ALWAYS and rules.second_factor_since is not None:
        start = max(start, rules.second_factor_since)
    return start + timedelta(days=rules.grace_days or 0)


# ---------------------------------------------------------------- enrolment


def new_secret():
    return pyotp.random_base32()


def provisioning_uri(secret, user):
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(secret, user):
    """The authenticator's QR code, an SVG data URI (the page's CSP allows ``img-src data:``)."""
    return segno.make(provisioning_uri(secret, user), error="m").svg_data_uri(scale=5, border=2)


def clean_code(code):
    return "".join((code or "").split()).replace("-", "").lower()


def matching_step(secret, code, now=None, after=0):
    """The time step whose code is ``code`` within ±WINDOW of now and later than ``after``, else None."""
    code = clean_code(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = now or utcnow()
    current = totp.timecode(now)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if step > after and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes():
    """Ten codes to show once, like ``k3f9-2mxa``: 40 bits each from an alphabet without look-alike letters."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return [
        "".join(secrets.choice(alphabet) for _ in range(4)) + "-" + "".join(secrets.choice(alphabet) for _ in range(4))
        for _ in range(RECOVERY_CODES)
    ]


def enrol(user, secret, code, now=None):
    """Store the second factor if ``code`` is right for ``secret``; returns the recovery codes (shown once), or
    None when the code is wrong. Earlier enrolment and codes are replaced."""
    now = now or utcnow()
    step = matching_step(secret, code, now)
    if step is None:
        return None
    remove(user)
    db.session.add(TwoFactor(user_id=user.id, secret=encrypt_secret(secret), last_step=step, enrolled_at=now))
    codes = new_recovery_codes()
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=generate_password_hash(clean_code(c), method="scrypt")) for c in codes
    )
    db.session.flush()
    return codes


def remove(user):
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(sa.delete(TwoFactor).where(TwoFactor.user_id == user.id))
    db.session.flush()


# ---------------------------------------------------------------- the code at sign-in


def check(user, code, now=None):
    """ "totp" or "recovery" when ``code`` is a right, unused code (it is then spent), else None (the wrong code is
    counted). The row is locked so that two requests with the same code cannot both pass."""
    found = db.session.scalar(
        sa.select(TwoFactor)
        .where(TwoFactor.user_id == user.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if found is None:
        return None
    secret = decrypt_secret(found.secret)
    step = matching_step(secret, code, now, after=found.last_step) if secret else None
    if step is not None:
        found.last_step, found.failures = step, 0
        db.session.flush()
        return "totp"
    cleaned = clean_code(code)
    if len(cleaned) == 8:
        for recovery in db.session.scalars(
            sa.select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        ):
            if check_password_hash(recovery.code_hash, cleaned):
                recovery.used_at = now or utcnow()
                found.failures = 0
                db.session.flush()
                return "recovery"
    found.failures += 1
    db.session.flush()
    return None


def verify_current(user, code, now=None):
    """For disabling one's own second factor: a right code now (not counted as a sign-in failure)."""
    found = enrolment(user)
    secret = decrypt_secret(found.secret) if found else None
    step = matching_step(secret, code, now, after=found.last_step) if secret else None
    if step is None:
        return False
    found.last_step = step
    db.session.flush()
    return True


def recovery_codes_left(user):
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )
