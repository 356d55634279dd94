"""An issued document: what was issued (kind, number, client, contract or school, period, language), by whom and
when, and the PDF's SHA-256 and size, its bytes kept in storage (``portal.storage``).

A document is requested by a POST (its row is written at once, ``state`` pending, with its number, which the PDF
names), rendered by the job worker (``services.render_issued``: WeasyPrint takes ~10 s on an idle two-core machine
for a contract with 1,000 tickets in the period, ~95 pages, and over a minute on a loaded one), and then ``done``
with its hash, size and storage key — or ``failed``."""

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..contracts.models import Contract
from ..extensions import db
from ..i18n import _l, is_chinese
from ..orgs.models import Client, Site
from ..scoping import ClientScoped
from ..sequence import YearCounter
from ..types import UTCDateTime, utcnow


class Kind(StrEnum):
    EVIDENCE_PACK = "evidence_pack"
    WARRANTY_CERTIFICATE = "warranty_certificate"

    @property
    def label(self):
        return KIND_LABELS[self]

    @property
    def prefix(self):
        return PREFIXES[self]


KIND_LABELS = {Kind.EVIDENCE_PACK: _l("Evidence pack"), Kind.WARRANTY_CERTIFICATE: _l("Warranty certificate")}
PREFIXES = {Kind.EVIDENCE_PACK: "ZJ", Kind.WARRANTY_CERTIFICATE: "ZB"}  # 证据, 质保


class State(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self):
        return STATE_LABELS[self]


STATE_LABELS = {State.PENDING: _l("Being generated"), State.DONE: _l("Ready"), State.FAILED: _l("Failed")}


class IssuedCounter(YearCounter, db.Model):
    """The last issue number given out in a year (ZJ-2026-00001, ZB-2026-00002: one sequence for both kinds)."""

    __tablename__ = "issued_document_counter"


class IssuedDocument(ClientScoped, db.Model):
    """A PDF the portal issued. Evidence packs belong to the client (``site_id`` NULL: a school administrator does
    not see them); a warranty certificate belongs to its school."""

    __tablename__ = "issued_document"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('evidence_pack', 'warranty_certificate')", name="kind"),
        sa.CheckConstraint("state IN ('pending', 'done', 'failed')", name="state"),
        sa.Index("ix_issued_document_client_requested", "client_id", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(24))
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    state: Mapped[str] = mapped_column(sa.String(10), default=State.PENDING.value)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    period_start: Mapped[date | None] = mapped_column(sa.Date)
    period_end: Mapped[date | None] = mapped_column(sa.Date)  # the last day, inclusive
    language: Mapped[str] = mapped_column(sa.String(10))
    sha256: Mapped[str | None] = mapped_column(sa.String(64), unique=True, index=True)
    size: Mapped[int | None] = mapped_column()
    storage_key: Mapped[str | None] = mapped_column(sa.String(80))
    pages: Mapped[int | None] = mapped_column()
    seconds: Mapped[float | None] = mapped_column(sa.Float)  # how long rendering took
    error: Mapped[str] = mapped_column(sa.String(500), default="")
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    # The issuer's organisation (the vendor, the client, the school) as it was named when the document was issued.
    issuer_org_zh: Mapped[str] = mapped_column(sa.String(200), default="")
    issuer_org_en: Mapped[str] = mapped_column(sa.String(200), default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[Client] = relationship()
    site: Mapped[Site | None] = relationship()
    contract: Mapped[Contract | None] = relationship()
    issued_by: Mapped[User | None] = relationship()

    @property
    def kind_enum(self):
        return Kind(self.kind)

    @property
    def state_enum(self):
        return State(self.state)

    @property
    def is_done(self):
        return self.state == State.DONE.value

    @property
    def issuer_org(self):
        return self.issuer_org_zh if is_chinese() else (self.issuer_org_en or self.issuer_org_zh)

    def filename(self):
        return f"{self.number}.pdf"
