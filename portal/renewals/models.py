"""Renewal quotes (续保报价), their lines and history, the coverage they give, and the spare-parts price list."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..catalog.models import EquipmentModel
from ..contracts.models import MONEY, RATE, Contract
from ..equipment.models import Equipment
from ..extensions import db
from ..i18n import _l, _lp
from ..orgs.models import Bilingual, Client
from ..scoping import ClientScoped
from ..sequence import YearCounter
from ..steps import HasVersion
from ..types import UTCDateTime, utcnow


class QuoteStatus(StrEnum):
    REQUESTED = "requested"
    ISSUED = "issued"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"

    @property
    def label(self):
        return QUOTE_LABELS[self]

    @property
    def tone(self):
        return QUOTE_TONES[self]


QUOTE_LABELS = {
    QuoteStatus.REQUESTED: _l("Requested"),
    QuoteStatus.ISSUED: _l("Issued"),
    QuoteStatus.ACCEPTED: _l("Accepted"),
    QuoteStatus.DECLINED: _l("Declined"),
    QuoteStatus.EXPIRED: _lp("quote", "Expired"),
}
QUOTE_TONES = {
    QuoteStatus.REQUESTED: "warning",
    QuoteStatus.ISSUED: "info",
    QuoteStatus.ACCEPTED: "success",
    QuoteStatus.DECLINED: "muted",
    QuoteStatus.EXPIRED: "danger",
}
# The only moves a quote makes; anything else is refused.
TRANSITIONS = {
    QuoteStatus.REQUESTED: {QuoteStatus.ISSUED},
    QuoteStatus.ISSUED: {QuoteStatus.ACCEPTED, QuoteStatus.DECLINED, QuoteStatus.EXPIRED},
}
QUOTE_CHECK = "status IN ({})".format(", ".join(f"'{s.value}'" for s in QuoteStatus))


class QuoteCounter(YearCounter, db.Model):
    """The last quote number given out in a year: numbers are unique and never reused."""

    __tablename__ = "quote_counter"


class RenewalQuote(HasVersion, ClientScoped, db.Model):
    __tablename__ = "renewal_quote"
    __table_args__ = (
        sa.CheckConstraint(QUOTE_CHECK, name="status"),
        sa.Index("ix_renewal_quote_client_status", "client_id", "status"),
        sa.Index("ix_renewal_quote_status_requested", "status", "requested_at"),
        sa.Index("ix_renewal_quote_client_issued", "client_id", "issued_at"),  # the scorecard: quotes issued
    )
    __site_column__ = None

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"))
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contract.id"), index=True)  # a whole contract
    status: Mapped[str] = mapped_column(sa.String(12), default=QuoteStatus.REQUESTED.value)
    years: Mapped[int] = mapped_column()
    note: Mapped[str] = mapped_column(sa.String(1000), default="")  # the client's, with the request
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[date | None] = mapped_column(sa.Date)
    terms: Mapped[str] = mapped_column(sa.Text, default="")
    total: Mapped[Decimal | None] = mapped_column(MONEY)  # frozen when issued
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decline_reason: Mapped[str] = mapped_column(sa.String(1000), default="")

    client: Mapped[Client] = relationship()
    contract: Mapped[Contract | None] = relationship()
    requested_by: Mapped[User | None] = relationship()
    lines: Mapped[list["QuoteLine"]] = relationship(
        back_populates="quote", order_by="QuoteLine.id", cascade="all, delete-orphan"
    )
    events: Mapped[list["QuoteEvent"]] = relationship(
        back_populates="quote", order_by="QuoteEvent.at", cascade="all, delete-orphan"
    )

    @property
    def status_enum(self):
        return QuoteStatus(self.status)

    # The status as it is on ``today``: an issued quote past its validity is expired, whether or not the sweep has
    # recorded it yet (the pages show it so, the list filters on it, and it can no longer be accepted or declined).
    @hybrid_method
    def status_on(self, today):
        if self.status == QuoteStatus.ISSUED.value and self.valid_until is not None and self.valid_until < today:
            return QuoteStatus.EXPIRED.value
        return self.status

    @status_on.expression
    def status_on(cls, today):
        return sa.case(
            (sa.and_(cls.status == QuoteStatus.ISSUED.value, cls.valid_until < today), QuoteStatus.EXPIRED.value),
            else_=cls.status,
        )

    def status_enum_on(self, today):
        return QuoteStatus(self.status_on(today))

    @property
    def lines_to_be_priced(self):
        return [line for line in self.lines if line.to_be_priced]

    @property
    def lines_total(self):
        """The sum of the lines (frozen into ``total`` when the quote is issued)."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))


class QuoteLine(db.Model):
    """One unit, or one whole contract, with its price basis and terms; amount frozen when the quote is issued."""

    __tablename__ = "quote_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(sa.ForeignKey("renewal_quote.id", ondelete="CASCADE"), index=True)
    equipment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("equipment.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contract.id"))
    description: Mapped[str] = mapped_column(sa.String(300))
    # None: a unit with no price, asked for all the same; the vendor manager prices it before the quote is issued.
    basis: Mapped[Decimal | None] = mapped_column(MONEY)
    rate: Mapped[Decimal] = mapped_column(RATE)
    discount: Mapped[Decimal] = mapped_column(RATE, default=Decimal("0"))
    ceiling: Mapped[Decimal | None] = mapped_column(MONEY)
    years: Mapped[int] = mapped_column()
    amount: Mapped[Decimal] = mapped_column(MONEY)  # 0 while the line is to be priced

    quote: Mapped[RenewalQuote] = relationship(back_populates="lines")

    @property
    def to_be_priced(self):
        """A line the vendor manager must price before the quote can be issued."""
        return self.basis is None

    equipment: Mapped[Equipment | None] = relationship()
    contract: Mapped[Contract | None] = relationship()


class QuoteEvent(db.Model):
    """The history of a quote: every change with who and when."""

    __tablename__ = "quote_event"
    # An event that happens once in a quote's life (its expiry) carries a key, kept unique by the database.
    __table_args__ = (sa.UniqueConstraint("quote_id", "key", name="uq_quote_event_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(sa.ForeignKey("renewal_quote.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(20))
    detail: Mapped[str] = mapped_column(sa.String(1000), default="")
    key: Mapped[str | None] = mapped_column(sa.String(40))  # "expired"; None: any number

    quote: Mapped[RenewalQuote] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()


class RenewalCoverage(db.Model):
    """The period an accepted quote covers a unit: in-warranty terms apply again within it."""

    __tablename__ = "renewal_coverage"

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(sa.ForeignKey("equipment.id", ondelete="CASCADE"), index=True)
    quote_id: Mapped[int] = mapped_column(sa.ForeignKey("renewal_quote.id"), index=True)
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)

    quote: Mapped[RenewalQuote] = relationship()
    equipment: Mapped[Equipment] = relationship()


part_model = sa.Table(
    "spare_part_model",
    db.metadata,
    sa.Column("part_id", sa.ForeignKey("spare_part.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("model_id", sa.ForeignKey("equipment_model.id", ondelete="CASCADE"), primary_key=True),
)


class SparePart(Bilingual, db.Model):
    """The vendor's price list of spare parts and consumables, shown to every client."""

    __tablename__ = "spare_part"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    market_price: Mapped[Decimal | None] = mapped_column(MONEY)

    models: Mapped[list[EquipmentModel]] = relationship(secondary=part_model, order_by=EquipmentModel.model_number)

    @property
    def discount(self):
        """How much below the market price, as a fraction (0.09 = 9% below), or None."""
        if not self.market_price:
            return None
        return (self.market_price - self.unit_price) / self.market_price
