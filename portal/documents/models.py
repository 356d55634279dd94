"""Documents (资料): manuals, white papers, letters of authorisation, technical plans, acceptance reports…

A document concerns one equipment model, one contract, or everyone; its versions are kept, the newest is the one
offered first, and every download is recorded (who, when, which version).
"""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..catalog.models import EquipmentModel
from ..contracts.models import Contract
from ..extensions import db
from ..i18n import _l, is_chinese
from ..scoping import ClientScoped
from ..types import UTCDateTime, utcnow


class Kind(StrEnum):
    INSTALLATION = "installation"
    USER = "user"
    MAINTENANCE = "maintenance"
    WHITE_PAPER = "white_paper"
    AUTHORISATION = "authorisation"
    TECHNICAL_PLAN = "technical_plan"
    ACCEPTANCE = "acceptance"
    TRAINING = "training"
    OTHER = "other"

    @property
    def label(self):
        return KIND_LABELS[self]

    @property
    def icon(self):
        return KIND_ICONS[self]


class Language(StrEnum):
    ZH = "zh"
    EN = "en"
    BOTH = "both"

    @property
    def label(self):
        return LANGUAGE_LABELS[self]


class Target(StrEnum):
    """What a document concerns: it decides who sees it."""

    MODEL = "model"
    CONTRACT = "contract"
    GENERAL = "general"

    @property
    def label(self):
        return TARGET_LABELS[self]


KIND_LABELS = {
    Kind.INSTALLATION: _l("Installation manual"),
    Kind.USER: _l("User manual"),
    Kind.MAINTENANCE: _l("Maintenance manual"),
    Kind.WHITE_PAPER: _l("White paper"),
    Kind.AUTHORISATION: _l("Letter of authorisation"),
    Kind.TECHNICAL_PLAN: _l("Technical plan"),
    Kind.ACCEPTANCE: _l("Acceptance report"),
    Kind.TRAINING: _l("Training material"),
    Kind.OTHER: _l("Other"),
}
KIND_ICONS = {
    Kind.INSTALLATION: "tools",
    Kind.USER: "book",
    Kind.MAINTENANCE: "wrench-adjustable",
    Kind.WHITE_PAPER: "file-earmark-richtext",
    Kind.AUTHORISATION: "patch-check",
    Kind.TECHNICAL_PLAN: "diagram-3",
    Kind.ACCEPTANCE: "clipboard-check",
    Kind.TRAINING: "mortarboard",
    Kind.OTHER: "file-earmark",
}
LANGUAGE_LABELS = {Language.ZH: _l("Chinese"), Language.EN: _l("English"), Language.BOTH: _l("Chinese and English")}
TARGET_LABELS = {
    Target.MODEL: _l("An equipment model"),
    Target.CONTRACT: _l("A contract"),
    Target.GENERAL: _l("Everyone (general)"),
}
MANUALS = (Kind.INSTALLATION, Kind.USER, Kind.MAINTENANCE)


def _check(column, enum):
    return sa.CheckConstraint("{} IN ({})".format(column, ", ".join(f"'{m.value}'" for m in enum)), name=column)


class Document(ClientScoped, db.Model):
    __table_args__ = (
        _check("kind", Kind),
        _check("language", Language),
        # One target at most: a model, a contract, or neither (everyone).
        sa.CheckConstraint("model_id IS NULL OR contract_id IS NULL", name="one_target"),
        # Lists: the newest first, for everyone (vendor) and by target (a unit's page, a client's contracts).
        sa.Index("ix_document_withdrawn_updated", "withdrawn", "updated_at"),
        sa.Index("ix_document_model_updated", "model_id", "updated_at"),
        sa.Index("ix_document_contract_updated", "contract_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), index=True)
    title_zh: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200), default="")
    language: Mapped[str] = mapped_column(sa.String(4))  # of the file itself
    description: Mapped[str] = mapped_column(sa.Text, default="")
    model_id: Mapped[int | None] = mapped_column(sa.ForeignKey("equipment_model.id"))
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contract.id"))
    # The newest version, the one offered by default (kept here so that lists need no subquery).
    current_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("document_version.id", use_alter=True, name="fk_document_current_id", ondelete="SET NULL")
    )
    withdrawn: Mapped[bool] = mapped_column(default=False)  # hidden from clients, kept with its history
    download_count: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the newest version's upload

    model: Mapped[EquipmentModel | None] = relationship()
    contract: Mapped[Contract | None] = relationship()
    current: Mapped["DocumentVersion | None"] = relationship(foreign_keys=[current_id], post_update=True)
    versions: Mapped[list["DocumentVersion"]] = relationship(
        back_populates="document",
        foreign_keys="DocumentVersion.document_id",
        order_by="DocumentVersion.seq.desc()",
        cascade="all, delete-orphan",
    )
    created_by: Mapped[User | None] = relationship()

    @property
    def title(self):
        if is_chinese():
            return self.title_zh
        return self.title_en or self.title_zh

    @property
    def kind_enum(self):
        return Kind(self.kind)

    @property
    def language_enum(self):
        return Language(self.language)

    @property
    def target(self):
        if self.model_id:
            return Target.MODEL
        if self.contract_id:
            return Target.CONTRACT
        return Target.GENERAL

    @classmethod
    def scope(cls, query, user):
        """What a user may see. Vendor staff: everything. A client's users: the general documents, those of the
        models their client owns and of their client's contracts, not withdrawn. A school administrator: the same
        for the units of their school (the contracts with units there)."""
        if user.is_vendor:
            return query
        from ..equipment.models import Equipment

        owned = sa.select(Equipment.model_id).where(Equipment.client_id == user.client_id)
        if user.site_id is not None:
            owned = owned.where(Equipment.site_id == user.site_id)
        contracts = Contract.scope(sa.select(Contract.id), user)
        return query.where(
            cls.withdrawn.is_(False),
            sa.or_(
                sa.and_(cls.model_id.is_(None), cls.contract_id.is_(None)),
                cls.model_id.in_(owned),
                cls.contract_id.in_(contracts),
            ),
        )


class DocumentVersion(db.Model):
    """One uploaded file of a document. ``seq`` counts 1, 2, 3…; ``label`` is the version as printed (V2.1)."""

    __tablename__ = "document_version"
    __table_args__ = (
        sa.UniqueConstraint("document_id", "seq", name="uq_document_version_seq"),
        sa.UniqueConstraint("document_id", "label", name="uq_document_version_label"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("document.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column()
    label: Mapped[str] = mapped_column(sa.String(40))
    note: Mapped[str] = mapped_column(sa.String(500), default="")  # what changed
    filename: Mapped[str] = mapped_column(sa.String(255))  # as uploaded, shown and used for the download
    file_type: Mapped[str] = mapped_column(sa.String(10))  # pdf, docx, … found from the content
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    download_count: Mapped[int] = mapped_column(default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    document: Mapped[Document] = relationship(back_populates="versions", foreign_keys=[document_id])
    uploaded_by: Mapped[User | None] = relationship()


class DocumentDownload(db.Model):
    """One download: who fetched which version, when."""

    __tablename__ = "document_download"
    __table_args__ = (sa.Index("ix_document_download_document_at", "document_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("document.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("document_version.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    version: Mapped[DocumentVersion] = relationship()
    user: Mapped[User | None] = relationship()
