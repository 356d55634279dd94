"""Inspections, visits and service logs (巡检 / 回访 / 驻场运维记录): the history a client can check.

A contract's plan promises visits; the portal schedules them with due dates for the service period. Vendor staff
record each visit (per-unit results for an on-site inspection, the three checks the bids name, recommendations,
attachments); the client signs it off or disputes it. Resident engineers keep a service log, signed by the client.
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
from ..scoping import ClientScoped
from ..steps import HasVersion
from ..storage import AttachmentColumns
from ..tickets.models import Ticket
from ..types import UTCDateTime, utcnow


class _Labelled(StrEnum):
    @property
    def label(self):
        return LABELS[self]


class Frequency(_Labelled):
    NONE = "none"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"


class VisitKind(_Labelled):
    INSPECTION = "inspection"
    PHONE_VISIT = "phone_visit"
    RETURN_VISIT = "return_visit"
    END_OF_LIFE = "end_of_life"
    EXTRA = "extra"


class Method(_Labelled):
    ON_SITE = "on_site"
    REMOTE = "remote"
    PHONE = "phone"


class VisitStatus(_Labelled):
    SCHEDULED = "scheduled"
    DONE = "done"  # recorded, waiting for the client's sign-off
    SIGNED = "signed"
    DISPUTED = "disputed"

    @property
    def tone(self):
        return {"scheduled": "info", "done": "warning", "signed": "success", "disputed": "danger"}[self.value]


class UnitResult(_Labelled):
    OK = "ok"
    ISSUE = "issue"
    FIXED = "fixed"
    NOT_FOUND = "not_found"

    @property
    def tone(self):
        return {"ok": "success", "issue": "danger", "fixed": "info", "not_found": "warning"}[self.value]


LABELS = {
    Frequency.NONE: _l("No preventive inspections"),
    Frequency.MONTHLY: _l("Monthly"),
    Frequency.QUARTERLY: _l("Quarterly (mid-March, June, September, December)"),
    Frequency.HALF_YEARLY: _l("Half-yearly (mid-January, July)"),
    VisitKind.INSPECTION: _l("Preventive inspection"),
    VisitKind.PHONE_VISIT: _l("Phone visit"),
    VisitKind.RETURN_VISIT: _l("Return visit"),
    VisitKind.END_OF_LIFE: _l("End-of-life inspection"),
    VisitKind.EXTRA: _l("Extra visit"),
    Method.ON_SITE: _l("On site"),
    Method.REMOTE: _l("Remote"),
    Method.PHONE: _l("By phone"),
    VisitStatus.SCHEDULED: _l("Scheduled"),
    VisitStatus.DONE: _l("Awaiting sign-off"),
    VisitStatus.SIGNED: _l("Signed off"),
    VisitStatus.DISPUTED: _l("Disputed"),
    UnitResult.OK: _l("OK"),
    UnitResult.ISSUE: _l("Issue found"),
    UnitResult.FIXED: _l("Fixed on the spot"),
    UnitResult.NOT_FOUND: _l("Not found"),
}
SOON = timedelta(days=30)  # "due soon": within 30 days
DONE_STATES = (VisitStatus.DONE.value, VisitStatus.SIGNED.value, VisitStatus.DISPUTED.value)


def _check(column, enum):
    return sa.CheckConstraint("{} IN ({})".format(column, ", ".join(f"'{m.value}'" for m in enum)), name=column)


plan_site = sa.Table(
    "inspection_plan_site",
    db.metadata,
    sa.Column("plan_id", sa.ForeignKey("inspection_plan.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("site_id", sa.ForeignKey("site.id", ondelete="CASCADE"), primary_key=True),
)


class InspectionPlan(ClientScoped, db.Model):
    """What a contract promises: inspection frequency and months, phone and return visits, the end-of-life
    inspection, and the sites inspected (none chosen: every site with units of the contract)."""

    __tablename__ = "inspection_plan"
    __site_column__ = None
    __table_args__ = (_check("frequency", Frequency),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), unique=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"), index=True)
    frequency: Mapped[str] = mapped_column(sa.String(12), default=Frequency.QUARTERLY.value)
    months: Mapped[str] = mapped_column(sa.String(40), default="")  # "3,6,9,12"; empty: the frequency's months
    phone_visits: Mapped[int] = mapped_column(default=4)  # a year
    return_visits: Mapped[bool] = mapped_column(default=True)
    end_of_life: Mapped[bool] = mapped_column(default=True)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contract: Mapped[Contract] = relationship()
    sites: Mapped[list[Site]] = relationship(secondary=plan_site, order_by="Site.name_zh")

    @property
    def frequency_enum(self):
        return Frequency(self.frequency)

    @property
    def month_list(self):
        return [int(m) for m in self.months.split(",") if m.strip().isdigit()]


class Visit(HasVersion, ClientScoped, db.Model):
    """A scheduled or recorded visit: a preventive inspection of a site, a phone or return visit, the end-of-life
    inspection, or an extra visit."""

    __table_args__ = (
        _check("kind", VisitKind),
        _check("status", VisitStatus),
        sa.CheckConstraint(
            "method IS NULL OR method IN ({})".format(", ".join(f"'{m.value}'" for m in Method)), name="method"
        ),
        sa.CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction"),
        # The schedule: by state and due date, for everyone, a client, a site; a contract's visits.
        sa.Index("ix_visit_status_due", "status", "due_on", "id"),
        sa.Index("ix_visit_client_status_due", "client_id", "status", "due_on", "id"),
        sa.Index("ix_visit_site_status_due", "site_id", "status", "due_on", "id"),
        # Every visit (or the done ones), the latest first.
        sa.Index("ix_visit_due", "due_on", "id"),
        sa.Index("ix_visit_client_due", "client_id", "due_on", "id"),
        sa.Index("ix_visit_site_due", "site_id", "due_on", "id"),
        sa.Index("ix_visit_contract_due", "contract_id", "due_on"),
        sa.Index("ix_visit_site_done", "site_id", "done_on"),
        # The home pages' latest inspection, for the vendor (every client) and a client: read backwards.
        sa.Index("ix_visit_done", "done_on", "id"),
        sa.Index("ix_visit_client_done", "client_id", "done_on"),
        # The scorecard: a contract's visits of a kind due in a period, those done in it, sign-offs given in it.
        sa.Index("ix_visit_contract_kind_due", "contract_id", "kind", "due_on"),
        sa.Index("ix_visit_contract_done", "contract_id", "done_on"),
        sa.Index("ix_visit_client_signed", "client_id", "signed_at"),
        sa.Index("ix_visit_signed", "signed_at"),  # the vendor's overview: every client's sign-offs this month
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inspection_plan.id", ondelete="SET NULL"), index=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"))
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))  # None: the whole client (phone visits)
    kind: Mapped[str] = mapped_column(sa.String(15))
    due_on: Mapped[date] = mapped_column(sa.Date)
    window_start: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(10), default=VisitStatus.SCHEDULED.value)
    method: Mapped[str | None] = mapped_column(sa.String(10))
    done_on: Mapped[date | None] = mapped_column(sa.Date)
    engineers: Mapped[str] = mapped_column(sa.String(200), default="")
    hardware: Mapped[str] = mapped_column(sa.Text, default="")  # the three checks the bids name
    software: Mapped[str] = mapped_column(sa.Text, default="")
    risks: Mapped[str] = mapped_column(sa.Text, default="")
    recommendations: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_name: Mapped[str] = mapped_column(sa.String(100), default="")
    signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sign_comment: Mapped[str] = mapped_column(sa.Text, default="")
    satisfaction: Mapped[int | None] = mapped_column()
    dispute_reason: Mapped[str] = mapped_column(sa.Text, default="")
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contract: Mapped[Contract] = relationship()
    client: Mapped[Client] = relationship()
    site: Mapped[Site | None] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    units: Mapped[list["VisitUnit"]] = relationship(
        back_populates="visit", order_by="VisitUnit.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list["VisitAttachment"]] = relationship(
        order_by="VisitAttachment.id", cascade="all, delete-orphan"
    )

    @property
    def kind_enum(self):
        return VisitKind(self.kind)

    @property
    def status_enum(self):
        return VisitStatus(self.status)

    @property
    def method_enum(self):
        return Method(self.method) if self.method else None

    @property
    def is_done(self):
        return self.status in DONE_STATES

    @property
    def on_site(self):
        """A visit whose units are checked one by one: an inspection (or an extra visit) of one site."""
        return self.site_id is not None and self.kind in (VisitKind.INSPECTION, VisitKind.END_OF_LIFE, VisitKind.EXTRA)

    # "Overdue" and "due soon" are defined here once, in Python (pages) and SQL (the schedule's filters and the
    # home pages' counts); tests/inspections check that both give the same visits.
    @hybrid_method
    def overdue(self, today):
        return self.status == VisitStatus.SCHEDULED.value and self.due_on < today

    @overdue.expression
    def overdue(cls, today):
        return sa.and_(cls.status == VisitStatus.SCHEDULED.value, cls.due_on < today)

    @hybrid_method
    def due_soon(self, today):
        """Not recorded, due today or within the next SOON_DAYS days."""
        return self.status == VisitStatus.SCHEDULED.value and today <= self.due_on <= today + SOON

    @due_soon.expression
    def due_soon(cls, today):
        return sa.and_(cls.status == VisitStatus.SCHEDULED.value, cls.due_on >= today, cls.due_on <= today + SOON)


class VisitUnit(db.Model):
    """One unit's result in an inspection, with the fault report opened from it, if any."""

    __tablename__ = "visit_unit"
    __table_args__ = (
        sa.UniqueConstraint("visit_id", "equipment_id", name="uq_visit_unit"),
        _check("result", UnitResult),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visit.id", ondelete="CASCADE"))
    equipment_id: Mapped[int] = mapped_column(sa.ForeignKey("equipment.id"), index=True)
    result: Mapped[str] = mapped_column(sa.String(10))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ticket.id", ondelete="SET NULL"))

    visit: Mapped[Visit] = relationship(back_populates="units")
    unit: Mapped[Equipment] = relationship()
    ticket: Mapped[Ticket | None] = relationship()

    @property
    def result_enum(self):
        return UnitResult(self.result)


class VisitAttachment(AttachmentColumns, db.Model):
    """A photo or the signed paper report (JPEG, PNG, PDF)."""

    __tablename__ = "visit_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visit.id", ondelete="CASCADE"), index=True)


class ServiceLog(HasVersion, ClientScoped, db.Model):
    """A day of resident engineers' work (驻场运维记录), signed off by the client's project lead."""

    __tablename__ = "service_log"
    __table_args__ = (
        sa.CheckConstraint("headcount >= 1", name="headcount"),
        sa.Index("ix_service_log_client_date", "client_id", "work_date"),
        sa.Index("ix_service_log_site_date", "site_id", "work_date"),
        sa.Index("ix_service_log_date", "work_date"),
        sa.Index("ix_service_log_contract_date", "contract_id", "work_date"),  # the scorecard, for a contract
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    work_date: Mapped[date] = mapped_column(sa.Date)
    engineers: Mapped[str] = mapped_column(sa.String(200))
    headcount: Mapped[int] = mapped_column(default=1)
    time_in: Mapped[time] = mapped_column(sa.Time)
    time_out: Mapped[time] = mapped_column(sa.Time)
    place: Mapped[str] = mapped_column(sa.String(200))
    work_done: Mapped[str] = mapped_column(sa.Text)
    result: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signed_name: Mapped[str] = mapped_column(sa.String(100), default="")
    signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contract: Mapped[Contract] = relationship()
    client: Mapped[Client] = relationship()
    site: Mapped[Site | None] = relationship()


class CalendarFeed(db.Model):
    """A user's secret calendar address: only the token's SHA-256 is kept; a new one replaces (revokes) the old."""

    __tablename__ = "calendar_feed"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
