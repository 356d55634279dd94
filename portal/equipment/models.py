"""Equipment (设备): every unit, where it stands, and the extensions of its warranty."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..catalog.models import EquipmentModel
from ..contracts.models import MONEY, Contract
from ..extensions import db
from ..i18n import _l
from ..orgs.models import Site
from ..scoping import ClientScoped
from ..search import searchable
from ..types import UTCDateTime, utcnow
from . import warranty


class Status(StrEnum):
    IN_SERVICE = "in_service"
    UNDER_REPAIR = "under_repair"
    SPARE_ON_LOAN = "spare_on_loan"
    REPLACED = "replaced"
    RETIRED = "retired"

    @property
    def label(self):
        return STATUS_LABELS[self]

    @property
    def tone(self):
        return STATUS_TONES[self]


STATUS_LABELS = {
    Status.IN_SERVICE: _l("In service"),
    Status.UNDER_REPAIR: _l("Under repair"),
    Status.SPARE_ON_LOAN: _l("Spare on loan"),
    Status.REPLACED: _l("Replaced"),
    Status.RETIRED: _l("Retired"),
}
STATUS_TONES = {
    Status.IN_SERVICE: "success",
    Status.UNDER_REPAIR: "warning",
    Status.SPARE_ON_LOAN: "info",
    Status.REPLACED: "muted",
    Status.RETIRED: "muted",
}
STATUS_CHECK = "status IN ({})".format(", ".join(f"'{s.value}'" for s in Status))


class Equipment(ClientScoped, db.Model):
    __table_args__ = (
        # The serial number is unique per manufacturer and model (a model is one manufacturer's).
        sa.UniqueConstraint("model_id", "serial", name="uq_equipment_model_serial"),
        sa.CheckConstraint(STATUS_CHECK, name="status"),
        # The lists filter by client or site, and filter and sort by the end of the coverage.
        sa.Index("ix_equipment_client_covered", "client_id", "covered_until", "id"),
        sa.Index("ix_equipment_site_covered", "site_id", "covered_until", "id"),
        sa.Index("ix_equipment_covered", "covered_until", "id"),  # the vendor's list: every client
        # The list's other sorts (by serial number, the newest first) for a client and a site: the vendor's are the
        # serial number's index and the primary key. Each index ends with the id, the tie-breaker of every sort, so
        # that a page is one index range (portal/pagination.py).
        sa.Index("ix_equipment_client_serial", "client_id", "serial", "id"),
        sa.Index("ix_equipment_site_serial", "site_id", "serial", "id"),
        sa.Index("ix_equipment_client_id", "client_id", "id"),
        sa.Index("ix_equipment_site_id", "site_id", "id"),
        sa.Index("ix_equipment_serial", "serial"),
        sa.Index("ix_equipment_asset_tag", "asset_tag"),
        # "The models a client (or a school) owns", for the documents they see: answered from the index alone.
        sa.Index("ix_equipment_client_model", "client_id", "model_id"),
        sa.Index("ix_equipment_site_model", "site_id", "model_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"))
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"))
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    model_id: Mapped[int] = mapped_column(sa.ForeignKey("equipment_model.id"), index=True)
    serial: Mapped[str] = mapped_column(sa.String(100))
    asset_tag: Mapped[str] = mapped_column(sa.String(100), default="")
    building: Mapped[str] = mapped_column(sa.String(100), default="")
    room: Mapped[str] = mapped_column(sa.String(100), default="")
    installed_on: Mapped[date | None] = mapped_column(sa.Date)
    # Set only where this unit differs from its contract (acceptance date, term in months).
    warranty_start: Mapped[date | None] = mapped_column(sa.Date)
    warranty_months: Mapped[int | None] = mapped_column()
    unit_price: Mapped[Decimal | None] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(sa.String(20), default=Status.IN_SERVICE.value, index=True)
    # Derived by services.refresh_warranty() from start, term and extensions, never edited by hand;
    # kept on the row so that lists can filter and sort by it with an index.
    extension_days: Mapped[int] = mapped_column(default=0)
    warranty_end: Mapped[date | None] = mapped_column(sa.Date)
    # The last day an accepted renewal covers, and the later of it and the warranty end (what "covered" means).
    renewed_until: Mapped[date | None] = mapped_column(sa.Date)
    covered_until: Mapped[date | None] = mapped_column(sa.Date)
    # The same fault again after two resolved repairs: replaced unconditionally (无条件更换). Set by the ticket
    # that found it (no foreign key: tickets point at units), cleared when the vendor records the replacement.
    replacement_due_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replacement_ticket_id: Mapped[int | None] = mapped_column()
    replacement_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replacement_note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    contract: Mapped[Contract] = relationship()
    site: Mapped[Site] = relationship()
    model: Mapped[EquipmentModel] = relationship()
    extensions: Mapped[list["WarrantyExtension"]] = relationship(
        back_populates="equipment", order_by="WarrantyExtension.created_at", cascade="all, delete-orphan"
    )

    @property
    def status_enum(self):
        return Status(self.status)

    @property
    def place(self):
        return " ".join(part for part in (self.building, self.room) if part)

    def effective_start(self, contract=None):
        contract = contract or self.contract
        return self.warranty_start or contract.accepted_on

    def effective_months(self, contract=None):
        contract = contract or self.contract
        return self.warranty_months or contract.warranty_months

    def warranty_state(self, today, expiring_days):
        return warranty.state(self.warranty_end, today, expiring_days, renewed_until=self.renewed_until)

    def days_left(self, today):
        return warranty.days_left(self.covered_until, today)

    @property
    def renewed_beyond_warranty(self):
        """A renewal covers the unit past its warranty's own end: pages show that cover as a fact of its own."""
        return self.renewed_until is not None and (self.warranty_end is None or self.renewed_until > self.warranty_end)


# The list's search box, and finding a unit while filing a fault report.
searchable(Equipment, "serial", "asset_tag", "building", "room")


class WarrantyExtension(db.Model):
    """Days added to a unit's warranty, with the reason and, optionally, what caused it (e.g. a fault report)."""

    __tablename__ = "warranty_extension"
    # The scorecard: the extension granted for a fault (cause "ticket", its id).
    __table_args__ = (sa.Index("ix_warranty_extension_cause", "cause_kind", "cause_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(sa.ForeignKey("equipment.id", ondelete="CASCADE"), index=True)
    days: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.String(500))
    cause_kind: Mapped[str | None] = mapped_column(sa.String(32))  # e.g. "ticket", filled by later features
    cause_id: Mapped[int | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    equipment: Mapped[Equipment] = relationship(back_populates="extensions")
    created_by: Mapped[User | None] = relationship()


class ImportBatch(db.Model):
    """An uploaded file between its preview and its confirmation (in the database: any worker may confirm it)."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    row_count: Mapped[int] = mapped_column()
    payload: Mapped[str] = mapped_column(sa.Text)  # JSON: {"header": [...], "rows": [[...], ...]}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
