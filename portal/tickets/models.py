"""Fault reports (故障报修): the ticket, its timeline, photos, spare-unit loans and replaced parts.

A ticket's four SLA clocks (response, solution proposal, on site, resolution) are fixed when it is filed and kept
on the row, with the moment each was met, so that the queue sorts by the nearest due time with an index.
"""

from datetime import date, datetime, time, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..contracts.models import Contract
from ..equipment.models import Equipment
from ..extensions import db
from ..i18n import _l
from ..orgs.models import Client, Site
from ..renewals.models import SparePart
from ..scoping import ClientScoped
from ..search import searchable
from ..sequence import YearCounter
from ..steps import HasVersion
from ..types import UTCDateTime, utcnow


class _Labelled(StrEnum):
    @property
    def label(self):
        return LABELS[type(self)][self]

    @property
    def tone(self):
        return TONES.get(type(self), {}).get(self, "secondary")


class Status(_Labelled):
    NEW = "new"
    RESPONDED = "responded"
    IN_PROGRESS = "in_progress"  # being handled remotely, with a solution proposal
    ON_SITE = "on_site"
    WAITING = "waiting"  # waiting for the client: the resolution clock is paused
    RESOLVED = "resolved"  # the vendor's closure report is in; the client confirms or reopens
    REOPENED = "reopened"
    CLOSED = "closed"


OPEN = frozenset(set(Status) - {Status.RESOLVED, Status.CLOSED})
AUTO_CLOSE_DAYS = 7  # a resolved ticket the client neither confirms nor reopens is closed after 7 days
# The only moves a ticket makes; anything else is refused with a message.
TRANSITIONS = {
    Status.NEW: {Status.RESPONDED},
    Status.RESPONDED: {Status.IN_PROGRESS, Status.ON_SITE, Status.WAITING, Status.RESOLVED},
    Status.IN_PROGRESS: {Status.ON_SITE, Status.WAITING, Status.RESOLVED},
    Status.ON_SITE: {Status.IN_PROGRESS, Status.WAITING, Status.RESOLVED},
    Status.WAITING: {Status.RESPONDED, Status.IN_PROGRESS, Status.ON_SITE},
    Status.RESOLVED: {Status.CLOSED, Status.REOPENED},
    Status.REOPENED: {Status.IN_PROGRESS, Status.ON_SITE, Status.WAITING, Status.RESOLVED},
    Status.CLOSED: set(),
}


class Kind(_Labelled):
    """The kinds of fault the bids name (操作错误、软件错误、配置错误、硬件故障), and "not known yet"."""

    OPERATION = "operation"
    SOFTWARE = "software"
    CONFIGURATION = "configuration"
    HARDWARE = "hardware"
    UNKNOWN = "unknown"


class Channel(_Labelled):
    PORTAL = "portal"
    PHONE = "phone"
    EMAIL = "email"
    FAX = "fax"
    ON_SITE = "on_site"


class Coverage(_Labelled):
    """The unit's warranty when the fault was filed: decides whether the repair is billable."""

    IN_WARRANTY = "in_warranty"
    RENEWED = "renewed"
    EXPIRED = "expired"
    PENDING = "pending"  # the system is not accepted yet: the installer's responsibility
    EXCLUDED = "excluded"  # e.g. human damage: billable whatever the warranty
    UNREGISTERED = "unregistered"  # equipment not in the registry: to be checked

    @property
    def billable(self):
        return self in (Coverage.EXPIRED, Coverage.EXCLUDED)


LABELS = {
    Status: {
        Status.NEW: _l("New"),
        Status.RESPONDED: _l("Responded"),
        Status.IN_PROGRESS: _l("In progress (remote)"),
        Status.ON_SITE: _l("On site"),
        Status.WAITING: _l("Waiting for the client"),
        Status.RESOLVED: _l("Resolved"),
        Status.REOPENED: _l("Reopened"),
        Status.CLOSED: _l("Closed"),
    },
    Kind: {
        Kind.OPERATION: _l("Operation error"),
        Kind.SOFTWARE: _l("Software error"),
        Kind.CONFIGURATION: _l("Configuration error"),
        Kind.HARDWARE: _l("Hardware fault"),
        Kind.UNKNOWN: _l("Not known yet"),
    },
    Channel: {
        Channel.PORTAL: _l("Portal"),
        Channel.PHONE: _l("Phone"),
        Channel.EMAIL: _l("E-mail"),
        Channel.FAX: _l("Fax"),
        Channel.ON_SITE: _l("On site"),
    },
    Coverage: {
        Coverage.IN_WARRANTY: _l("In warranty"),
        Coverage.RENEWED: _l("Renewed"),
        Coverage.EXPIRED: _l("Expired: billable"),
        Coverage.PENDING: _l("Warranty not started"),
        Coverage.EXCLUDED: _l("Excluded: billable"),
        Coverage.UNREGISTERED: _l("Not registered"),
    },
}
TONES = {
    Status: {
        Status.NEW: "danger",
        Status.RESPONDED: "warning",
        Status.IN_PROGRESS: "info",
        Status.ON_SITE: "info",
        Status.WAITING: "muted",
        Status.RESOLVED: "success",
        Status.REOPENED: "danger",
        Status.CLOSED: "muted",
    },
    Coverage: {
        Coverage.IN_WARRANTY: "success",
        Coverage.RENEWED: "info",
        Coverage.EXPIRED: "danger",
        Coverage.PENDING: "muted",
        Coverage.EXCLUDED: "danger",
        Coverage.UNREGISTERED: "warning",
    },
}
SEVERITY_LABELS = {
    "A": _l("A · Critical"),
    "B": _l("B · Major"),
    "C": _l("C · Minor"),
    "D": _l("D · Low"),
}
# What each level means, from the bids, shown to whoever files a fault.
SEVERITY_MEANINGS = {
    "A": _l("The main system is down or blocked and users cannot work; key departments or a major event are affected."),
    "B": _l("Performance is degraded with real impact; one area or district is affected."),
    "C": _l("One component is faulty and functions are impaired, but the main system still works."),
    "D": _l("Anything that does not affect operation: routine questions and consultations."),
}
SEVERITY_TONES = {"A": "danger", "B": "warning", "C": "info", "D": "muted"}
CLOCKS = ("response", "proposal", "on_site", "resolution")


def _check(column, enum):
    return sa.CheckConstraint(f"{column} IN ({', '.join(repr(e.value) for e in enum)})", name=column)


class TicketCounter(YearCounter, db.Model):
    """The last ticket number given out in a year (GZ-2026-00001): unique, never reused."""

    __tablename__ = "ticket_counter"


class Ticket(HasVersion, ClientScoped, db.Model):
    __tablename__ = "ticket"
    __table_args__ = (
        _check("status", Status),
        _check("kind", Kind),
        _check("channel", Channel),
        _check("coverage", Coverage),
        sa.CheckConstraint("severity IN ('A', 'B', 'C', 'D')", name="severity"),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"),
        # The queue: open tickets by the nearest due time, for everyone, a client, a site or an assignee.
        sa.Index("ix_ticket_open_due", "is_open", "next_due", "id"),
        sa.Index("ix_ticket_client_open_due", "client_id", "is_open", "next_due", "id"),
        sa.Index("ix_ticket_site_open_due", "site_id", "is_open", "next_due", "id"),
        sa.Index("ix_ticket_assignee_open_due", "assignee_id", "is_open", "next_due", "id"),
        # A client's list: open first, newest first.
        sa.Index("ix_ticket_client_open_filed", "client_id", "is_open", "filed_at", "id"),
        sa.Index("ix_ticket_site_open_filed", "site_id", "is_open", "filed_at", "id"),
        sa.Index("ix_ticket_open_filed", "is_open", "filed_at", "id"),
        # The sweeps: clocks to check for breaches, resolved tickets to close after 7 days.
        sa.Index("ix_ticket_watch", "watch_at"),
        sa.Index("ix_ticket_status_resolved", "status", "resolved_at"),
        sa.Index("ix_ticket_equipment_filed", "equipment_id", "filed_at"),
        # The scorecard: tickets filed (and ratings given) in a period, for a client, a contract or a site.
        sa.Index("ix_ticket_client_filed", "client_id", "filed_at"),
        sa.Index("ix_ticket_contract_filed", "contract_id", "filed_at"),
        sa.Index("ix_ticket_site_filed", "site_id", "filed_at"),
        sa.Index("ix_ticket_client_closed", "client_id", "closed_at"),
        # The vendor's overview: every client's tickets filed (and ratings given) this month.
        sa.Index("ix_ticket_filed", "filed_at"),
        sa.Index("ix_ticket_closed", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"))
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"))
    equipment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("equipment.id"))
    equipment_text: Mapped[str] = mapped_column(sa.String(300), default="")  # equipment not in the registry
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contract.id"), index=True)  # whose SLA applies
    severity: Mapped[str] = mapped_column(sa.String(1))
    kind: Mapped[str] = mapped_column(sa.String(16), default=Kind.UNKNOWN.value)
    channel: Mapped[str] = mapped_column(sa.String(10), default=Channel.PORTAL.value)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    contact_name: Mapped[str] = mapped_column(sa.String(100))
    contact_phone: Mapped[str] = mapped_column(sa.String(50))
    coverage: Mapped[str] = mapped_column(sa.String(16))
    coverage_note: Mapped[str] = mapped_column(sa.String(500), default="")
    status: Mapped[str] = mapped_column(sa.String(12), default=Status.NEW.value)
    is_open: Mapped[bool] = mapped_column(default=True)
    resume_to: Mapped[str | None] = mapped_column(sa.String(12))  # where a paused ticket goes back to
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    filed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")  # the site's, at filing
    # The SLA: the clock kind and minutes per target copied from the policy at filing (or at a severity change).
    clock: Mapped[str] = mapped_column(sa.String(10))
    day_starts: Mapped[time] = mapped_column(sa.Time)
    day_ends: Mapped[time] = mapped_column(sa.Time)
    response_minutes: Mapped[int] = mapped_column()
    proposal_minutes: Mapped[int] = mapped_column()
    on_site_minutes: Mapped[int] = mapped_column()
    resolution_minutes: Mapped[int] = mapped_column()
    resolution_from: Mapped[datetime] = mapped_column(UTCDateTime)  # filing, or the last reopening
    response_due: Mapped[datetime] = mapped_column(UTCDateTime)
    proposal_due: Mapped[datetime] = mapped_column(UTCDateTime)
    on_site_due: Mapped[datetime] = mapped_column(UTCDateTime)
    resolution_due: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None while paused
    response_risk: Mapped[datetime] = mapped_column(UTCDateTime)
    proposal_risk: Mapped[datetime] = mapped_column(UTCDateTime)
    on_site_risk: Mapped[datetime] = mapped_column(UTCDateTime)
    resolution_risk: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_met: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proposal_met: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_site_met: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_met: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_met_by: Mapped[str | None] = mapped_column(sa.String(8))  # "fix" or "spare"
    waived: Mapped[str] = mapped_column(sa.String(40), default="")  # clocks not needed: "proposal,on_site"
    breached: Mapped[str] = mapped_column(sa.String(40), default="")  # clocks breached, recorded for good
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Clock time spent waiting for the client, in all, to the second (working seconds on a working-hours clock).
    paused_seconds: Mapped[int] = mapped_column(default=0)
    # Derived by services.refresh_clocks(): the nearest unmet due time (queue order), when it turns "at risk",
    # and the next moment the breach sweep must look at this ticket.
    next_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_risk: Mapped[datetime | None] = mapped_column(UTCDateTime)
    watch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The closure report (问题处理报告).
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    problem_kind: Mapped[str | None] = mapped_column(sa.String(16))
    cause: Mapped[str] = mapped_column(sa.Text, default="")
    solution: Mapped[str] = mapped_column(sa.Text, default="")
    loss: Mapped[str] = mapped_column(sa.Text, default="")  # assessment of the loss caused
    work_stopped: Mapped[bool] = mapped_column(default=False)  # unresolved and stopped work: +60 days
    # The client's confirmation (满意度).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auto_closed: Mapped[bool] = mapped_column(default=False)
    rating: Mapped[int | None] = mapped_column()
    rating_comment: Mapped[str] = mapped_column(sa.String(1000), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    client: Mapped[Client] = relationship()
    site: Mapped[Site] = relationship()
    equipment: Mapped[Equipment | None] = relationship()
    contract: Mapped[Contract | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    filed_by: Mapped[User | None] = relationship(foreign_keys=[filed_by_id])
    events: Mapped[list["TicketEvent"]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )
    photos: Mapped[list["TicketPhoto"]] = relationship(
        back_populates="ticket", order_by="TicketPhoto.id", cascade="all, delete-orphan"
    )
    loans: Mapped[list["SpareLoan"]] = relationship(
        back_populates="ticket", order_by="SpareLoan.id", cascade="all, delete-orphan"
    )
    parts: Mapped[list["ReplacedPart"]] = relationship(
        back_populates="ticket", order_by="ReplacedPart.id", cascade="all, delete-orphan"
    )

    @property
    def status_enum(self):
        return Status(self.status)

    @property
    def kind_enum(self):
        return Kind(self.kind)

    @property
    def problem_kind_enum(self):
        """The kind of problem found at closure (the closure report's), or else the kind given at filing."""
        return Kind(self.problem_kind or self.kind)

    @property
    def channel_enum(self):
        return Channel(self.channel)

    @property
    def coverage_enum(self):
        return Coverage(self.coverage)

    @property
    def severity_label(self):
        return SEVERITY_LABELS[self.severity]

    @property
    def severity_tone(self):
        return SEVERITY_TONES[self.severity]

    @property
    def equipment_label(self):
        if self.equipment is not None:
            return f"{self.equipment.model.label} · {self.equipment.serial}"
        return self.equipment_text

    # What "overdue", "breached" and "at risk" mean for a ticket, in Python for pages and in SQL for lists and
    # counts: one definition of each, here.
    @hybrid_method
    def overdue(self, now):
        return self.is_open and self.next_due is not None and self.next_due < now

    @overdue.expression
    def overdue(cls, now):
        return sa.and_(cls.is_open.is_(True), cls.next_due < now)

    @hybrid_method
    def in_breach(self, now):
        """Open, with a clock breached (recorded) or overdue now."""
        return self.is_open and (bool(self.breached) or self.overdue(now))

    @in_breach.expression
    def in_breach(cls, now):
        return sa.and_(cls.is_open.is_(True), sa.or_(cls.breached != "", cls.next_due < now))

    @hybrid_method
    def at_risk(self, now):
        """Open, less than a quarter of the nearest clock left, not yet overdue."""
        return self.is_open and self.next_risk is not None and self.next_risk <= now and not self.overdue(now)

    @at_risk.expression
    def at_risk(cls, now):
        return sa.and_(cls.is_open.is_(True), cls.next_risk <= now, cls.next_due >= now)

    # The status as it is at ``now``: a resolved ticket left unconfirmed for 7 days is closed, whether or not the
    # sweep has recorded it yet (the pages show it so, the lists filter on it, and its steps are refused).
    @hybrid_method
    def status_at(self, now):
        if (
            self.status == Status.RESOLVED.value
            and self.resolved_at is not None
            and self.resolved_at <= now - timedelta(days=AUTO_CLOSE_DAYS)
        ):
            return Status.CLOSED.value
        return self.status

    @status_at.expression
    def status_at(cls, now):
        return sa.case(
            (
                sa.and_(cls.status == Status.RESOLVED.value, cls.resolved_at <= now - timedelta(days=AUTO_CLOSE_DAYS)),
                Status.CLOSED.value,
            ),
            else_=cls.status,
        )

    def status_enum_at(self, now):
        return Status(self.status_at(now))

    @property
    def auto_close_at(self):
        """When a resolved ticket closes by itself unless the client confirms or reopens it."""
        if self.status != Status.RESOLVED.value or self.resolved_at is None:
            return None
        return self.resolved_at + timedelta(days=AUTO_CLOSE_DAYS)

    def closed_automatically(self, now):
        """Closed by the 7-day rule: recorded by the sweep, or due and not recorded yet."""
        return self.auto_closed or (self.status == Status.RESOLVED.value and self.status_at(now) == Status.CLOSED.value)

    @classmethod
    def by_nearest_due(cls):
        """The queue's order: the nearest due time first, tickets with nothing due last."""
        return (cls.next_due.is_(None), cls.next_due, cls.id)

    @property
    def open_loan(self):
        return next((loan for loan in self.loans if loan.returned_at is None), None)


# The queue's search box: number, title and the equipment named in words (a unit's serial: the units' own index).
searchable(Ticket, "number", "title", "equipment_text")


class TicketEvent(db.Model):
    """The timeline: every step, reply and internal note, with who and when. ``internal`` rows are for the
    vendor's staff only and never reach a client user."""

    __tablename__ = "ticket_event"
    __table_args__ = (
        sa.Index("ix_ticket_event_ticket_internal", "ticket_id", "internal"),
        sa.Index("ix_ticket_event_action_at", "action", "at"),  # the scorecard: "replacement due" flags in a period
        # An event that happens once in a ticket's life (a breach of each clock, the automatic closing) carries a
        # key; the database keeps one per ticket, whoever records it and however many at once.
        sa.UniqueConstraint("ticket_id", "key", name="uq_ticket_event_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(20))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    internal: Mapped[bool] = mapped_column(default=False)
    key: Mapped[str | None] = mapped_column(sa.String(40))  # "breach:response", "auto_closed"; None: any number

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()


class TicketPhoto(db.Model):
    """A photo of the fault, its file in storage (``portal.storage``, shared by every host) under ``storage_key``."""

    __tablename__ = "ticket_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(20))
    size: Mapped[int] = mapped_column()
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    storage_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="photos")


class SpareLoan(db.Model):
    """A spare unit (备机) lent while the original is repaired: it meets the resolution clock if lent in time,
    and starts its own clock for bringing the repaired original back."""

    __tablename__ = "spare_loan"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    spare: Mapped[str] = mapped_column(sa.String(300))  # which unit: model and serial number
    lent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    return_due: Mapped[datetime] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(sa.String(1000), default="")

    ticket: Mapped[Ticket] = relationship(back_populates="loans")


class ReplacedPart(db.Model):
    """A part swapped during the repair, covered for the rest of the unit's warranty or 90 days."""

    __tablename__ = "replaced_part"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    part_id: Mapped[int | None] = mapped_column(sa.ForeignKey("spare_part.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(sa.String(300))
    quantity: Mapped[int] = mapped_column(default=1)
    replaced_on: Mapped[date] = mapped_column(sa.Date)
    covered_until: Mapped[date] = mapped_column(sa.Date)

    ticket: Mapped[Ticket] = relationship(back_populates="parts")
    part: Mapped[SparePart | None] = relationship()
