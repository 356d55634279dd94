"""The holiday calendar as data the vendor manager sees and corrects: days off, swapped working days, and
which years' schedules are confirmed (the State Council publishes the next year's late in the year)."""

from datetime import date, datetime, time
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..extensions import db
from ..orgs.models import Bilingual
from ..types import UTCDateTime, utcnow


class DayKind(StrEnum):
    HOLIDAY = "holiday"  # a day off (法定节假日), although it may be a weekday
    WORKDAY = "workday"  # a working day (调休上班), although it is a weekend


class CalendarDay(Bilingual, db.Model):
    __tablename__ = "calendar_day"
    __table_args__ = (sa.CheckConstraint("kind IN ('holiday', 'workday')", name="kind"),)

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(100), default="")
    source: Mapped[str] = mapped_column(sa.String(20), default="manual")  # "library" or "manual"
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    updated_by: Mapped[User | None] = relationship()


class CalendarYear(db.Model):
    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    confirmed: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(sa.String(20), default="manual")
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    updated_by: Mapped[User | None] = relationship()


class Severity(StrEnum):
    """Fault severity from the bids: A critical (一级) … D low (四级)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class Clock(StrEnum):
    ALWAYS = "24x7"  # 7×24: every minute counts
    WORKING = "working"  # working hours on working days (e.g. 5×8), China's calendar


# The bids' promises, for every severity until the vendor manager relaxes them: a substantive response in
# 30 minutes, a solution proposal in 1 hour, on site in 2 hours, fixed (or a spare unit lent) in 48 hours.
BID_TARGETS = {"response": 30, "proposal": 60, "on_site": 120, "resolution": 48 * 60}
TARGETS = tuple(BID_TARGETS)


class SlaPolicy(db.Model):
    """A contract's service levels: the clock, the working hours, and the targets per severity."""

    __tablename__ = "sla_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), unique=True)
    clock: Mapped[str] = mapped_column(sa.String(10), default=Clock.ALWAYS.value)
    day_starts: Mapped[time] = mapped_column(sa.Time, default=time(9, 0))
    day_ends: Mapped[time] = mapped_column(sa.Time, default=time(17, 0))
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    targets: Mapped[list["SlaTarget"]] = relationship(
        back_populates="policy", order_by="SlaTarget.severity", cascade="all, delete-orphan"
    )

    def target(self, severity):
        return next(t for t in self.targets if t.severity == Severity(severity).value)


class SlaTarget(db.Model):
    """Minutes allowed for each clock of a fault of one severity under one policy."""

    __tablename__ = "sla_target"
    __table_args__ = (sa.UniqueConstraint("policy_id", "severity", name="uq_sla_target_policy_severity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(sa.ForeignKey("sla_policy.id", ondelete="CASCADE"), index=True)
    severity: Mapped[str] = mapped_column(sa.String(1))
    response: Mapped[int] = mapped_column()
    proposal: Mapped[int] = mapped_column()
    on_site: Mapped[int] = mapped_column()
    resolution: Mapped[int] = mapped_column()

    policy: Mapped[SlaPolicy] = relationship(back_populates="targets")


def default_policy(contract_id):
    """A policy with the bids' figures for every severity, 7×24."""
    return SlaPolicy(
        contract_id=contract_id,
        clock=Clock.ALWAYS.value,
        day_starts=time(9, 0),
        day_ends=time(17, 0),
        targets=[SlaTarget(severity=s.value, **BID_TARGETS) for s in Severity],
    )
