"""Who sees which rows: one place that every query of client data goes through.

A vendor user sees every client; a client user sees their own client only; a site
administrator (school administrator) sees their own site only. Rows outside the scope
answer 404, never 403, so that an id reveals nothing about another client.
"""

from functools import wraps

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from .extensions import db


class ClientScoped:
    """Mixin for models whose rows belong to a client and, optionally, to one of its sites.

    A model names its client column (and site column, if any) with ``__client_column__``
    and ``__site_column__``; the defaults are ``client_id`` and ``site_id``.
    """

    __client_column__ = "client_id"
    __site_column__ = "site_id"

    @classmethod
    def scope(cls, query, user):
        """Narrow ``query`` (a select of this model) to what ``user`` may see."""
        if user.is_vendor:
            return query
        query = query.where(getattr(cls, cls.__client_column__) == user.client_id)
        site_column = getattr(cls, cls.__site_column__, None) if cls.__site_column__ else None
        if user.site_id is not None and site_column is not None:
            query = query.where(site_column == user.site_id)
        return query

    @classmethod
    def scoped(cls, user, *criteria):
        return cls.scope(sa.select(cls), user).where(*criteria)

    @classmethod
    def get_or_404(cls, id_, user):
        return db.first_or_404(cls.scoped(user, cls.id == id_))


def roles_required(*roles):
    """Allow the view to the given roles only; any other signed-in user gets 403."""
    allowed = frozenset(roles)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:  # the login gate normally catches this first
                abort(401)
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = allowed
        return wrapped

    return decorator


def may_open(endpoint, user=None):
    """Whether ``user`` (the signed-in user by default) may open ``endpoint``: it exists in this application and its
    ``roles_required`` admits the user's role. Templates use it so that a link is shown only to those who will not
    get 403 on it (and not at all when the endpoint is not built yet)."""
    from flask import current_app

    user = current_user if user is None else user
    view = current_app.view_functions.get(endpoint)
    if view is None or not getattr(user, "is_authenticated", False):
        return False
    allowed = getattr(view, "allowed_roles", None)
    return allowed is None or user.role in allowed


def init_app(app):
    app.jinja_env.globals.update(may_open=may_open)
