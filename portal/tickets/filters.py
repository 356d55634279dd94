"""The ticket lists' filters: the vendor's queue (open tickets by the nearest due time) and the client's list
(open first, newest first), read from the query string and applied to a scoped query."""

import re
from dataclasses import asdict, dataclass

import sqlalchemy as sa

from ..equipment.models import Equipment
from ..forms import optional_id
from ..i18n import _l
from ..pagination import Order
from ..search import among, matches
from .models import SEVERITY_LABELS, Status, Ticket

VIEWS = {
    "open": _l("Open"),
    "mine": _l("Assigned to me"),
    "unassigned": _l("Unassigned"),
    "at_risk": _l("At risk"),
    "breached": _l("Breached"),
    "closed": _l("Resolved and closed"),
    "all": _l("All"),
}
NUMBER = re.compile(r"GZ-\d{4}-\d{5}")
BY_DUE = {"open", "mine", "unassigned", "at_risk"}  # open tickets only: ordered by the nearest due time
VENDOR_VIEWS = {"mine", "unassigned"}
# The queue: the nearest due time first, nothing due last (Ticket.by_nearest_due); the other views: open first,
# newest first. Each served by an index for everyone, a client, a site, an assignee (models.Ticket).
BY_DUE_ORDER = Order("due", (Ticket.next_due, Ticket.id))
NEWEST_ORDER = Order("filed", (Ticket.is_open, Ticket.filed_at, Ticket.id), desc=True)


@dataclass
class TicketFilter:
    view: str = ""
    q: str = ""
    client: int | None = None
    severity: str = ""
    status: str = ""

    @classmethod
    def from_args(cls, args, user):
        default = "open" if user.is_vendor else "all"
        view = args.get("view", default)
        if view not in VIEWS or (view in VENDOR_VIEWS and not user.is_vendor):
            view = default
        severity, status = args.get("severity", ""), args.get("status", "")
        return cls(
            view=view,
            q=args.get("q", "").strip()[:100],
            client=optional_id(args.get("client")) if user.is_vendor else None,
            severity=severity if severity in SEVERITY_LABELS else "",
            status=status if status in Status.__members__.values() else "",
        )

    @staticmethod
    def views_for(user):
        return {k: v for k, v in VIEWS.items() if user.is_vendor or k not in VENDOR_VIEWS}

    def apply(self, query, user, now):
        if self.view in BY_DUE:
            query = query.where(Ticket.is_open.is_(True))
        if self.view == "mine":
            query = query.where(Ticket.assignee_id == user.id)
        elif self.view == "unassigned":
            query = query.where(Ticket.assignee_id.is_(None))
        elif self.view == "at_risk":
            query = query.where(Ticket.at_risk(now))
        elif self.view == "breached":
            query = query.where(Ticket.in_breach(now))
        elif self.view == "closed":
            query = query.where(Ticket.is_open.is_(False))
        if NUMBER.fullmatch(self.q.upper()):  # a ticket's number, pasted: the unique index finds it at once
            query = query.where(Ticket.number == self.q.upper())
        elif self.q:
            # The tickets' own text, or the serial of their unit (the units' index finds those, then the tickets').
            query = query.where(
                sa.or_(
                    matches(self.q, Ticket.number, Ticket.title, Ticket.equipment_text),
                    among(Ticket.equipment_id, sa.select(Equipment.id).where(matches(self.q, Equipment.serial))),
                )
            )
        if self.client:
            query = query.where(Ticket.client_id == self.client)
        if self.severity:
            query = query.where(Ticket.severity == self.severity)
        if self.status:
            query = query.where(Ticket.status_at(now) == self.status)
        return query.order_by(*self.order.sql())

    @property
    def order(self):
        return BY_DUE_ORDER if self.view in BY_DUE else NEWEST_ORDER

    def args(self, **changes):
        values = {**asdict(self), **changes}
        return {k: v for k, v in values.items() if v not in (None, "")}
