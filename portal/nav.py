"""The main navigation, by role: one list that the layout renders and the tests read.

On a wide screen the items form one horizontal bar; on a phone they sit behind a menu button, in the groups below
(the manager has fourteen items: a flat list would be too long to scan).

The three separated administrators (三权分立) see only their own area: the system administrator users, clients,
sites and settings; the security administrator the sign-in security pages; the auditor the audit trail. An item
whose endpoint is not (yet) in the application is left out, so that the areas built separately appear when merged."""

from dataclasses import dataclass

from flask import current_app

from .i18n import _l
from .roles import ALL, CLIENT, EVERYONE, ORGANISATION_ADMINS, ORGANISATION_READERS, USER_ADMINS, VENDOR, Role


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    icon: str
    roles: frozenset
    section: str  # the blueprint whose pages light this item up
    group: str = ""  # a key of GROUPS; "" for the home page, shown before every group


GROUPS = {
    "service": _l("Service"),
    "assets": _l("Equipment and contracts"),
    "admin": _l("Administration"),
}


NAV = (
    NavItem("home.index", _l("Home"), "house", EVERYONE, "home"),
    NavItem("tickets.index", _l("Fault reports"), "tools", ALL, "tickets", "service"),
    NavItem("complaints.index", _l("Complaints"), "megaphone", ALL, "complaints", "service"),
    NavItem("inspections.index", _l("Inspections"), "clipboard-check", ALL, "inspections", "service"),
    NavItem("scorecard.index", _l("Scorecard"), "clipboard-data", ALL - {Role.CLIENT_STAFF}, "scorecard", "service"),
    NavItem("surveys.index", _l("Satisfaction surveys"), "emoji-smile", ALL, "surveys", "service"),
    NavItem("equipment.index", _l("Equipment"), "pc-display", ALL, "equipment", "assets"),
    NavItem("warranty.index", _l("Warranty"), "shield-check", ALL, "warranty", "assets"),
    NavItem("documents.index", _l("Documents"), "journal-arrow-down", ALL, "documents", "assets"),
    NavItem("contracts.index", _l("Contracts"), "file-earmark-text", ALL, "contracts", "assets"),
    NavItem("renewals.index", _l("Renewals"), "arrow-repeat", ALL - {Role.SITE_ADMIN}, "renewals", "assets"),
    NavItem("parts.index", _l("Price list"), "tags", ALL, "parts", "assets"),
    NavItem("catalog.index", _l("Models"), "box-seam", VENDOR, "catalog", "assets"),
    NavItem("clients.index", _l("Clients"), "buildings", ORGANISATION_READERS, "clients", "admin"),
    NavItem("sites.index", _l("Sites"), "geo-alt", CLIENT - {Role.SITE_ADMIN} | {Role.SYSTEM_ADMIN}, "sites", "admin"),
    NavItem("sites.mine", _l("My school"), "geo-alt", frozenset({Role.SITE_ADMIN}), "sites", "admin"),
    NavItem("users.index", _l("Users"), "people", USER_ADMINS, "users", "admin"),
    NavItem("settings.index", _l("Settings"), "gear", ORGANISATION_ADMINS, "settings", "admin"),
    NavItem(
        "security_admin.policy",
        _l("Password policy"),
        "shield-lock",
        frozenset({Role.SECURITY_ADMIN}),
        "security_admin",
        "admin",
    ),
    NavItem(
        "security_accounts.users",
        _l("Sign-in security"),
        "person-lock",
        frozenset({Role.SECURITY_ADMIN}),
        "security_accounts",
        "admin",
    ),
    NavItem("audit.index", _l("Audit trail"), "journal-text", frozenset({Role.AUDITOR}), "audit", "admin"),
)


def items_for(user):
    if not user.is_authenticated:
        return []
    endpoints = current_app.view_functions
    return [item for item in NAV if user.role in item.roles and item.endpoint in endpoints]


def groups_for(user):
    """The user's items in their groups, in the order of GROUPS: [(label or None, [items])], empty groups left out."""
    items = items_for(user)
    groups = [(None, [item for item in items if not item.group])]
    groups += [(label, [item for item in items if item.group == key]) for key, label in GROUPS.items()]
    return [(label, members) for label, members in groups if members]
