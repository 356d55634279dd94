"""Equipment models (型号): the vendor's catalogue, shared by every client."""

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..i18n import _l, is_chinese
from ..orgs.models import Bilingual


class Category(StrEnum):
    DISPLAY = "display"
    COMPUTER = "computer"
    TOUCH = "touch"
    NETWORK = "network"
    SECURITY = "security"
    PROJECTOR = "projector"
    OTHER = "other"

    @property
    def label(self):
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    Category.DISPLAY: _l("Display"),
    Category.COMPUTER: _l("Computer"),
    Category.TOUCH: _l("Interactive touch panel"),
    Category.NETWORK: _l("Network"),
    Category.SECURITY: _l("Security"),
    Category.PROJECTOR: _l("Projector"),
    Category.OTHER: _l("Other"),
}
CATEGORY_CHECK = "category IN ({})".format(", ".join(f"'{c.value}'" for c in Category))


class EquipmentModel(Bilingual, db.Model):
    __tablename__ = "equipment_model"
    __table_args__ = (
        sa.UniqueConstraint("manufacturer", "model_number", name="uq_equipment_model_manufacturer_number"),
        sa.CheckConstraint(CATEGORY_CHECK, name="category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    manufacturer: Mapped[str] = mapped_column(sa.String(100))  # as the catalogue spells it (希沃)
    manufacturer_en: Mapped[str] = mapped_column(sa.String(100), default="")  # in English (Seewo), if it has one
    model_number: Mapped[str] = mapped_column(sa.String(100))
    category: Mapped[str] = mapped_column(sa.String(20), index=True)
    name_zh: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")

    @property
    def category_enum(self):
        return Category(self.category)

    @property
    def maker(self):
        """The manufacturer in the reader's language: its English name, where it has one, for an English reader."""
        if is_chinese():
            return self.manufacturer
        return self.manufacturer_en or self.manufacturer

    def maker_names(self):
        """Every name the manufacturer is known by here: a file may spell it in either language."""
        return [name for name in (self.manufacturer, self.manufacturer_en) if name]

    @property
    def label(self):
        return f"{self.manufacturer} {self.model_number}"
