"""The main navigation, by role: one list that the layout renders and the tests read."""
from dataclasses import dataclass

from .i18n import _l
from .roles import ALL, CLIENT, Role, USER_ADMINS, VENDOR


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    icon: str
    roles: frozenset
    section: str  # the blueprint whose pages light this item up


NAV = (
    NavItem("home.index", _l("Home"), "house", ALL, "home"),
    NavItem("tickets.index", _l("Fault reports"), "tools", ALL, "tickets"),
    NavItem("complaints.index", _l("Complaints"), "megaphone", ALL, "complaints"),
    NavItem("inspections.index", _l("Inspections"), "clipboard-check", ALL, "inspections"),
    NavItem("equipment.index", _l("Equipment"), "pc-display", ALL, "equipment"),
    NavItem("warranty.index", _l("Warranty"), "shield-check", ALL, "warranty"),
    NavItem("documents.index", _l("Documents"), "journal-arrow-down", ALL, "documents"),
    NavItem("contracts.index", _l("Contracts"), "file-earmark-text", ALL, "contracts"),
    NavItem("renewals.index", _l("Renewals"), "arrow-repeat", ALL - {Role.SITE_ADMIN}, "renewals"),
    NavItem("parts.index", _l("Price list"), "tags", ALL, "parts"),
    NavItem("catalog.index", _l("Models"), "box-seam", VENDOR, "catalog"),
    NavItem("clients.index", _l("Clients"), "buildings", VENDOR, "clients"),
    NavItem("sites.index", _l("Sites"), "geo-alt", CLIENT - {Role.SITE_ADMIN}, "sites"),
    NavItem("sites.mine", _l("My school"), "geo-alt", frozenset({Role.SITE_ADMIN}), "sites"),
    NavItem("users.index", _l("Users"), "people", USER_ADMINS, "users"),
    NavItem("settings.index", _l("Settings"), "gear", frozenset({Role.VENDOR_MANAGER}), "settings"),
)


def items_for(user):
    if not user.is_authenticated:
        return []
    return [item for item in NAV if user.role in item.roles]
