"""Where records come from and when they are written.

Two ways in:

* ``record(...)`` (``portal.audit``), called by the code that knows what happened (sign-in, password, policy…), and
  the generic request hooks below (every state-changing request, every 403/404 refusal of a signed-in user, every
  download or export), which make sure nothing is forgotten;
* the model hooks (``after_flush``): a new timeline row of a ticket, quote or complaint, a visit's state, a user's
  role, client, site or state, an invitation, a change of the settings (SLA policies, holiday calendar, robots, the
  vendor's details and team) become records of the transaction that wrote them.

When they are written:

* with the data: just before the session commits (``before_commit``), in the same transaction, so that the record
  and the change are saved together or not at all. The chain's lock is taken there, at the end of the transaction;
* on their own: what is still waiting when the request (or job, or command) ends — a refused sign-in, a 403, a
  download, a request that rolled back — is written in a short transaction of its own on another connection (SQLite:
  ``BEGIN IMMEDIATE``), so that it is kept although the request saved nothing. Records of the model hooks never go
  this way: a change that rolled back did not happen.
"""

import logging
import re
import uuid

import sqlalchemy as sa
from flask import g, has_app_context, has_request_context, request
from flask_login import current_user

from ..extensions import db
from ..types import utcnow
from . import chain

log = logging.getLogger(__name__)

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FILE_TYPES = {  # a response of one of these types is a file taken away, whatever its Content-Disposition
    "text/csv": "data.exported",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "data.exported",
    "text/calendar": "data.exported",
    "application/zip": "data.exported",
    "application/pdf": "document.downloaded",
}
LABEL_ATTRIBUTES = ("number", "email", "name_zh", "name", "title", "serial")


# ---------------------------------------------------------------- one record, as it waits to be written


def _snapshot(user):
    """Who, as the record keeps it: id, e-mail, name, role, client at this moment."""
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "id", None) is None:
        return {"user_id": None, "user_email": "", "user_name": "", "role": "", "client_id": None}
    role = user.role
    return {
        "user_id": user.id,
        "user_email": user.email or "",
        "user_name": user.name or "",
        "role": getattr(role, "value", role) or "",
        "client_id": user.client_id,
    }


def _acting_user():
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def entry(event, result="ok", target=None, user=None, details=None, specific=True):
    """A record waiting to be written: who and where are taken now (the user may be renamed or signed out before
    the write); the target is resolved when written (a new object has its id only after the flush)."""
    if result not in ("ok", "refused", "failed"):
        result = "failed"
    where = {"address": "", "request_id": ""}
    if has_request_context():
        where = {"address": request.remote_addr or "", "request_id": request_id()}
    elif has_app_context() and g.get("job"):
        where["request_id"] = f"job:{g.job}"
    return {
        "event": str(event)[:80],
        "result": result,
        "target": target,
        "details": details or {},
        "at": utcnow(),
        "who": _snapshot(user if user is not None else _acting_user()),
        "specific": specific,
        **where,
    }


def _target(target):
    """(type, id, label) of a model instance, a (type, id[, label]) tuple, or nothing."""
    if target is None:
        return "", "", ""
    if isinstance(target, tuple):
        kind, id_, *rest = target
        return str(kind), "" if id_ is None else str(id_), str(rest[0]) if rest else ""
    table = getattr(target, "__tablename__", type(target).__name__.lower())
    state = sa.inspect(target, raiseerr=False)
    identity = state.identity if state is not None and state.identity else (getattr(target, "id", None),)
    id_ = ",".join("" if part is None else str(part) for part in identity)
    loaded = state.dict if state is not None else vars(target)
    label = next((str(loaded[a]) for a in LABEL_ATTRIBUTES if loaded.get(a)), "")
    return table, id_, label


def row_of(waiting):
    kind, id_, label = _target(waiting["target"])
    return {
        "at": waiting["at"],
        **waiting["who"],
        "address": waiting["address"][:64],
        "event": waiting["event"],
        "target_type": kind,
        "target_id": id_,
        "target_label": label,
        "result": waiting["result"],
        "details": chain.details_json(waiting["details"]),
        "request_id": waiting["request_id"],
    }


def queue():
    """The records of this request (or job, or command) not yet written."""
    return g.setdefault("audit_queue", [])


def request_id():
    """The request's id: the X-Request-ID the proxy sent, when it looks like one, else one of our own."""
    if "request_id" not in g:
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    return g.request_id


# ---------------------------------------------------------------- written with the data


def _in_flight():
    return g.setdefault("audit_in_flight", [])


def before_commit(session):
    """Write what waits into the committing transaction: the model hooks' records and the request's."""
    session.flush()  # the last changes' records are made by after_flush
    flushed = session.info.pop("audit_flushed", [])
    generic = _generic_with_the_commit()
    if generic:
        flushed.append(generic)
    waiting = []
    if has_app_context():
        waiting = queue()[:]
        queue().clear()
        _in_flight().extend(waiting)
    if flushed or waiting:
        chain.append(session.connection(), [row_of(w) for w in flushed + waiting])


def _generic_with_the_commit():
    """A signed-in user's state-changing request that commits with no specific record: its ``request.…`` record
    goes with the commit (nothing is written after a step is saved, see tests/test_outage.py)."""
    if (
        not has_request_context()
        or request.method not in CHANGING
        or g.get("audit_specific")
        or g.get("audit_generic")
        or _acting_user() is None
    ):
        return None
    g.audit_generic = True
    return entry(
        f"request.{request.endpoint or 'unknown'}",
        "ok",
        _view_target(),
        details={"path": request.path[:300], "method": request.method},
        specific=False,
    )


def after_commit(session):
    if has_app_context():
        _in_flight().clear()


def after_rollback(session):
    """A commit that failed: the request's own records wait again (to be written on their own); the model hooks'
    records go with the changes that were rolled back."""
    session.info.pop("audit_flushed", None)
    if has_app_context():
        g.pop("audit_generic", None)
    if has_app_context() and g.get("audit_in_flight"):
        queue()[:0] = g.audit_in_flight
        g.audit_in_flight = []


def after_transaction_end(session, transaction):
    if transaction.parent is None:  # the session's transaction ended (commit, rollback or close)
        session.info.pop("audit_flushed", None)


# ---------------------------------------------------------------- written on their own


def write_alone(rows):
    """Append ``rows`` in a transaction of their own, on a connection of their own (on SQLite in memory, one
    connection is shared: the session's transaction is ended first, see ``flush_queue``)."""
    with db.engine.connect() as connection:
        connection.execution_options(portal_writes=True)  # SQLite: BEGIN IMMEDIATE, even in a GET
        with connection.begin():
            return chain.append(connection, rows)


def flush_queue(exc=None):
    """At the end of a request, job or command: what still waits is written on its own. The session's work is over
    by now (what it did not commit is discarded anyway): it is ended first, so that an in-memory SQLite database's
    one connection is free, and no read transaction of the request stays open meanwhile."""
    waiting = g.pop("audit_queue", None) if has_app_context() else None
    g.pop("audit_in_flight", None) if has_app_context() else None
    if not waiting:
        return
    try:
        db.session.rollback()
        write_alone([row_of(w) for w in waiting])
    except Exception:  # noqa: BLE001 - never hide the response's own error; the loss is logged loudly
        log.exception("Audit records could not be written: %s", [w["event"] for w in waiting])


# ---------------------------------------------------------------- the request hooks


def _specific_recorded():
    return g.get("audit_specific", False)


def _view_target():
    """The object a request names: its first ``…_id`` view argument (``ticket_id=5`` → ("ticket", 5))."""
    for name, value in (request.view_args or {}).items():
        if name.endswith("_id"):
            return (name[:-3], value)
    return None


def _served(response):
    """(type, Content-Disposition) of the file this answer hands over: its own headers, or for a redirect to a
    presigned link those the file will have (``portal.downloads``)."""
    if response.status_code == 200:
        return response.mimetype, response.headers.get("Content-Disposition", "")
    if response.status_code == 302 and g.get("file_served"):
        return g.file_served
    return None


def _download_event(response):
    served = _served(response) if request.method == "GET" else None
    if served is None:
        return None
    mimetype, disposition = served
    by_type = FILE_TYPES.get(mimetype)
    if by_type or disposition.lower().startswith("attachment"):
        endpoint = request.endpoint or ""
        if by_type == "data.exported" or "export" in endpoint:
            return "data.exported"
        return "document.downloaded"
    return None


def after_request(response):
    """The generic records: refusals, downloads and exports, and any state-changing request no specific record
    covered. The request's id goes back in the X-Request-ID header."""
    if not has_request_context() or request.endpoint == "static":
        return response
    response.headers["X-Request-ID"] = request_id()
    user = _acting_user()
    status = response.status_code
    if user is not None and request.url_rule is not None and status in (403, 404):
        event = "access.forbidden" if status == 403 else "access.not_found"
        queue().append(
            entry(
                event,
                "refused",
                _view_target(),
                details={"endpoint": request.endpoint, "path": request.path[:300], "method": request.method},
                specific=False,
            )
        )
        return response
    download = _download_event(response)
    if download and user is not None:
        queue().append(
            entry(
                download,
                "ok",
                _view_target(),
                details={
                    "endpoint": request.endpoint,
                    "args": dict(request.args.items()),
                    "type": _served(response)[0],
                    "file": _served(response)[1][:200],
                },
                specific=False,
            )
        )
        return response
    if user is not None and request.method in CHANGING and not _specific_recorded() and not g.get("audit_generic"):
        result = "ok" if status < 400 else "refused" if status < 500 else "failed"
        if status == 200 and response.mimetype == "text/html" and not request.headers.get("HX-Request"):
            result = "refused"  # a whole page answering a form is the form again, with its errors (else: redirect)
        queue().append(
            entry(
                f"request.{request.endpoint or 'unknown'}",
                result,
                _view_target(),
                details={"path": request.path[:300], "status": status},
                specific=False,
            )
        )
    return response


# ---------------------------------------------------------------- the model hooks


def _changes(obj, columns):
    """{column: [old, new]} of the watched columns this flush changed."""
    state = sa.inspect(obj)
    found = {}
    for name in columns:
        if name not in state.attrs:
            continue
        history = state.attrs[name].history
        if history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old != new:
                found[name] = [chain.short(old), chain.short(new)]
    return found


def _loaded(obj, name):
    return sa.inspect(obj).dict.get(name)


def _timeline(obj, kind, parent, parent_id):
    target = _loaded(obj, parent)
    return entry(
        f"{kind}.{obj.action}",
        "ok",
        target if target is not None else (kind, getattr(obj, parent_id)),
        details={"step": obj.action},
        user=None,
    )


USER_COLUMNS = ("email", "name", "phone", "role", "client_id", "site_id")
SETTINGS_COLUMNS_SKIPPED = frozenset({"id", "updated_at", "updated_by_id", "version"})


def _settings_models():
    """{model: event} of the settings whose every change is recorded."""
    from ..notify.models import Robot
    from ..orgs.models import TeamMember, Vendor
    from ..sla.models import CalendarDay, CalendarYear, SlaPolicy, SlaTarget

    return {
        SlaPolicy: "settings.sla_policy",
        SlaTarget: "settings.sla_policy",
        CalendarDay: "settings.calendar",
        CalendarYear: "settings.calendar",
        Robot: "settings.robots",
        Vendor: "settings.vendor",
        TeamMember: "settings.team",
    }


def _settings_change(obj, op):
    columns = [c.key for c in sa.inspect(type(obj)).column_attrs if c.key not in SETTINGS_COLUMNS_SKIPPED]
    change = {"op": op, "id": getattr(obj, "id", None)}
    if op == "updated":
        change["fields"] = _changes(obj, columns)
        if not change["fields"]:
            return None
    elif op == "created":
        change["fields"] = {
            c: chain.short(getattr(obj, c, None))
            for c in columns
            if c != "secret" and "token" not in c and "key" not in c
        }
    for secret in ("secret", "webhook", "url"):  # a robot's address carries its key: never in the trail
        for key in list(change.get("fields", {})):
            if secret in key:
                change["fields"][key] = "***"
    return change


def after_flush(session, context):
    """Records of what this flush wrote (kept on the session until its commit)."""
    from ..auth.models import Invitation, User
    from ..complaints.models import ComplaintEvent
    from ..inspections.models import Visit
    from ..renewals.models import QuoteEvent
    from ..tickets.models import TicketEvent

    settings_models = _settings_models()
    found, settings = [], {}
    for obj in session.new:
        if isinstance(obj, TicketEvent):
            found.append(_timeline(obj, "ticket", "ticket", "ticket_id"))
        elif isinstance(obj, QuoteEvent):
            found.append(_timeline(obj, "quote", "quote", "quote_id"))
        elif isinstance(obj, ComplaintEvent):
            found.append(_timeline(obj, "complaint", "complaint", "complaint_id"))
        elif isinstance(obj, User):
            found.append(
                entry(
                    "user.created",
                    "ok",
                    obj,
                    details={"role": obj.role, "client_id": obj.client_id, "site_id": obj.site_id},
                )
            )
        elif isinstance(obj, Invitation):
            found.append(entry("user.invited", "ok", _loaded(obj, "user") or ("user_account", obj.user_id)))
        elif type(obj) in settings_models:
            change = _settings_change(obj, "created")
            settings.setdefault(settings_models[type(obj)], []).append(change)
    for obj in session.dirty:
        if not session.is_modified(obj, include_collections=False):
            continue
        if isinstance(obj, User):
            active = _changes(obj, ("active",))
            if active:
                found.append(entry("user.activated" if active["active"][1] else "user.deactivated", "ok", obj))
            changed = _changes(obj, USER_COLUMNS)
            if changed:
                found.append(entry("user.updated", "ok", obj, details={"changes": changed}))
        elif isinstance(obj, Visit):
            status = _changes(obj, ("status",))
            if status:
                found.append(
                    entry(
                        f"visit.{status['status'][1]}",
                        "ok",
                        obj,
                        details={"from": status["status"][0], "to": status["status"][1]},
                    )
                )
        elif type(obj) in settings_models:
            change = _settings_change(obj, "updated")
            if change:
                settings.setdefault(settings_models[type(obj)], []).append(change)
    for obj in session.deleted:
        if type(obj) in settings_models:
            settings.setdefault(settings_models[type(obj)], []).append(_settings_change(obj, "deleted"))
        elif isinstance(obj, User):
            found.append(entry("user.deleted", "ok", obj))
    for event, changes in settings.items():  # one record per kind of setting and flush (a calendar import: one)
        found.append(entry(f"{event}.changed", "ok", None, details={"changes": changes[:20], "count": len(changes)}))
    if found:
        _drop_doubles(found)
        session.info.setdefault("audit_flushed", []).extend(found)
        if has_app_context():
            g.audit_specific = True


def _drop_doubles(found):
    """A record the code already asked for (``record("user.created", target=user)``) is not made twice."""
    if not has_app_context():
        return
    asked = {(w["event"], id(w["target"])) for w in queue()}
    found[:] = [f for f in found if (f["event"], id(f["target"])) not in asked]


# ---------------------------------------------------------------- wiring


SESSION_EVENTS = (
    ("before_commit", before_commit),
    ("after_commit", after_commit),
    ("after_rollback", after_rollback),
    ("after_transaction_end", after_transaction_end),
    ("after_flush", after_flush),
)


def init_app(app):
    app.after_request(after_request)
    app.teardown_request(flush_queue)
    app.teardown_appcontext(flush_queue)
    for name, listener in SESSION_EVENTS:
        if not sa.event.contains(sa.orm.Session, name, listener):  # once per process, however many apps
            sa.event.listen(sa.orm.Session, name, listener)
