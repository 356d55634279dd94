"""Every kind of notification: who it is for, its message, whether a user may turn it off, and whether it goes to
the group robots. The messages are msgids (``N_``), translated when they are read, in the reader's language.

A message's values come from the notification's ``params``. Values whose name ends in ``_at`` are moments (ISO
8601, UTC) and are shown in the reader's time zone; ``_on`` are dates; ``clock`` is one of the four SLA clocks.
"""

from dataclasses import dataclass

from ..i18n import _l
from ..roles import ALL, CLIENT, VENDOR, Role


def N_(string):
    """Marks a msgid for extraction; translated later, in the reader's language."""
    return string


@dataclass(frozen=True)
class Kind:
    name: str
    group: str
    label: object  # what the preferences page calls it
    audience: object  # who receives it, in words
    message: str  # msgid, formatted with the notification's params
    mandatory: bool = False  # may not be turned off nor put in a digest (marked * in the issue)
    robot: bool = False  # may be posted to the group robots
    # The roles that may receive it (the preferences page offers it to them): business roles only, never one of the
    # three administrators, who receive no business notification (三权分立).
    roles: frozenset = ALL


# The four SLA clocks as a message names them ("the response clock is at risk").
CLOCK_NAMES = {
    "response": N_("response"),
    "proposal": N_("solution proposal"),
    "on_site": N_("on-site"),
    "resolution": N_("resolution"),
    "return": N_("spare return"),
}

GROUPS = {
    "tickets": _l("Faults"),
    "complaints": _l("Complaints"),
    "quotes": _l("Renewal quotes"),
    "warranty": _l("Warranty"),
    "inspections": _l("Inspections and service log"),
}

_MANAGER = frozenset({Role.VENDOR_MANAGER})
_CLIENT_ADMIN = frozenset({Role.CLIENT_ADMIN})
_ALL = ALL

_KINDS = (
    # Faults
    Kind(
        "ticket.filed",
        "tickets",
        _l("A fault is filed"),
        _l("Vendor staff"),
        N_("Fault %(number)s filed (severity %(severity)s) at %(site)s: %(title)s"),
        mandatory=True,
        robot=True,
        roles=VENDOR,
    ),
    Kind(
        "ticket.responded",
        "tickets",
        _l("The vendor responded"),
        _l("The reporter"),
        N_("Fault %(number)s: the vendor responded with a first opinion"),
        roles=CLIENT,
    ),
    Kind(
        "ticket.proposal",
        "tickets",
        _l("A solution is proposed"),
        _l("The reporter"),
        N_("Fault %(number)s: a solution is proposed"),
        roles=CLIENT,
    ),
    Kind(
        "ticket.on_site",
        "tickets",
        _l("The engineer is on site"),
        _l("The reporter"),
        N_("Fault %(number)s: the engineer is on site"),
        roles=CLIENT,
    ),
    Kind(
        "ticket.waiting",
        "tickets",
        _l("A fault waits for you"),
        _l("The reporter"),
        N_("Fault %(number)s is waiting for you: %(reason)s"),
        roles=CLIENT,
    ),
    Kind(
        "ticket.resolved",
        "tickets",
        _l("A fault is resolved"),
        _l("The reporter"),
        N_("Fault %(number)s is resolved: please confirm or reopen it"),
        roles=CLIENT,
    ),
    Kind(
        "ticket.spare_lent",
        "tickets",
        _l("A spare unit is lent"),
        _l("The reporter"),
        N_("Fault %(number)s: a spare unit is lent (%(spare)s)"),
        roles=CLIENT,
    ),
    Kind(
        "ticket.reply",
        "tickets",
        _l("A reply on a fault"),
        _l("The other side"),
        N_("Fault %(number)s: a reply from %(author)s"),
        roles=_ALL,
    ),
    Kind(
        "ticket.at_risk",
        "tickets",
        _l("A clock is at risk"),
        _l("The assigned agent"),
        N_("Fault %(number)s: the %(clock)s clock is at risk, due %(due_at)s"),
        roles=VENDOR,
    ),
    Kind(
        "ticket.breached",
        "tickets",
        _l("A clock is breached"),
        _l("The vendor manager"),
        N_("Fault %(number)s: the %(clock)s clock is breached (was due %(due_at)s)"),
        mandatory=True,
        robot=True,
        roles=_MANAGER,
    ),
    Kind(
        "survey.invite",
        "tickets",
        _l("A satisfaction survey about a closed fault or a signed-off visit"),
        _l("The reporter, or the user who signed the visit off"),
        N_("Please rate our service for %(about)s: one question, answered in a minute"),
        roles=CLIENT,
    ),
    Kind(
        "ticket.no_response",
        "tickets",
        _l("No response after 24 hours"),
        _l("The vendor manager and the client's administrator"),
        N_("Fault %(number)s has had no response for 24 hours since %(filed_at)s"),
        mandatory=True,
        robot=True,
        roles=_MANAGER | {Role.CLIENT_ADMIN},
    ),
    # Complaints
    Kind(
        "complaint.filed",
        "complaints",
        _l("A complaint is filed"),
        _l("The vendor manager"),
        N_("Complaint %(number)s filed: %(category)s"),
        mandatory=True,
        robot=True,
        roles=_MANAGER,
    ),
    Kind(
        "complaint.routed",
        "complaints",
        _l("A complaint is routed to you"),
        _l("The handler"),
        N_("Complaint %(number)s is routed to you: answer by %(due_at)s"),
        mandatory=True,
        roles=VENDOR,
    ),
    Kind(
        "complaint.answered",
        "complaints",
        _l("Your complaint is answered"),
        _l("The complainant"),
        N_("Complaint %(number)s is answered: are you satisfied?"),
        roles=CLIENT,
    ),
    Kind(
        "complaint.overdue",
        "complaints",
        _l("A complaint is overdue"),
        _l("The vendor manager"),
        N_("Complaint %(number)s has no answer and was due %(due_at)s"),
        mandatory=True,
        robot=True,
        roles=_MANAGER,
    ),
    # Renewal quotes
    Kind(
        "quote.issued",
        "quotes",
        _l("A quote is issued"),
        _l("The client's administrator"),
        N_("Quote %(number)s is issued: %(total)s, valid until %(valid_on)s"),
        roles=_CLIENT_ADMIN,
    ),
    Kind(
        "quote.expiring",
        "quotes",
        _l("A quote expires soon"),
        _l("The client's administrator"),
        N_("Quote %(number)s expires on %(valid_on)s and has no answer yet"),
        roles=_CLIENT_ADMIN,
    ),
    Kind(
        "quote.accepted",
        "quotes",
        _l("A quote is accepted"),
        _l("The vendor manager"),
        N_("Quote %(number)s is accepted by %(client)s"),
        roles=_MANAGER,
    ),
    Kind(
        "quote.declined",
        "quotes",
        _l("A quote is declined"),
        _l("The vendor manager"),
        N_("Quote %(number)s is declined by %(client)s: %(reason)s"),
        roles=_MANAGER,
    ),
    # Warranty
    Kind(
        "warranty.digest",
        "warranty",
        _l("Monthly warranty digest"),
        _l("The client's administrator and school administrators"),
        N_("%(count_90)s units lose their warranty in the next 90 days (%(count_30)s in the next 30 days)"),
        roles=_CLIENT_ADMIN | {Role.SITE_ADMIN},
    ),
    # Inspections and the service log
    Kind(
        "visit.due",
        "inspections",
        _l("A visit is due soon"),
        _l("The school's users and the vendor agent"),
        N_("%(visit)s at %(site)s is due on %(due_on)s"),
        roles=VENDOR | {Role.CLIENT_STAFF, Role.SITE_ADMIN},
    ),
    Kind(
        "visit.signoff",
        "inspections",
        _l("A visit waits for your sign-off"),
        _l("The school administrator"),
        N_("%(visit)s at %(site)s is recorded and waits for your sign-off"),
        roles=_CLIENT_ADMIN | {Role.SITE_ADMIN},
    ),
    Kind(
        "visit.overdue",
        "inspections",
        _l("A visit is overdue"),
        _l("The vendor manager"),
        N_("%(visit)s at %(site)s was due on %(due_on)s and is not recorded"),
        mandatory=True,
        roles=_MANAGER,
    ),
    Kind(
        "log.signature",
        "inspections",
        _l("A service log entry waits for signature"),
        _l("The client's administrator"),
        N_("The service log of %(work_on)s (%(engineers)s) waits for your signature"),
        roles=_CLIENT_ADMIN,
    ),
)
KINDS = {kind.name: kind for kind in _KINDS}


def kinds_for(role):
    """The kinds a user of ``role`` may receive, in the order of the list above."""
    return [kind for kind in _KINDS if role in kind.roles]
