"""The audit trail (审计日志): who did what, when, from where, with what result (GB/T 22239-2019 安全审计;
Cybersecurity Law art. 21: kept at least six months).

The interface used across the portal:

    from portal.audit import record
    record("auth.sign_in", result="refused", user=user_or_None, target=obj_or_None, reason="bad_credentials")

``event`` is a dotted name (``catalogue.EVENTS`` names them in both languages), ``result`` one of "ok", "refused",
"failed"; ``target`` a model instance (its table, id and a short label are kept), a ``(type, id)`` tuple, or None; the
remaining keywords are details (short strings or numbers). The user, role, client, source address and request id are
taken from the request when not given. The record is written with the request's next commit, or, if nothing commits,
on its own when the request ends (``hooks``): a refused sign-in is kept although the request saves nothing.

Besides ``record``, generic hooks make sure nothing is forgotten (``hooks``): every state-changing request, every
403/404 refusal, every download and export, every step of tickets, quotes, complaints and visits, every change of
users and settings. The records are chained by hashes (``chain``), append-only in the database (``models``), kept
for ``PORTAL_AUDIT_RETENTION_DAYS`` (at least 180) and archived before they are pruned (``retention``); the auditor
reads them at /audit/ (``views``) and ``flask audit verify`` checks the chain.
"""

import logging

from flask import Blueprint, g, has_app_context

bp = Blueprint("audit", __name__, url_prefix="/audit")
log = logging.getLogger(__name__)


def record(event, *, result="ok", target=None, user=None, **details):
    """Record ``event`` (see the module's docstring)."""
    if not has_app_context():
        log.warning("Audit record outside an application: %s %s", event, result)
        return
    from . import hooks

    hooks.queue().append(hooks.entry(event, result, target, user, details))
    g.audit_specific = True  # the request's generic "request.…" record is not needed


def init_app(app):
    from . import cli, hooks, retention

    retention.check_config(app)
    hooks.init_app(app)
    app.cli.add_command(cli.audit)


from . import models, views  # noqa: E402,F401
