import sqlalchemy as sa
from flask import current_app, g, jsonify, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..auth.models import User
from ..complaints.views import awaiting as complaints_awaiting
from ..equipment import tally
from ..equipment.warranty import LISTED_STATES
from ..extensions import db
from ..i18n import _l, local_today
from ..inspections.services import counts as visit_counts
from ..inspections.services import last_inspection
from ..nav import groups_for, items_for
from ..orgs.models import Client, Site, Vendor
from ..renewals.models import RenewalQuote
from ..roles import ORGANISATION_ADMINS, Role
from ..scoping import may_open
from ..sla.models import CalendarYear
from ..tickets.models import Status, Ticket
from ..types import utcnow
from . import bp

LAST_KNOWN = "portal.vendor"  # app.extensions key: the vendor's names and hotline as last read, for outage pages


def current_vendor():
    """The vendor row, loaded once per request (the layout shows its name and hotline)."""
    if "vendor" not in g:
        try:
            g.vendor = Vendor.current()
            current_app.extensions[LAST_KNOWN] = {
                name: getattr(g.vendor, name) for name in ("name_zh", "name_en", "hotline", "email")
            }
        except sa.exc.SQLAlchemyError:  # the error page must render even when the database is down
            db.session.rollback()
            offline_vendor()
    return g.vendor


def offline_vendor():
    """The layout's vendor without the database: a copy of the last one this process read (or a blank one)."""
    g.vendor = Vendor(**current_app.extensions.get(LAST_KNOWN, {"name_zh": "", "name_en": ""}))


@bp.app_context_processor
def layout_context():
    return {"vendor": current_vendor(), "nav_items": items_for(current_user), "nav_groups": groups_for(current_user)}


def count(query):
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


def organisation_stats(user):
    """A few counts for the home page, each one query, each a link to its list."""
    if user.role == Role.VENDOR_MANAGER:
        return [
            (
                _("Quotes to price"),
                count(sa.select(RenewalQuote.id).where(RenewalQuote.status == "requested")),
                url_for("renewals.index", status="requested"),
            ),
            (_("Clients"), count(sa.select(Client.id)), url_for("clients.index")),
            (_("Sites"), count(sa.select(Site.id)), url_for("clients.index")),
        ]
    if user.role == Role.VENDOR_AGENT:
        return [
            (_("Clients"), count(sa.select(Client.id)), url_for("clients.index")),
            (_("Sites"), count(sa.select(Site.id)), url_for("sites.index")),
        ]
    if user.role == Role.CLIENT_ADMIN:
        return [
            (
                _("Quotes to decide"),
                count(RenewalQuote.scoped(user, RenewalQuote.status_on(local_today()) == "issued")),
                url_for("renewals.index", status="issued"),
            ),
            (_("Sites"), count(Site.scoped(user)), url_for("sites.index")),
            (_("Active users"), count(User.scoped(user, User.active.is_(True))), url_for("users.index")),
        ]
    if user.role == Role.CLIENT_STAFF:
        return [(_("Sites"), count(Site.scoped(user)), url_for("sites.index"))]
    return []


def warranty_glance(user):
    """How many of the user's units are in each warranty state, for the home page: one query of the maintained
    tally (a few rows), not a count of the units."""
    counts = tally.counts_by_state(user, local_today())
    return [(state, counts.get(state.value, 0)) for state in LISTED_STATES] if counts else []


def service_glance(user, now):
    """Open fault reports, breaches, at risk and (vendor) unassigned or (client) waiting for confirmation, in one
    query; and the five open tickets due soonest (breached ones first), in another, for the home page.

    Both read open tickets only (and, for a client, the few resolved ones awaiting confirmation), by the indexes that
    lead with ``is_open`` or ``status``: a few thousand rows at most, however many closed tickets there are."""

    def total(condition):
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    is_open = Ticket.is_open.is_(True)
    breached, at_risk = Ticket.in_breach(now), Ticket.at_risk(now)
    if user.is_vendor:
        fourth, rows = sa.and_(is_open, Ticket.assignee_id.is_(None)), is_open
    else:  # resolved, not yet confirmed nor closed by the 7 days: a resolved ticket is no longer open
        fourth = Ticket.status_at(now) == Status.RESOLVED.value
        rows = sa.or_(is_open, Ticket.status == Status.RESOLVED.value)
    row = db.session.execute(
        Ticket.scope(sa.select(total(is_open), total(breached), total(at_risk), total(fourth)).where(rows), user)
    ).one()
    counts = dict(zip(("open", "breached", "at_risk", "fourth"), row, strict=True))
    return counts, soonest_tickets(user)


def soonest_tickets(user, limit=5):
    """The open tickets due soonest, those with nothing due last: the queue's order (``Ticket.by_nearest_due``)
    written as ``next_due NULLS LAST``, which is the order of the indexes on (…, is_open, next_due) on PostgreSQL, so
    that the first few are read from the index instead of sorting every open ticket."""
    return db.session.scalars(
        Ticket.scoped(user, Ticket.is_open.is_(True))
        .options(joinedload(Ticket.site))
        .order_by(Ticket.next_due.asc().nulls_last(), Ticket.id)
        .limit(limit)
    ).all()


UNCONFIRMED_FROM_MONTH = 11  # the State Council publishes next year's schedule in November or December


def unconfirmed_next_year(user, today):
    """Next year, when from 1 November its holiday schedule is still not confirmed (the vendor manager or the system
    administrator enters and confirms it), else None; one query, and only then."""
    if user.role not in ORGANISATION_ADMINS or today.month < UNCONFIRMED_FROM_MONTH:
        return None
    year = today.year + 1
    confirmed = db.session.scalar(sa.select(CalendarYear.confirmed).where(CalendarYear.year == year))
    return None if confirmed else year


# Each administrator's home page: the entry points of their area (三权分立), and nothing of the business. Areas built
# separately (the security administrator's /security/, the auditor's /audit/) appear once their endpoints exist;
# an entry is shown only when its page admits the user (``may_open``).
ADMIN_AREAS = {
    Role.SYSTEM_ADMIN: (
        (
            "users.index",
            _l("Users"),
            "people",
            _l("Accounts of vendor staff, administrators and client users: create, change the role, deactivate."),
        ),
        ("clients.index", _l("Clients"), "buildings", _l("The education bureaus and centres served, and their sites.")),
        ("sites.index", _l("Sites"), "geo-alt", _l("Every school and department, with its time zone.")),
        ("settings.index", _l("Settings"), "gear", _l("The vendor's details and the service team shown to clients.")),
        (
            "settings.calendar",
            _l("Holiday calendar"),
            "calendar3",
            _l("Public holidays and working weekends that the service clocks count with."),
        ),
        ("notify.robots", _l("Group robots"), "robot", _l("The group chats that receive alerts.")),
    ),
    Role.SECURITY_ADMIN: (
        (
            "security_admin.policy",
            _l("Password policy"),
            "key",
            _l("Length, character classes, history, expiry and two-step sign-in."),
        ),
        (
            "security_accounts.users",
            _l("Sign-in security"),
            "person-gear",
            _l("Accounts' second factors and password age: reset a second factor, require a new password."),
        ),
    ),
    Role.AUDITOR: (
        (
            "audit.index",
            _l("Audit trail"),
            "journal-text",
            _l("Who did what, when, from where, with what result: search and export."),
        ),
    ),
}


def admin_entries(user):
    """The user's area entry points that exist and admit them: [(endpoint, label, icon, description)]."""
    return [entry for entry in ADMIN_AREAS.get(user.role_enum, ()) if may_open(entry[0], user)]


@bp.get("/")
def index():
    if current_user.is_admin:  # no business dashboard: the administrator's own area only
        return render_template(
            "home/admin.html",
            entries=admin_entries(current_user),
            unconfirmed_year=unconfirmed_next_year(current_user, local_today()),
        )
    vendor = current_vendor()
    team = vendor.team if vendor.id else []
    now = utcnow()
    counts, soonest = service_glance(current_user, now)
    return render_template(
        "home/index.html",
        team=team,
        stats=organisation_stats(current_user),
        glance=warranty_glance(current_user),
        tickets=counts,
        soonest=soonest,
        now=now,
        complaints=complaints_awaiting(current_user, now),
        visits=visit_counts(current_user, local_today()),
        last_visit=last_inspection(current_user),
        unconfirmed_year=unconfirmed_next_year(current_user, local_today()),
    )


@bp.get("/healthz")
def healthz():
    """Alive: the process answers (a load balancer's or supervisor's liveness probe). Nothing else is asked: a
    database outage must not get healthy workers restarted; ``/readyz`` says whether it can serve."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready to serve: the database answers, Redis answers (when REDIS_URL is set), the file storage is reachable
    and writable. 200 with each check's result, or 503 naming the checks that failed."""
    checks = {"database": _database_ready, "storage": _storage_ready}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = _redis_ready
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception:  # noqa: BLE001 - any failure of a dependency is "not ready", named; the cause is logged
            current_app.logger.warning("readyz: %s is not ready", name, exc_info=True)
            results[name] = "unavailable"
    failed = sorted(name for name, result in results.items() if result != "ok")
    return jsonify(status="unavailable" if failed else "ok", checks=results, failed=failed), 503 if failed else 200


def _database_ready():
    try:
        db.session.execute(sa.select(1))
    finally:
        db.session.rollback()


def _storage_ready():
    from ..storage import storage

    storage().ready()


def _redis_ready():
    from redis import Redis

    client = Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


@bp.get("/metrics")
def metrics():
    """Prometheus's scrape (``portal.metrics``): for the allowed addresses or the token holder, else a 404."""
    from .. import metrics as portal_metrics

    return portal_metrics.scrape()
