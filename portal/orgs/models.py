"""The vendor that runs the deployment, its service team, its clients and their sites."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from ..extensions import db
from ..i18n import is_chinese
from ..scoping import ClientScoped
from ..types import UTCDateTime, utcnow


class Bilingual:
    """Models with ``name_zh`` and ``name_en``: ``name`` is the one for the active language."""

    @property
    def name(self):
        if is_chinese():
            return self.name_zh
        return self.name_en or self.name_zh


class Vendor(Bilingual, db.Model):
    """The one vendor running this deployment: its names and 7×24 hotline appear on every page."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    hotline: Mapped[str] = mapped_column(sa.String(50), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="")

    team: Mapped[list["TeamMember"]] = relationship(
        back_populates="vendor", order_by="TeamMember.position, TeamMember.id", cascade="all, delete-orphan"
    )

    @classmethod
    def current(cls):
        """The vendor row, or an unsaved placeholder before the portal is set up."""
        return db.session.scalar(sa.select(cls).order_by(cls.id).limit(1)) or cls(name_zh="", name_en="")


class TeamMember(db.Model):
    """A member of the published service team: name, role, phone (from the bid's service chapter)."""

    __tablename__ = "team_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    role_zh: Mapped[str] = mapped_column(sa.String(100))
    role_en: Mapped[str] = mapped_column(sa.String(100), default="")
    phone: Mapped[str] = mapped_column(sa.String(50), default="")
    position: Mapped[int] = mapped_column(default=0)

    vendor: Mapped[Vendor] = relationship(back_populates="team")

    @property
    def role(self):
        return self.role_zh if is_chinese() else (self.role_en or self.role_zh)


class Client(Bilingual, ClientScoped, db.Model):
    """A procuring organisation (采购人), e.g. a district education bureau."""

    __client_column__ = "id"
    __site_column__ = None

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(200), unique=True)
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    contact_name: Mapped[str] = mapped_column(sa.String(100), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(50), default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sites: Mapped[list["Site"]] = relationship(back_populates="client", order_by="Site.name_zh")
    # Filled by list queries with ``with_expression`` (one query for the page, not one per row).
    site_count: Mapped[int | None] = query_expression()
    user_count: Mapped[int | None] = query_expression()


class Site(Bilingual, ClientScoped, db.Model):
    """A using unit (使用单位) of a client: a school or a department where equipment stands."""

    __table_args__ = (sa.UniqueConstraint("client_id", "name_zh", name="uq_site_client_name"),)
    __site_column__ = "id"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"), index=True)
    name_zh: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")
    contact_name: Mapped[str] = mapped_column(sa.String(100), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(50), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship(back_populates="sites")
