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
    def is_business(self):
        """A business role: the pages of equipment, service and contracts (never one of the administrators)."""
        return self in ALL

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
# Who may manage user accounts: the system administrator for everyone, a client admin for their own client's users
# (client roles only: see ``grantable``). The vendor manager no longer manages accounts (三权分立).
USER_ADMINS = frozenset({Role.SYSTEM_ADMIN, Role.CLIENT_ADMIN})
# Who keeps the organisation's configuration (clients, sites, settings: SLA policy, holiday calendar, robots): the
# vendor manager, as business configuration, and the system administrator; who may read the list of clients.
ORGANISATION_ADMINS = frozenset({Role.VENDOR_MANAGER, Role.SYSTEM_ADMIN})
ORGANISATION_READERS = VENDOR | {Role.SYSTEM_ADMIN}


def grantable(role):
    """The roles a user of ``role`` may give to an account: the system administrator every role (and only they an
    administrator role: the first system administrator comes from ``flask create-admin``, the others from them);
    a client administrator the client roles of their own client; anyone else none."""
    if role == Role.SYSTEM_ADMIN:
        return list(Role)
    if role == Role.CLIENT_ADMIN:
        return [r for r in Role if r in CLIENT]
    return []
