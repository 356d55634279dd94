"""Who may do what: the five roles of the portal and the groups used in checks."""
from enum import StrEnum

from .i18n import _l


class Role(StrEnum):
    VENDOR_MANAGER = "vendor_manager"
    VENDOR_AGENT = "vendor_agent"
    CLIENT_ADMIN = "client_admin"
    CLIENT_STAFF = "client_staff"
    SITE_ADMIN = "site_admin"

    @property
    def label(self):
        return LABELS[self]

    @property
    def is_vendor(self):
        return self in VENDOR

    @property
    def needs_site(self):
        return self is Role.SITE_ADMIN


LABELS = {
    Role.VENDOR_MANAGER: _l("Vendor manager"),
    Role.VENDOR_AGENT: _l("Vendor agent"),
    Role.CLIENT_ADMIN: _l("Client administrator"),
    Role.CLIENT_STAFF: _l("Client IT staff"),
    Role.SITE_ADMIN: _l("School administrator"),
}

VENDOR = frozenset({Role.VENDOR_MANAGER, Role.VENDOR_AGENT})
CLIENT = frozenset({Role.CLIENT_ADMIN, Role.CLIENT_STAFF, Role.SITE_ADMIN})
ALL = VENDOR | CLIENT
# Who may manage user accounts: the manager for everyone, a client admin for their own client.
USER_ADMINS = frozenset({Role.VENDOR_MANAGER, Role.CLIENT_ADMIN})
