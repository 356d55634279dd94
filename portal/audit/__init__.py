"""The audit trail (审计日志): who did what, when, from where, with what result.

Interface used across the portal (being built by the audit work of issue 18; until then records are only collected
on ``flask.g`` for the request):

    from portal.audit import record
    record("auth.sign_in", result="refused", user=user_or_None, target=obj_or_None, reason="bad_credentials")

``event`` is a dotted name (see the list in the issue's plan), ``result`` one of "ok", "refused", "failed";
``target`` a model instance (its table and id are kept) or None; the remaining keywords are details (short strings
or numbers). The user, role, client, source address and request id are taken from the request when not given.
"""
from flask import g, has_request_context


def record(event, *, result="ok", target=None, user=None, **details):
    if has_request_context():
        g.setdefault("audit_pending", []).append((event, result, target, user, details))
