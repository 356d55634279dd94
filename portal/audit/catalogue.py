"""The kinds of records, in words, by group: what the auditor's page shows and filters by.

An event not listed here (a new one recorded before it is named) is still shown, by its dotted name; the generic
``request.<endpoint>`` records fall into the "other changes" group.
"""

from dataclasses import dataclass

from ..i18n import _l

GROUPS = {
    "auth": _l("Sign-in and sessions"),
    "account": _l("Passwords and second factor"),
    "security": _l("Security policy"),
    "users": _l("Users and roles"),
    "access": _l("Refused access"),
    "data": _l("Downloads and exports"),
    "tickets": _l("Fault reports"),
    "quotes": _l("Renewal quotes"),
    "complaints": _l("Complaints"),
    "visits": _l("Inspections and visits"),
    "settings": _l("Settings"),
    "audit": _l("Audit trail"),
    "requests": _l("Other changes"),
}


@dataclass(frozen=True)
class Kind:
    event: str
    label: str
    group: str


def _kinds(group, pairs):
    return [Kind(event, label, group) for event, label in pairs]


EVENTS = {
    k.event: k
    for k in [
        *_kinds(
            "auth",
            [
                ("auth.sign_in", _l("Sign-in")),
                ("auth.sign_out", _l("Sign-out")),
                ("auth.session_expired", _l("Session expired")),
                ("auth.sessions_ended", _l("Signed out everywhere")),
                ("auth.second_factor", _l("Two-step sign-in")),
            ],
        ),
        *_kinds(
            "account",
            [
                ("account.password_changed", _l("Password changed")),
                ("account.password_reset", _l("Password set through an invitation link")),
                ("account.password_change_required", _l("Password change required")),
                ("account.password_expired", _l("Password expired")),
                ("account.two_factor_enrolled", _l("Second factor set up")),
                ("account.two_factor_disabled", _l("Second factor turned off")),
                ("account.two_factor_reset", _l("Second factor reset")),
                ("account.recovery_code_used", _l("Recovery code used")),
                ("account.profile_changed", _l("Profile changed")),
            ],
        ),
        *_kinds(
            "security",
            [
                ("security.policy_changed", _l("Security policy changed")),
                ("security.account_unlocked", _l("Sign-in delay lifted for an account")),
                ("security.address_unlocked", _l("Sign-in delay lifted for an address")),
            ],
        ),
        *_kinds(
            "users",
            [
                ("user.created", _l("User created")),
                ("user.updated", _l("User changed")),
                ("user.deactivated", _l("User deactivated")),
                ("user.activated", _l("User activated")),
                ("user.invited", _l("User invited")),
                ("user.deleted", _l("User deleted")),
            ],
        ),
        *_kinds(
            "access",
            [
                ("access.forbidden", _l("Refused: not allowed")),
                ("access.not_found", _l("Refused: not found")),
            ],
        ),
        *_kinds(
            "data",
            [
                ("data.exported", _l("Data exported")),
                ("document.downloaded", _l("Document downloaded")),
            ],
        ),
        *_kinds(
            "tickets",
            [
                ("ticket.filed", _l("Fault reported")),
                ("ticket.assigned", _l("Fault report assigned")),
                ("ticket.responded", _l("Fault report answered")),
                ("ticket.reply", _l("Fault report: reply")),
                ("ticket.note", _l("Fault report: internal note")),
                ("ticket.proposal", _l("Fault report: solution proposed")),
                ("ticket.on_site_scan", _l("Fault report: arrival on site")),
                ("ticket.waiting", _l("Fault report: waiting for the client")),
                ("ticket.resumed", _l("Fault report: work resumed")),
                ("ticket.extended", _l("Fault report: time extended")),
                ("ticket.severity", _l("Fault report: severity changed")),
                ("ticket.excluded", _l("Fault report: excluded from warranty")),
                ("ticket.spare_lent", _l("Spare unit lent")),
                ("ticket.original_back", _l("Repaired unit returned")),
                ("ticket.replacement_due", _l("Replacement due")),
                ("ticket.resolved", _l("Fault resolved")),
                ("ticket.confirmed", _l("Resolution confirmed")),
                ("ticket.reopened", _l("Fault report reopened")),
                ("ticket.closed", _l("Fault report closed")),
                ("ticket.auto_closed", _l("Fault report closed automatically")),
                ("ticket.breach", _l("Service time exceeded")),
            ],
        ),
        *_kinds(
            "quotes",
            [
                ("quote.requested", _l("Quote requested")),
                ("quote.line_changed", _l("Quote line changed")),
                ("quote.issued", _l("Quote issued")),
                ("quote.accepted", _l("Quote accepted")),
                ("quote.declined", _l("Quote declined")),
                ("quote.expired", _l("Quote expired")),
            ],
        ),
        *_kinds(
            "complaints",
            [
                ("complaint.filed", _l("Complaint filed")),
                ("complaint.assigned", _l("Complaint routed")),
                ("complaint.answered", _l("Complaint answered")),
                ("complaint.rejected", _l("Complaint answer not accepted")),
                ("complaint.closed", _l("Complaint closed")),
                ("complaint.late", _l("Complaint answer overdue")),
            ],
        ),
        *_kinds(
            "visits",
            [
                ("visit.done", _l("Visit recorded")),
                ("visit.signed", _l("Visit signed off")),
                ("visit.disputed", _l("Visit disputed")),
                ("visit.scheduled", _l("Visit rescheduled")),
            ],
        ),
        *_kinds(
            "settings",
            [
                ("settings.sla_policy.changed", _l("SLA policy changed")),
                ("settings.calendar.changed", _l("Holiday calendar changed")),
                ("settings.robots.changed", _l("Group robots changed")),
                ("settings.vendor.changed", _l("Vendor details changed")),
                ("settings.team.changed", _l("Service team changed")),
            ],
        ),
        *_kinds(
            "audit",
            [
                ("audit.exported", _l("Audit trail exported")),
                ("audit.archived", _l("Audit trail archived")),
                ("audit.pruned", _l("Old audit records removed")),
                ("audit.verified", _l("Audit trail verified")),
                ("audit.verify_requested", _l("Audit trail check requested")),
            ],
        ),
    ]
}

PREFIX_GROUPS = {
    "auth": "auth",
    "account": "account",
    "security": "security",
    "user": "users",
    "access": "access",
    "data": "data",
    "document": "data",
    "ticket": "tickets",
    "quote": "quotes",
    "complaint": "complaints",
    "visit": "visits",
    "settings": "settings",
    "audit": "audit",
    "request": "requests",
}


def label(event):
    """The event in words, or its own name when it has none yet."""
    kind = EVENTS.get(event)
    return str(kind.label) if kind else event


def group_of(event):
    kind = EVENTS.get(event)
    return kind.group if kind else PREFIX_GROUPS.get(event.split(".", 1)[0], "requests")


def prefixes(group):
    """The event-name prefixes of a group, for the list's filter (``LIKE 'ticket.%'``)."""
    return [p + "." for p, g in PREFIX_GROUPS.items() if g == group]


# The objects records name (their table, or the view argument's name), in words; any other shows as it is.
TARGETS = {
    "ticket": _l("Fault report"),
    "renewal_quote": _l("Quote"),
    "quote": _l("Quote"),
    "complaint": _l("Complaint"),
    "visit": _l("Visit"),
    "user_account": _l("User"),
    "user": _l("User"),
    "document": _l("Document"),
    "client": _l("Client"),
    "site": _l("Site"),
    "unit": _l("Unit"),
    "equipment": _l("Unit"),
    "contract": _l("Contract"),
    "sign_in_session": _l("Sign-in session"),
    "security_policy": _l("Security policy"),
    "robot": _l("Group robot"),
    "team_member": _l("Service team"),
    "calendar_day": _l("Holiday calendar"),
    "calendar_year": _l("Holiday calendar"),
    "sla_policy": _l("Service times"),
    "vendor": _l("Vendor details"),
    "equipment_model": _l("Model"),
    "model": _l("Model"),
    "issued_document": _l("Issued document"),
    "survey": _l("Satisfaction survey"),
    "service_log": _l("Service log entry"),
    "inspection_plan": _l("Inspection plan"),
    "spare_part": _l("Price list"),
    "part": _l("Price list"),
    "document_version": _l("Document version"),
    "import_batch": _l("Import"),
    "notification": _l("Notification"),
}


def target_label(kind):
    return str(TARGETS[kind]) if kind in TARGETS else kind


RESULTS = {"ok": _l("Done"), "refused": _l("Refused"), "failed": _l("Failed")}
