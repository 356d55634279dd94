"""The satisfaction survey by link (满意度调查): one question (1–5 and a comment) sent when a fault is closed or a
visit is signed off, answered once without signing in, through an unguessable, expiring token.

Only the token's SHA-256 is kept. A survey belongs to a client (and the site of its ticket or visit): the vendor
sees every answer, a client its own, a school administrator their school's.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..contracts.models import Contract
from ..extensions import db
from ..orgs.models import Client, Site
from ..scoping import ClientScoped
from ..types import UTCDateTime, utcnow


class Survey(ClientScoped, db.Model):
    __tablename__ = "survey"
    __table_args__ = (
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"),
        sa.CheckConstraint("(ticket_id IS NULL) <> (visit_id IS NULL)", name="subject"),
        # The scorecard's satisfaction row: answers in a period, for a client, a contract or a site.
        sa.Index("ix_survey_client_answered", "client_id", "answered_at"),
        sa.Index("ix_survey_contract_answered", "contract_id", "answered_at"),
        sa.Index("ix_survey_site_answered", "site_id", "answered_at"),
        sa.Index("ix_survey_answered", "answered_at"),  # the vendor's overview: every client's answers
        # The list of surveys, newest first: for the vendor, a client, a school.
        sa.Index("ix_survey_created", "created_at", "id"),
        sa.Index("ix_survey_client_created", "client_id", "created_at", "id"),
        sa.Index("ix_survey_site_created", "site_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contract.id"))
    # What it asks about: one closed fault or one signed-off visit, never both; one survey each.
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ticket.id", ondelete="CASCADE"), unique=True)
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visit.id", ondelete="CASCADE"), unique=True)
    recipient_name: Mapped[str] = mapped_column(sa.String(100), default="")
    recipient_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(sa.String(10), default="zh")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column()
    comment: Mapped[str] = mapped_column(sa.Text, default="")

    client: Mapped[Client] = relationship()
    site: Mapped[Site | None] = relationship()
    contract: Mapped[Contract | None] = relationship()
    ticket = relationship("Ticket")
    visit = relationship("Visit")


class SurveyThrottle(db.Model):
    """Requests to the public survey pages per source address and minute, counted in the database so that the
    limit holds across workers and hosts: one row per (address, minute), its ``hits`` raised by an upsert."""

    __tablename__ = "survey_throttle"

    address: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
