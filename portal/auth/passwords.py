"""The password policy (密码策略) and the one place where a new password is checked.

The security administrator sets the policy (``portal.security_admin``); it lives in one row of ``security_policy``
and is read once per request (``policy()``). Every form that sets a password goes through ``problems()`` (via
``portal.forms.PasswordPolicy``), so that the rules cannot differ between the invitation, the password change and
``flask create-admin``. Each failed rule gives its own reason, translated.
"""

import unicodedata
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, g, has_request_context
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash

from ..extensions import db
from ..i18n import _l
from ..steps import HasVersion
from ..types import UTCDateTime, utcnow

MIN_LENGTH_FLOOR = 8  # the policy can never ask for less
CLASSES = 4  # lower-case letters, upper-case letters, digits, symbols
ZXCVBN_MAX = 72  # zxcvbn refuses longer input (its time grows with length); a longer one is judged on its start


class SecurityPolicy(HasVersion, db.Model):
    """The sign-in policy: one row (id 1). Until the security administrator first saves it, the defaults below
    apply (a row is not written by a page view). ``version`` refuses the second of two concurrent saves."""

    __tablename__ = "security_policy"
    __table_args__ = (
        sa.CheckConstraint("id = 1", name="single_row"),
        sa.CheckConstraint(f"min_length >= {MIN_LENGTH_FLOOR}", name="min_length"),
        sa.CheckConstraint(f"classes_required BETWEEN 1 AND {CLASSES}", name="classes"),
        sa.CheckConstraint("history_count >= 0 AND expiry_days >= 0 AND grace_days >= 0", name="counts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=1)
    min_length: Mapped[int] = mapped_column(default=12)
    classes_required: Mapped[int] = mapped_column(default=3)
    history_count: Mapped[int] = mapped_column(default=5)
    expiry_days: Mapped[int] = mapped_column(default=90)  # 0: never
    second_factor_for_everyone: Mapped[bool] = mapped_column(default=False)
    # When "everyone" was last switched on: the grace period of those it newly concerns counts from here.
    second_factor_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    grace_days: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))

    EDITABLE = (
        "min_length",
        "classes_required",
        "history_count",
        "expiry_days",
        "second_factor_for_everyone",
        "grace_days",
    )

    @classmethod
    def defaults(cls):
        """The policy before anyone saved one (the column defaults, version 1), not added to the session."""
        return cls(id=1, version=1, **{c.name: c.default.arg for c in cls.__table__.columns if c.name in cls.EDITABLE})


class PasswordHistory(db.Model):
    """A password the user had (its scrypt hash only), so that the last few cannot be chosen again."""

    __tablename__ = "password_history"
    __table_args__ = (sa.Index("ix_password_history_user_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def policy():
    """The policy in force, read once per request (kept on ``g``), or once per call outside a request."""
    if has_request_context() and "security_policy" in g:
        return g.security_policy
    found = db.session.get(SecurityPolicy, 1) or SecurityPolicy.defaults()
    if has_request_context():
        g.security_policy = found
    return found


def forget_policy():
    """After the policy is saved: the rest of the request reads the new one."""
    if has_request_context():
        g.pop("security_policy", None)


# ---------------------------------------------------------------- the rules


def char_classes(password):
    """Which of the four classes the password uses. Letters without case (Chinese, Japanese kana…) count as
    letters: with the lower-case ones, so that a Chinese passphrase needs two more classes, as a Latin one does."""
    found = set()
    for ch in password:
        cat = unicodedata.category(ch)
        if cat in ("Lu", "Lt"):
            found.add("upper")
        elif cat.startswith("L"):
            found.add("lower")
        elif cat == "Nd":
            found.add("digit")
        elif not ch.isspace():
            found.add("symbol")
    return found


def personal_parts(email, name):
    """The pieces of the user's own identity a password must not contain (folded; short fragments skipped)."""
    parts = set()
    email = (email or "").strip().casefold()
    if email:
        parts.add(email)
        local = email.partition("@")[0]
        if len(local) >= 3:
            parts.add(local)
    name = (name or "").strip().casefold()
    if name:
        squeezed = "".join(name.split())
        if len(squeezed) >= 2:  # a Chinese name has two or three characters
            parts.add(squeezed)
        parts.update(piece for piece in name.split() if len(piece) >= 3)
    return parts


def _common_list():
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    cached = getattr(_common_list, "cache", None)
    if cached is None:
        cached = _common_list.cache = frozenset(FREQUENCY_LISTS["passwords"])
    return cached


def is_common(password, personal=()):
    """Among zxcvbn's 30,000 most common passwords, or so guessable that zxcvbn scores it below 3 (keyboard rows,
    sequences, a dictionary word with digits and leetspeak, a pinyin phrase plus a date…)."""
    folded = password.casefold()
    if folded in _common_list() or folded.strip() in _common_list():
        return True
    from zxcvbn import zxcvbn

    return zxcvbn(password[:ZXCVBN_MAX], user_inputs=list(personal))["score"] < 3


def reused(user, password, count):
    """Whether ``password`` is the user's current one or one of the ``count`` before it (history)."""
    if user is None or user.id is None or count <= 0:
        return False
    if user.check_password(password):
        return True
    hashes = db.session.scalars(
        sa.select(PasswordHistory.password_hash)
        .where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc())
        .limit(max(count - 1, 0))
    ).all()
    return any(check_password_hash(h, password) for h in hashes)


def problems(password, *, user=None, email=None, name=None, rules=None):
    """Every rule the new ``password`` breaks, each with its reason (lazy strings), in the policy's order.
    ``user`` (when the account exists) gives the e-mail, the name and the history; ``email``/``name`` otherwise."""
    rules = rules or policy()
    password = unicodedata.normalize("NFC", password or "")
    email = email if email is not None else (user.email if user is not None else "")
    name = name if name is not None else (user.name if user is not None else "")
    reasons = []
    if len(password) < rules.min_length:
        reasons.append(_l("Use at least %(n)d characters.", n=rules.min_length))
    high = current_app.config["PASSWORD_MAX_LENGTH"]
    if len(password) > high:
        reasons.append(_l("Use at most %(max)d characters.", max=high))
    if len(char_classes(password)) < rules.classes_required:
        reasons.append(
            _l(
                "Use at least %(n)d of: lower-case letters, upper-case letters, digits, symbols.",
                n=rules.classes_required,
            )
        )
    personal = personal_parts(email, name)
    folded = password.casefold()
    if any(part in folded or part in "".join(folded.split()) for part in personal):
        reasons.append(_l("It must not contain your e-mail address or name."))
    if password and is_common(password, personal):
        reasons.append(_l("It is among the most common passwords: choose one that is harder to guess."))
    if password and reused(user, password, rules.history_count):
        reasons.append(_l("It was one of your last %(n)d passwords: choose a new one.", n=rules.history_count))
    return reasons


# ---------------------------------------------------------------- changing a password


def remember(user, now=None):
    """Keep the user's current password hash in the history (before it is replaced), trimmed to the policy's
    length; and note when the new one is set."""
    now = now or utcnow()
    keep = max(policy().history_count, 1)
    if user.password_hash is not None and user.id is not None:
        db.session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash, created_at=now))
        db.session.flush()
        old = db.session.scalars(
            sa.select(PasswordHistory.id)
            .where(PasswordHistory.user_id == user.id)
            .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc())
            .offset(keep)
        ).all()
        if old:
            db.session.execute(sa.delete(PasswordHistory).where(PasswordHistory.id.in_(old)))
    user.password_changed_at = now
    user.password_change_required = False


def is_expired(user, now=None, rules=None):
    """The password is older than the policy allows (never when the policy's expiry is 0). A password set before
    its date was recorded counts from the account's creation."""
    rules = rules or policy()
    if not rules.expiry_days or user.password_hash is None:
        return False
    since = user.password_changed_at or user.created_at
    return since is not None and (now or utcnow()) - since > timedelta(days=rules.expiry_days)
