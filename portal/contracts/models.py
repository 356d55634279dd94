"""Contracts (合同/项目): what a client bought, when it was accepted, and the warranty and renewal terms."""

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..orgs.models import Client
from ..scoping import ClientScoped
from ..types import UTCDateTime, utcnow

MONEY = sa.Numeric(14, 2)  # CNY, exact to the fen
RATE = sa.Numeric(6, 4)  # 0.0800 = 8% a year


class Contract(ClientScoped, db.Model):
    __site_column__ = None  # a contract belongs to the client; a school administrator sees those of their units

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"), index=True)
    number: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    signed_on: Mapped[date | None] = mapped_column(sa.Date)
    accepted_on: Mapped[date | None] = mapped_column(sa.Date)  # 验收合格日期: the warranty starts here
    price: Mapped[Decimal] = mapped_column(MONEY)  # 系统成交价
    warranty_months: Mapped[int] = mapped_column(default=36)
    renewal_rate: Mapped[Decimal] = mapped_column(RATE, default=Decimal("0.08"))
    # 年度维护费最高限价: the most a year of renewal may cost for the whole contract, if the bid names one.
    renewal_ceiling: Mapped[Decimal | None] = mapped_column(MONEY)
    # The quality deposit (质量保证金): a share of the price, returned some months after acceptance if the service
    # was as promised; the scorecard shows the facts the client needs to decide.
    deposit_rate: Mapped[Decimal] = mapped_column(RATE, default=Decimal("0.05"), server_default="0.05")
    deposit_months: Mapped[int] = mapped_column(default=12, server_default="12")
    deposit_returned_on: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship()

    @classmethod
    def scope(cls, query, user):
        """A school administrator sees the contracts that have units at their school."""
        query = super().scope(query, user)
        if user.site_id is not None:
            from ..equipment.models import Equipment

            query = query.where(cls.id.in_(sa.select(Equipment.contract_id).where(Equipment.site_id == user.site_id)))
        return query
