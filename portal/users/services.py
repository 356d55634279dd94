"""Creating and changing accounts. A change of role or a deactivation ends the user's sessions."""

import sqlalchemy as sa

from ..auth.models import User
from ..auth.services import normalise_email
from ..extensions import db


class EmailTaken(Exception):
    pass


def email_taken(email, exclude_id=None):
    q = sa.select(User.id).where(User.email == normalise_email(email))
    if exclude_id is not None:
        q = q.where(User.id != exclude_id)
    return db.session.scalar(q.limit(1)) is not None


def create_user(*, email, name, phone, role, client_id, site_id):
    if email_taken(email):
        raise EmailTaken(email)
    user = User(
        email=normalise_email(email), name=name, phone=phone or "", role=role, client_id=client_id, site_id=site_id
    )
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user, *, email, name, phone, role, client_id, site_id):
    if email_taken(email, exclude_id=user.id):
        raise EmailTaken(email)
    scope_changed = (role, client_id, site_id) != (user.role, user.client_id, user.site_id)
    user.email = normalise_email(email)
    user.name = name
    user.phone = phone or ""
    user.role, user.client_id, user.site_id = role, client_id, site_id
    if scope_changed:
        user.end_sessions()  # what they may see has changed: make them sign in again
    db.session.flush()
    return user


def set_active(user, active):
    user.active = active
    if not active:
        user.end_sessions()
    db.session.flush()
