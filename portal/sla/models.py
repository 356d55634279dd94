"""The holiday calendar as data the vendor manager sees and corrects: days off, swapped working days, and
which years' schedules are confirmed (the State Council publishes the next year's late in the year)."""
from datetime import date, datetime
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
