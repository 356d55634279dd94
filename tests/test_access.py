"""Every route, every role: anonymous, allowed, wrong role (403), another client's or site's object (404).

The table names every endpoint of the application; a route missing from it fails the first test.
"""

import datetime
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from portal.roles import (
    ADMINS,
    ALL,
    CLIENT,
    EVERYONE,
    ORGANISATION_ADMINS,
    ORGANISATION_READERS,
    USER_ADMINS,
    VENDOR,
    Role,
)

MANAGER = frozenset({Role.VENDOR_MANAGER})
SYSTEM_ADMIN = frozenset({Role.SYSTEM_ADMIN})
SECURITY = frozenset({Role.SECURITY_ADMIN})
AUDITOR = frozenset({Role.AUDITOR})
EDITORS = VENDOR | {Role.CLIENT_ADMIN, Role.CLIENT_STAFF}
QUOTE_VIEWERS = EDITORS
REQUESTERS = frozenset({Role.CLIENT_ADMIN, Role.CLIENT_STAFF})
CLIENT_USERS_WITH_LISTS = VENDOR | {Role.CLIENT_ADMIN, Role.CLIENT_STAFF}
SCORECARD_READERS = VENDOR | {Role.CLIENT_ADMIN, Role.SITE_ADMIN}  # not the client's IT staff


@dataclass(frozen=True)
class Route:
    method: str
    roles: frozenset  # who may use it; empty for public pages
    url: Callable  # url(world, obj) -> str
    own: Callable | None = None  # (world, role) -> the object of the signed-in user's own client/site
    foreign: Callable | None = None  # (world, role) -> an object the role must not see


_days = itertools.count()


def a_copy(world, obj):
    """A new row like ``obj``: for a deletion that more than one role may make (each deletes its own copy)."""
    if isinstance(world, AnyObject):  # the sign-in gate answers first: nothing to copy
        return world
    columns = {c.key: getattr(obj, c.key) for c in sa.inspect(type(obj)).column_attrs if c.key != "id"}
    if "name" in columns:
        columns["name"] = f"{columns['name']}·{next(_days)}"
    return world.make.save(type(obj)(**columns))


def a_day(world):
    """A working weekend of its own: a day of the calendar that each admitted role deletes in turn."""
    from portal.sla.models import CalendarDay

    if isinstance(world, AnyObject):
        return world
    day = datetime.date(2031, 1, 4) + datetime.timedelta(days=7 * next(_days))
    return world.make.save(CalendarDay(day=day, kind="workday", name_zh="调休"))


def fixed(path):
    return Route("GET", ALL, lambda w, o: path)


ROUTES = {
    "static": None,  # files, not pages
    "home.healthz": Route("GET", frozenset(), lambda w, o: "/healthz"),
    "home.readyz": Route("GET", frozenset(), lambda w, o: "/readyz"),
    "home.metrics": Route("GET", frozenset(), lambda w, o: "/metrics"),  # from 127.0.0.1 (PORTAL_METRICS_ALLOW)
    "auth.login": Route("GET", frozenset(), lambda w, o: "/login"),
    "auth.invitation": Route("GET", frozenset(), lambda w, o: "/invite/not-a-token"),
    "auth.two_factor": Route("GET", frozenset(), lambda w, o: "/login/two-factor"),  # no sign-in pending: to /login
    "auth.logout": Route("POST", EVERYONE, lambda w, o: "/logout"),
    "home.index": Route("GET", EVERYONE, lambda w, o: "/"),
    "account.profile": Route("GET", EVERYONE, lambda w, o: "/account/"),
    "account.password": Route("GET", EVERYONE, lambda w, o: "/account/password"),
    "account.sessions": Route("GET", EVERYONE, lambda w, o: "/account/sessions"),
    "account.end_sessions": Route("POST", EVERYONE, lambda w, o: "/account/sessions/end"),
    "account.end_session": Route(
        "POST",
        EVERYONE,
        lambda w, o: f"/account/sessions/{o.id}/end",
        own=lambda w, role: w.make.sign_in_session(w.by_role().get(role) or w.a_staff),
        foreign=lambda w, role: w.make.sign_in_session(w.b_admin),
    ),
    "account.two_factor": Route("GET", EVERYONE, lambda w, o: "/account/two-factor"),
    "account.two_factor_enrol": Route("POST", EVERYONE, lambda w, o: "/account/two-factor"),
    "account.two_factor_disable": Route("POST", EVERYONE, lambda w, o: "/account/two-factor/disable"),
    "security_admin.policy": Route("GET", SECURITY, lambda w, o: "/security/policy"),
    "security_accounts.users": Route("GET", SECURITY, lambda w, o: "/security/users"),
    "security_accounts.reset_two_factor": Route(
        "POST", SECURITY, lambda w, o: f"/security/users/{o.id}/reset-two-factor", own=lambda w, r: w.a_staff
    ),
    "security_accounts.require_password_change": Route(
        "POST", SECURITY, lambda w, o: f"/security/users/{o.id}/require-password-change", own=lambda w, r: w.a_staff
    ),
    "security_accounts.lift_account_delay": Route(
        "POST", SECURITY, lambda w, o: f"/security/users/{o.id}/lift-delay", own=lambda w, r: w.a_staff
    ),
    "security_accounts.lift_address_delay": Route("POST", SECURITY, lambda w, o: "/security/addresses/lift-delay"),
    "clients.index": Route("GET", ORGANISATION_READERS, lambda w, o: "/clients/"),
    "clients.new": Route("GET", ORGANISATION_ADMINS, lambda w, o: "/clients/new"),
    "clients.show": Route("GET", ORGANISATION_READERS, lambda w, o: f"/clients/{o.id}", own=lambda w, r: w.a),
    "clients.edit": Route("GET", ORGANISATION_ADMINS, lambda w, o: f"/clients/{o.id}/edit", own=lambda w, r: w.a),
    "sites.index": Route("GET", CLIENT_USERS_WITH_LISTS | SYSTEM_ADMIN, lambda w, o: "/sites/"),
    "sites.mine": Route("GET", frozenset({Role.SITE_ADMIN}), lambda w, o: "/sites/mine"),
    "sites.show": Route(
        "GET",
        ALL | SYSTEM_ADMIN,
        lambda w, o: f"/sites/{o.id}",
        own=lambda w, r: w.a_site1,
        foreign=lambda w, role: w.a_site2 if role == Role.SITE_ADMIN else w.b_site,
    ),
    "sites.new": Route("GET", ORGANISATION_ADMINS, lambda w, o: f"/sites/new?client={o.id}", own=lambda w, r: w.a),
    "sites.edit": Route("GET", ORGANISATION_ADMINS, lambda w, o: f"/sites/{o.id}/edit", own=lambda w, r: w.a_site1),
    "users.index": Route("GET", USER_ADMINS, lambda w, o: "/users/"),
    "users.new": Route("GET", USER_ADMINS, lambda w, o: "/users/new"),
    "users.show": Route(
        "GET", USER_ADMINS, lambda w, o: f"/users/{o.id}", own=lambda w, r: w.a_staff, foreign=lambda w, role: w.b_staff
    ),
    "users.edit": Route(
        "GET",
        USER_ADMINS,
        lambda w, o: f"/users/{o.id}/edit",
        own=lambda w, r: w.a_staff,
        foreign=lambda w, role: w.b_staff,
    ),
    "users.invite": Route(
        "POST",
        USER_ADMINS,
        lambda w, o: f"/users/{o.id}/invite",
        own=lambda w, r: w.a_staff,
        foreign=lambda w, role: w.b_staff,
    ),
    "users.deactivate": Route(
        "POST",
        USER_ADMINS,
        lambda w, o: f"/users/{o.id}/deactivate",
        own=lambda w, r: w.a_staff,
        foreign=lambda w, role: w.b_staff,
    ),
    "users.activate": Route(
        "POST",
        USER_ADMINS,
        lambda w, o: f"/users/{o.id}/activate",
        own=lambda w, r: w.a_staff,
        foreign=lambda w, role: w.b_staff,
    ),
    "contracts.index": fixed("/contracts/"),
    "contracts.show": Route(
        "GET",
        ALL,
        lambda w, o: f"/contracts/{o.id}",
        own=lambda w, r: w.contract_a,
        foreign=lambda w, role: w.contract_a2 if role == Role.SITE_ADMIN else w.contract_b,
    ),
    "contracts.new": Route("GET", MANAGER, lambda w, o: "/contracts/new"),
    "contracts.sla": Route("GET", MANAGER, lambda w, o: f"/contracts/{o.id}/sla", own=lambda w, r: w.contract_a),
    "contracts.edit": Route("GET", MANAGER, lambda w, o: f"/contracts/{o.id}/edit", own=lambda w, r: w.contract_a),
    "catalog.index": Route("GET", VENDOR, lambda w, o: "/models/"),
    "catalog.new": Route("GET", VENDOR, lambda w, o: "/models/new"),
    "catalog.edit": Route("GET", VENDOR, lambda w, o: f"/models/{o.id}/edit", own=lambda w, r: w.model),
    "equipment.index": fixed("/equipment/"),
    "equipment.export": Route("GET", ALL, lambda w, o: "/equipment/export.csv"),
    "equipment.labels": Route("GET", ALL, lambda w, o: f"/equipment/labels?id={o.id}", own=lambda w, r: w.unit_a1),
    "equipment.qr": Route(
        "GET",
        ALL,
        lambda w, o: f"/equipment/{o.id}/qr.svg",
        own=lambda w, r: w.unit_a1,
        foreign=lambda w, role: w.unit_a2 if role == Role.SITE_ADMIN else w.unit_b,
    ),
    "equipment.show": Route(
        "GET",
        ALL,
        lambda w, o: f"/equipment/{o.id}",
        own=lambda w, r: w.unit_a1,
        foreign=lambda w, role: w.unit_a2 if role == Role.SITE_ADMIN else w.unit_b,
    ),
    "equipment.new": Route("GET", EDITORS, lambda w, o: "/equipment/new"),
    "equipment.edit": Route(
        "GET",
        EDITORS,
        lambda w, o: f"/equipment/{o.id}/edit",
        own=lambda w, r: w.unit_a1,
        foreign=lambda w, role: w.unit_b,
    ),
    "equipment.extend": Route("POST", VENDOR, lambda w, o: f"/equipment/{o.id}/extensions", own=lambda w, r: w.unit_a1),
    "equipment.import_template": Route("GET", EDITORS, lambda w, o: "/equipment/import/template.xlsx"),
    "equipment.import_file": Route("GET", EDITORS, lambda w, o: "/equipment/import"),
    "equipment.import_preview": Route(
        "GET",
        EDITORS,
        lambda w, o: f"/equipment/import/{o.id}",
        own=lambda w, r: w.batches.get(r, w.b_batch),
        foreign=lambda w, role: w.b_batch,
    ),
    "equipment.import_confirm": Route(
        "POST",
        EDITORS,
        lambda w, o: f"/equipment/import/{o.id}",
        own=lambda w, r: w.batches.get(r, w.b_batch),
        foreign=lambda w, role: w.b_batch,
    ),
    "warranty.index": fixed("/warranty/"),
    "warranty.client": Route(
        "GET",
        CLIENT_USERS_WITH_LISTS,
        lambda w, o: f"/warranty/clients/{o.id}",
        own=lambda w, r: w.a,
        foreign=lambda w, role: w.b,
    ),
    "renewals.index": Route("GET", QUOTE_VIEWERS, lambda w, o: "/renewals/"),
    "renewals.request_quote": Route(
        "GET", REQUESTERS, lambda w, o: f"/renewals/request?unit={o.id}", own=lambda w, r: w.unit_a1
    ),
    "renewals.show": Route(
        "GET",
        QUOTE_VIEWERS,
        lambda w, o: f"/renewals/{o.id}",
        own=lambda w, r: w.quote_a,
        foreign=lambda w, role: w.quote_b,
    ),
    "renewals.print_quote": Route(
        "GET",
        QUOTE_VIEWERS,
        lambda w, o: f"/renewals/{o.id}/print",
        own=lambda w, r: w.quote_a,
        foreign=lambda w, role: w.quote_b,
    ),
    "renewals.update_line": Route(
        "POST", MANAGER, lambda w, o: f"/renewals/{o.id}/lines/{w.quote_a_line}", own=lambda w, r: w.quote_a
    ),
    "renewals.issue": Route("POST", MANAGER, lambda w, o: f"/renewals/{o.id}/issue", own=lambda w, r: w.quote_a),
    "renewals.accept": Route(
        "POST",
        frozenset({Role.CLIENT_ADMIN}),
        lambda w, o: f"/renewals/{o.id}/accept",
        own=lambda w, r: w.quote_a,
        foreign=lambda w, role: w.quote_b,
    ),
    "renewals.decline": Route(
        "POST",
        frozenset({Role.CLIENT_ADMIN}),
        lambda w, o: f"/renewals/{o.id}/decline",
        own=lambda w, r: w.quote_a,
        foreign=lambda w, role: w.quote_b,
    ),
    "equipment.replacement": Route(
        "POST", VENDOR, lambda w, o: f"/equipment/{o.id}/replacement", own=lambda w, r: w.unit_a1
    ),
    "tickets.index": fixed("/tickets/"),
    "tickets.new": Route(
        "GET",
        ALL,
        lambda w, o: f"/tickets/new?unit={o.id}",
        own=lambda w, r: w.unit_a1,
        foreign=lambda w, role: w.unit_a2 if role == Role.SITE_ADMIN else w.unit_b,
    ),
    "tickets.show": Route(
        "GET",
        ALL,
        lambda w, o: f"/tickets/{o.id}",
        own=lambda w, r: w.ticket_a,
        foreign=lambda w, role: w.ticket_a2 if role == Role.SITE_ADMIN else w.ticket_b,
    ),
    "tickets.report": Route(
        "GET",
        ALL,
        lambda w, o: f"/tickets/{o.id}/report",
        own=lambda w, r: w.ticket_a,
        foreign=lambda w, role: w.ticket_a2 if role == Role.SITE_ADMIN else w.ticket_b,
    ),
    "tickets.photo": Route(
        "GET",
        ALL,
        lambda w, o: f"/tickets/{o.ticket_id}/photos/{o.id}",
        own=lambda w, r: w.photo_a,
        foreign=lambda w, role: w.photo_a2 if role == Role.SITE_ADMIN else w.photo_b,
    ),
    # Every step of a ticket is one endpoint; tests/tickets/test_access.py checks each step's roles.
    "tickets.act": Route(
        "POST",
        ALL,
        lambda w, o: f"/tickets/{o.id}/reply",
        own=lambda w, r: w.ticket_a,
        foreign=lambda w, role: w.ticket_a2 if role == Role.SITE_ADMIN else w.ticket_b,
    ),
    "complaints.index": fixed("/complaints/"),
    "complaints.new": Route("GET", CLIENT, lambda w, o: "/complaints/new"),
    "complaints.show": Route(
        "GET",
        ALL,
        lambda w, o: f"/complaints/{o.id}",
        own=lambda w, r: w.complaint_a,
        foreign=lambda w, role: w.complaint_a2 if role == Role.SITE_ADMIN else w.complaint_b,
    ),
    "complaints.attachment": Route(
        "GET",
        ALL,
        lambda w, o: f"/complaints/{o.complaint_id}/attachments/{o.id}",
        own=lambda w, r: w.attachment_a,
        foreign=lambda w, role: w.attachment_a2 if role == Role.SITE_ADMIN else w.attachment_b,
    ),
    # Each step's roles: tests/complaints/test_complaints.py.
    "complaints.act": Route("POST", MANAGER, lambda w, o: f"/complaints/{o.id}/assign", own=lambda w, r: w.complaint_a),
    "complaints.ledger": Route(
        "GET", frozenset({Role.VENDOR_MANAGER, Role.CLIENT_ADMIN}), lambda w, o: "/complaints/ledger"
    ),
    "complaints.ledger_export": Route(
        "GET", frozenset({Role.VENDOR_MANAGER, Role.CLIENT_ADMIN}), lambda w, o: "/complaints/ledger.xlsx"
    ),
    "documents.index": fixed("/documents/"),
    "documents.new": Route("GET", VENDOR, lambda w, o: "/documents/new"),
    "documents.show": Route(
        "GET",
        ALL,
        lambda w, o: f"/documents/{o.id}",
        own=lambda w, r: w.doc_a,
        foreign=lambda w, role: w.doc_a2 if role == Role.SITE_ADMIN else w.doc_b,
    ),
    "documents.edit": Route("GET", VENDOR, lambda w, o: f"/documents/{o.id}/edit", own=lambda w, r: w.doc_a),
    "documents.add_version": Route(
        "POST", VENDOR, lambda w, o: f"/documents/{o.id}/versions", own=lambda w, r: w.doc_a
    ),
    "documents.withdraw": Route("POST", VENDOR, lambda w, o: f"/documents/{o.id}/withdraw", own=lambda w, r: w.doc_a),
    "documents.download": Route(
        "GET",
        ALL,
        lambda w, o: f"/documents/{o.id}/download",
        own=lambda w, r: w.doc_a,
        foreign=lambda w, role: w.doc_a2 if role == Role.SITE_ADMIN else w.doc_b,
    ),
    "documents.download_version": Route(
        "GET",
        ALL,
        lambda w, o: f"/documents/{o.document_id}/versions/{o.id}/download",
        own=lambda w, r: w.version_a,
        foreign=lambda w, role: w.version_a2 if role == Role.SITE_ADMIN else w.version_b,
    ),
    "inspections.index": fixed("/inspections/"),
    "inspections.plan": Route("GET", MANAGER, lambda w, o: f"/inspections/plans/{o.id}", own=lambda w, r: w.contract_a),
    "inspections.new": Route("GET", VENDOR, lambda w, o: "/inspections/new"),
    "inspections.show": Route(
        "GET",
        ALL,
        lambda w, o: f"/inspections/{o.id}",
        own=lambda w, r: w.visit_a,
        foreign=lambda w, role: w.visit_a2 if role == Role.SITE_ADMIN else w.visit_b,
    ),
    "inspections.report": Route(
        "GET",
        ALL,
        lambda w, o: f"/inspections/{o.id}/report",
        own=lambda w, r: w.visit_a,
        foreign=lambda w, role: w.visit_a2 if role == Role.SITE_ADMIN else w.visit_b,
    ),
    "inspections.attachment": Route(
        "GET",
        ALL,
        lambda w, o: f"/inspections/{o.visit_id}/attachments/{o.id}",
        own=lambda w, r: w.visit_file_a,
        foreign=lambda w, role: w.visit_file_a2 if role == Role.SITE_ADMIN else w.visit_file_b,
    ),
    "inspections.record": Route("GET", VENDOR, lambda w, o: f"/inspections/{o.id}/record", own=lambda w, r: w.visit_a),
    "inspections.sign": Route(
        "POST",
        CLIENT,
        lambda w, o: f"/inspections/{o.id}/sign",
        own=lambda w, r: w.visit_a,
        foreign=lambda w, role: w.visit_a2 if role == Role.SITE_ADMIN else w.visit_b,
    ),
    "inspections.dispute": Route(
        "POST",
        CLIENT,
        lambda w, o: f"/inspections/{o.id}/dispute",
        own=lambda w, r: w.visit_a,
        foreign=lambda w, role: w.visit_a2 if role == Role.SITE_ADMIN else w.visit_b,
    ),
    "inspections.open_ticket": Route(
        "POST", VENDOR, lambda w, o: f"/inspections/{o.visit_id}/units/{o.id}/ticket", own=lambda w, r: w.visit_row_a
    ),
    "inspections.calendar_settings": fixed("/inspections/calendar"),
    "inspections.calendar_feed": Route("GET", frozenset(), lambda w, o: "/inspections/calendar/not-a-token.ics"),
    "surveys.answer": Route("GET", frozenset(), lambda w, o: "/survey/not-a-token"),  # the token is the key
    "surveys.index": fixed("/surveys/"),  # scoped: the vendor every client's, a client its own, a school its own
    "inspections.log": fixed("/inspections/log"),
    "inspections.log_new": Route("GET", VENDOR, lambda w, o: "/inspections/log/new"),
    "inspections.log_sign": Route(
        "POST",
        CLIENT,
        lambda w, o: f"/inspections/log/{o.id}/sign",
        own=lambda w, r: w.log_a,
        foreign=lambda w, role: w.log_a2 if role == Role.SITE_ADMIN else w.log_b,
    ),
    "inspections.log_export": fixed("/inspections/log.xlsx"),
    "parts.index": fixed("/parts/"),
    "parts.new": Route("GET", MANAGER, lambda w, o: "/parts/new"),
    "parts.edit": Route("GET", MANAGER, lambda w, o: f"/parts/{o.id}/edit", own=lambda w, r: w.part),
    "parts.delete": Route("POST", MANAGER, lambda w, o: f"/parts/{o.id}/delete", own=lambda w, r: w.part),
    "notify.index": fixed("/notifications/?show=unread"),
    "notify.bell": fixed("/notifications/bell"),
    "notify.preferences": fixed("/notifications/preferences"),
    "notify.read_all": Route("POST", ALL, lambda w, o: "/notifications/read-all"),
    "notify.read": Route(
        "POST",
        ALL,
        lambda w, o: f"/notifications/{o.id}/read",
        own=lambda w, r: w.notes.get(r, w.b_note),
        foreign=lambda w, role: w.b_note,
    ),
    "notify.follow": Route(
        "POST",
        ALL,
        lambda w, o: f"/notifications/{o.id}/open",
        own=lambda w, r: w.notes.get(r, w.b_note),
        foreign=lambda w, role: w.b_note,
    ),
    "settings.index": Route("GET", ORGANISATION_ADMINS, lambda w, o: "/settings/"),
    "settings.calendar": Route("GET", ORGANISATION_ADMINS, lambda w, o: "/settings/calendar?year=2026"),
    "settings.calendar_day": Route("POST", ORGANISATION_ADMINS, lambda w, o: "/settings/calendar/days"),
    "settings.calendar_day_delete": Route(
        "POST", ORGANISATION_ADMINS, lambda w, o: f"/settings/calendar/days/{o.day}/delete", own=lambda w, r: a_day(w)
    ),
    "settings.calendar_confirm": Route("POST", ORGANISATION_ADMINS, lambda w, o: "/settings/calendar/2027/confirm"),
    "settings.calendar_holiday": Route("POST", ORGANISATION_ADMINS, lambda w, o: "/settings/calendar/holidays"),
    "settings.calendar_import": Route("POST", ORGANISATION_ADMINS, lambda w, o: "/settings/calendar/import"),
    "settings.team_new": Route("GET", ORGANISATION_ADMINS, lambda w, o: "/settings/team/new"),
    "settings.team_edit": Route(
        "GET", ORGANISATION_ADMINS, lambda w, o: f"/settings/team/{o.id}/edit", own=lambda w, r: w.member
    ),
    "settings.team_delete": Route(
        "POST", ORGANISATION_ADMINS, lambda w, o: f"/settings/team/{o.id}/delete", own=lambda w, r: a_copy(w, w.member)
    ),
    "audit.index": Route("GET", AUDITOR, lambda w, o: "/audit/"),
    "audit.show": Route("GET", AUDITOR, lambda w, o: "/audit/1"),  # the world's first user, created
    "audit.export": Route("GET", AUDITOR, lambda w, o: "/audit/export.csv"),
    "audit.verify": Route("POST", AUDITOR, lambda w, o: "/audit/verify"),
    "notify.robots": Route("GET", ORGANISATION_ADMINS, lambda w, o: "/notifications/robots"),
    "notify.robot_new": Route("GET", ORGANISATION_ADMINS, lambda w, o: "/notifications/robots/new"),
    "notify.robot_edit": Route(
        "GET", ORGANISATION_ADMINS, lambda w, o: f"/notifications/robots/{o.id}/edit", own=lambda w, r: w.robot
    ),
    "notify.robot_test": Route(
        "POST", ORGANISATION_ADMINS, lambda w, o: f"/notifications/robots/{o.id}/test", own=lambda w, r: w.robot
    ),
    "notify.robot_delete": Route(
        "POST",
        ORGANISATION_ADMINS,
        lambda w, o: f"/notifications/robots/{o.id}/delete",
        own=lambda w, r: a_copy(w, w.robot),
    ),
    "scorecard.index": Route(
        "GET",
        SCORECARD_READERS,
        lambda w, o: f"/scorecard/?contract={o.id}",
        own=lambda w, r: w.contract_a,
        foreign=lambda w, role: w.contract_a2 if role == Role.SITE_ADMIN else w.contract_b,
    ),
    "scorecard.evidence": Route(
        "GET",
        SCORECARD_READERS,
        lambda w, o: f"/scorecard/evidence/response?contract={o.id}",
        own=lambda w, r: w.contract_a,
        foreign=lambda w, role: w.contract_a2 if role == Role.SITE_ADMIN else w.contract_b,
    ),
    "scorecard.overview": Route("GET", VENDOR, lambda w, o: "/scorecard/overview"),
    "notify.deliveries": Route("GET", MANAGER, lambda w, o: "/notifications/deliveries?state=failed"),
    "notify.resend_delivery": Route(
        "POST", MANAGER, lambda w, o: f"/notifications/deliveries/{o.id}/resend", own=lambda w, r: w.failed_delivery
    ),
    "reports.index": fixed("/reports/"),
    "reports.show": Route(
        "GET",
        ALL,
        lambda w, o: f"/reports/{o.id}",
        own=lambda w, r: w.cert_a1,
        foreign=lambda w, role: w.cert_a2 if role == Role.SITE_ADMIN else w.cert_b,
    ),
    "reports.download": Route(
        "GET",
        ALL,
        lambda w, o: f"/reports/{o.id}/download",
        own=lambda w, r: w.cert_a1,
        foreign=lambda w, role: w.cert_a2 if role == Role.SITE_ADMIN else w.cert_b,
    ),
    # An evidence pack: the vendor and the client's administrator; client IT staff and schools do not issue one.
    "reports.evidence": Route(
        "GET",
        VENDOR | {Role.CLIENT_ADMIN},
        lambda w, o: f"/reports/contracts/{o.id}/evidence",
        own=lambda w, r: w.contract_a,
        foreign=lambda w, role: w.contract_b,
    ),
    "reports.certificate": Route(
        "POST",
        VENDOR | {Role.CLIENT_ADMIN, Role.SITE_ADMIN},
        lambda w, o: f"/reports/sites/{o.id}/certificate",
        own=lambda w, r: w.a_site1,
        foreign=lambda w, role: w.a_site2 if role == Role.SITE_ADMIN else w.b_site,
    ),
    "verify.index": Route("GET", frozenset(), lambda w, o: "/verify/"),
    "verify.by_hash": Route("GET", frozenset(), lambda w, o: "/verify/" + "0" * 64),
}
PAGES = {name: r for name, r in ROUTES.items() if r is not None}
PROTECTED = {name: r for name, r in PAGES.items() if r.roles}


def url_of(world, route, role=None):
    return route.url(world, route.own(world, role) if route.own else None)


def request(client, route, url):
    return client.get(url) if route.method == "GET" else client.post(url)


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - ROUTES.keys() == set(), "add these routes to ROUTES with who may use them"
    assert ROUTES.keys() - endpoints == set(), "these routes no longer exist"


class AnyObject:
    """Stands for any object of the world: the sign-in gate answers before an id is ever looked up."""

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __format__(self, spec):
        return "1"


@pytest.mark.parametrize("name", sorted(PROTECTED))
def test_anonymous_is_sent_to_sign_in(app, name):
    route = PROTECTED[name]
    response = request(app.test_client(), route, url_of(AnyObject(), route))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("name", sorted(PROTECTED))
def test_htmx_request_without_session_gets_401_and_a_redirect_header(app, name):
    route = PROTECTED[name]
    url = url_of(AnyObject(), route)
    response = (app.test_client().get if route.method == "GET" else app.test_client().post)(
        url, headers={"HX-Request": "true"}
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


# Public, but only in the middle of signing in: without a password just accepted, it sends to the sign-in page.
MID_SIGN_IN = {"auth.two_factor"}


def test_the_second_step_of_signing_in_needs_a_password_first(app, world):
    for client in (app.test_client(), app.test_client(user=world.a_staff)):
        response = client.get("/login/two-factor")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
        response = client.post("/login/two-factor", data={"code": "123456"})
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("name", sorted(n for n, r in PAGES.items() if not r.roles and n not in MID_SIGN_IN))
def test_public_pages_answer_without_sign_in(app, world, name):
    route = PAGES[name]
    response = request(app.test_client(), route, url_of(world, route))
    assert response.status_code in (200, 404)  # an unknown invitation token is a 404 page
    assert "/login" not in response.headers.get("Location", "")


@pytest.mark.parametrize("name", sorted(PROTECTED))
def test_role_access(app, world, name):
    """Every role on one route (the world is built once per route: the role check comes before any lookup)."""
    route = PROTECTED[name]
    for role in sorted(Role, key=lambda r: r in route.roles):  # refused roles first: they change nothing
        user = world.by_role()[role]
        response = request(app.test_client(user=user), route, url_of(world, route, role))
        if role in route.roles:  # a page, a redirect, or the step refused with its reason (the state does not allow it)
            assert response.status_code in (200, 302, 303, 400, 409), (role, response.status_code)
            if response.status_code == 302 and name != "auth.logout":
                assert not response.headers["Location"].startswith("/login"), role
        else:
            assert response.status_code == 403, role


FOREIGN_CASES = sorted(name for name, route in PROTECTED.items() if route.foreign and route.roles & CLIENT)


@pytest.mark.parametrize("name", FOREIGN_CASES)
def test_another_clients_or_sites_object_is_404(app, world, name):
    route = PROTECTED[name]
    for role in sorted(route.roles & CLIENT):
        user = world.by_role()[role]
        response = request(app.test_client(user=user), route, route.url(world, route.foreign(world, role)))
        assert response.status_code == 404, role


def test_site_admin_sees_own_site_but_not_the_neighbouring_school(app, world):
    client = app.test_client(user=world.a_school)
    assert client.get(f"/sites/{world.a_site1.id}").status_code == 200
    assert client.get(f"/sites/{world.a_site2.id}").status_code == 404
    assert client.get(f"/sites/{world.b_site.id}").status_code == 404
    assert client.get("/sites/mine").headers["Location"] == f"/sites/{world.a_site1.id}"


def test_vendor_staff_see_every_client(app, world):
    for user in (world.manager, world.agent):
        client = app.test_client(user=user)
        assert client.get(f"/sites/{world.b_site.id}").status_code == 200
        assert client.get(f"/clients/{world.b.id}").status_code == 200


def test_client_lists_hold_only_own_client(app, world):
    body = app.test_client(user=world.a_admin).get("/users/").get_data(as_text=True)
    assert "staff@a.example" in body and "school@a.example" in body
    assert "admin@b.example" not in body and "manager@test.example" not in body
    body = app.test_client(user=world.a_staff).get("/sites/").get_data(as_text=True)
    assert "甲一中" in body and "甲二中" in body and "乙机房" not in body


# 三权分立: the areas each administrator may enter (besides the pages of everyone: home, own account, signing out).
ADMIN_AREAS = {
    Role.SYSTEM_ADMIN: ("users.", "clients.", "sites.", "settings.", "notify.robot"),
    Role.SECURITY_ADMIN: ("security_admin.", "security_accounts."),
    Role.AUDITOR: ("audit.",),
}


def test_each_administrator_is_admitted_to_their_own_area_only():
    """The table itself: no business route admits an administrator, and none admits one to another's area (the
    security and audit pages, built separately, are held to it once they are in the table)."""
    for name, route in PROTECTED.items():
        if route.roles == EVERYONE:
            continue
        for role in route.roles & ADMINS:
            assert name.startswith(ADMIN_AREAS[role]), (name, role)
        if name.startswith(("security_admin.", "security_accounts.", "audit.")):
            assert route.roles <= ADMINS and len(route.roles) == 1, name  # no business role, one administrator
