"""Complaints (投诉) and their rounds: answered by the vendor, closed only by a satisfied client.

Each "not satisfied" reopens the complaint for another round, due again; the events are the ledger (投诉处理台账).
"""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..extensions import db
from ..i18n import _l
from ..orgs.models import Client, Site
from ..scoping import ClientScoped
from ..sequence import YearCounter
from ..steps import HasVersion
from ..storage import AttachmentColumns
from ..tickets.models import Ticket
from ..types import UTCDateTime, utcnow


class Category(StrEnum):
    RESPONSE_TIME = "response_time"
    ATTITUDE = "attitude"
    REPAIR_QUALITY = "repair_quality"
    BILLING = "billing"
    OTHER = "other"

    @property
    def label(self):
        return CATEGORY_LABELS[self]


class Status(StrEnum):
    NEW = "new"  # waiting for the manager to route it
    ASSIGNED = "assigned"  # a handler is answering
    ANSWERED = "answered"  # the client reads the answer: satisfied (closed) or not (reopened)
    REOPENED = "reopened"  # not satisfied: back to the manager for another round
    CLOSED = "closed"  # closed by the client, satisfied

    @property
    def label(self):
        return STATUS_LABELS[self]

    @property
    def tone(self):
        return STATUS_TONES[self]


CATEGORY_LABELS = {
    Category.RESPONSE_TIME: _l("Response time"),
    Category.ATTITUDE: _l("Attitude"),
    Category.REPAIR_QUALITY: _l("Quality of repair"),
    Category.BILLING: _l("Billing"),
    Category.OTHER: _l("Other"),
}
STATUS_LABELS = {
    Status.NEW: _l("Awaiting routing"),
    Status.ASSIGNED: _l("Being answered"),
    Status.ANSWERED: _l("Answered"),
    Status.REOPENED: _l("Reopened: not satisfied"),
    Status.CLOSED: _l("Closed: satisfied"),
}
STATUS_TONES = {
    Status.NEW: "danger",
    Status.ASSIGNED: "warning",
    Status.ANSWERED: "info",
    Status.REOPENED: "danger",
    Status.CLOSED: "success",
}
EVENT_LABELS = {
    "filed": _l("Complaint received"),
    "assigned": _l("Routed to"),
    "answered": _l("Answer"),
    "rejected": _l("Not satisfied"),
    "closed": _l("Closed: satisfied"),
    "late": _l("Answer overdue"),
}
AWAITING_ANSWER = (Status.NEW, Status.ASSIGNED, Status.REOPENED)
# The only moves; anything else is refused.
TRANSITIONS = {
    Status.NEW: {Status.ASSIGNED},
    Status.REOPENED: {Status.ASSIGNED},
    Status.ASSIGNED: {Status.ASSIGNED, Status.ANSWERED},
    Status.ANSWERED: {Status.CLOSED, Status.REOPENED},
    Status.CLOSED: set(),
}


class ComplaintCounter(YearCounter, db.Model):
    """The last complaint number given out in a year (TS-2026-0001)."""

    __tablename__ = "complaint_counter"


class Complaint(HasVersion, ClientScoped, db.Model):
    __tablename__ = "complaint"
    __table_args__ = (
        sa.CheckConstraint("status IN ({})".format(", ".join(f"'{s.value}'" for s in Status)), name="status"),
        sa.CheckConstraint("category IN ({})".format(", ".join(f"'{c.value}'" for c in Category)), name="category"),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"),
        # Lists: open first, newest first, for everyone, a client or a site; the ledger by received date.
        sa.Index("ix_complaint_open_received", "is_open", "received_at", "id"),
        sa.Index("ix_complaint_client_open_received", "client_id", "is_open", "received_at", "id"),
        sa.Index("ix_complaint_site_open_received", "site_id", "is_open", "received_at", "id"),
        sa.Index("ix_complaint_client_received", "client_id", "received_at", "id"),
        sa.Index("ix_complaint_received", "received_at", "id"),
        sa.Index("ix_complaint_open_due", "is_open", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    category: Mapped[str] = mapped_column(sa.String(20))
    description: Mapped[str] = mapped_column(sa.Text)
    channel: Mapped[str] = mapped_column(sa.String(10), default="portal")
    status: Mapped[str] = mapped_column(sa.String(10), default=Status.NEW.value)
    is_open: Mapped[bool] = mapped_column(default=True)
    round: Mapped[int] = mapped_column(default=1)
    handler_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    filed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the answer to this round; None once answered
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column()
    overdue_rounds: Mapped[int] = mapped_column(default=0)  # rounds answered late, recorded for good

    client: Mapped[Client] = relationship()
    site: Mapped[Site | None] = relationship()
    ticket: Mapped[Ticket | None] = relationship()
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id])
    filed_by: Mapped[User | None] = relationship(foreign_keys=[filed_by_id])
    events: Mapped[list["ComplaintEvent"]] = relationship(
        back_populates="complaint", order_by="(ComplaintEvent.at, ComplaintEvent.id)", cascade="all, delete-orphan"
    )
    attachments: Mapped[list["ComplaintAttachment"]] = relationship(
        order_by="ComplaintAttachment.id", cascade="all, delete-orphan"
    )

    @property
    def status_enum(self):
        return Status(self.status)

    @property
    def category_enum(self):
        return Category(self.category)

    def overdue(self, now):
        return self.is_open and self.due_at is not None and self.due_at < now


class ComplaintEvent(db.Model):
    """Every step of a complaint: filed, routed, answered, not satisfied (with the reason), closed satisfied."""

    __tablename__ = "complaint_event"
    __table_args__ = (
        # The scorecard's open complaints: rounds answered late ("late" events before a moment).
        sa.Index("ix_complaint_event_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column()
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(20))
    body: Mapped[str] = mapped_column(sa.Text, default="")

    complaint: Mapped[Complaint] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()

    @property
    def label(self):
        return EVENT_LABELS.get(self.action, self.action)


class ComplaintAttachment(AttachmentColumns, db.Model):
    __tablename__ = "complaint_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
