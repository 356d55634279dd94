"""Who may do what: the portal's roles and the groups used in checks.

Five business roles (the vendor's manager and agents; the client's administrator, IT staff and school
administrators) and, for the vendor, three separated administrators (三权分立, GB/T 22239-2019 level 3): the system
administrator (accounts, clients, sites, settings), the security administrator (sign-in policy, unlocking, second
factors) and the auditor (reads the audit trail). A user holds exactly one role, so no account holds two of them."""
from enum import StrEnum

from .i18n import _l


class Role(StrEnum):
    VENDOR_MANAGER = "vendor_manager"
    VENDOR_AGENT = "vendor_agent"
    CLIENT_ADMIN = "client_admin"
    CLIENT_STAFF = "client_staff"
    SITE_ADMIN = "site_admin"
    SYSTEM_ADMIN = "system_admin"
    SECURITY_ADMIN = "security_admin"
    AUDITOR = "auditor"

    @property
    def label(self):
        return LABELS[self]

    @property
    def is_vendor(self):
        """The vendor's side (no client of its own; scoped to every client where a route lets it in)."""
        return self in VENDOR or self in ADMINS

    @property
    def is_admin(self):
        """One of the three separated administrators."""
        return self in ADMINS

    @property
    def needs_site(self):
        return self is Role.SITE_ADMIN


LABELS = {
    Role.VENDOR_MANAGER: _l("Vendor manager"),
    Role.VENDOR_AGENT: _l("Vendor agent"),
    Role.CLIENT_ADMIN: _l("Client administrator"),
    Role.CLIENT_STAFF: _l("Client IT staff"),
    Role.SITE_ADMIN: _l("School administrator"),
    Role.SYSTEM_ADMIN: _l("System administrator"),
    Role.SECURITY_ADMIN: _l("Security administrator"),
    Role.AUDITOR: _l("Audit administrator"),
}

VENDOR = frozenset({Role.VENDOR_MANAGER, Role.VENDOR_AGENT})
CLIENT = frozenset({Role.CLIENT_ADMIN, Role.CLIENT_STAFF, Role.SITE_ADMIN})
ALL = VENDOR | CLIENT  # the business roles: every page of equipment, service and contracts
ADMINS = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR})
EVERYONE = ALL | ADMINS  # one's own account, the home page, signing out
# Who may manage user accounts: the manager for everyone, a client admin for their own client.
USER_ADMINS = frozenset({Role.VENDOR_MANAGER, Role.CLIENT_ADMIN})
