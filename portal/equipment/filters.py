"""The equipment list's filters, read from the query string, applied to a scoped query, and written back to URLs.

One object serves the list, the CSV/XLSX export and the label sheet, so they always agree.
"""

from dataclasses import asdict, dataclass

import sqlalchemy as sa

from ..bounds import optional_id
from ..catalog.models import Category, EquipmentModel
from ..pagination import Order
from ..search import matches
from .models import Equipment, Status
from .services import state_filter
from .warranty import LISTED_STATES, WarrantyState

# Each served by an index for the vendor (every unit), a client and a site (models.Equipment's __table_args__).
SORTS = {
    "end": Order("end", (Equipment.covered_until, Equipment.id)),
    "-end": Order("-end", (Equipment.covered_until, Equipment.id), desc=True),
    "serial": Order("serial", (Equipment.serial, Equipment.id)),
    "new": Order("new", (Equipment.id,), desc=True),
}


@dataclass
class EquipmentFilter:
    q: str = ""
    client: int | None = None  # a vendor's: the client first, then one of its sites (portal.choices)
    site: int | None = None
    contract: int | None = None
    model: int | None = None
    category: str = ""
    status: str = ""
    state: str = ""
    sort: str = "end"

    @classmethod
    def from_args(cls, args):
        category = args.get("category", "")
        status = args.get("status", "")
        state = args.get("state", "")
        sort = args.get("sort", "end")
        return cls(
            q=args.get("q", "").strip()[:100],
            client=optional_id(args.get("client")),
            site=optional_id(args.get("site")),
            contract=optional_id(args.get("contract")),
            model=optional_id(args.get("model")),
            category=category if category in Category.__members__.values() else "",
            status=status if status in Status.__members__.values() else "",
            state=state if state in LISTED_STATES else "",
            sort=sort if sort in SORTS else "end",
        )

    def apply(self, query):
        """Narrow a (scoped) select of Equipment. Scoping is the caller's: this only narrows further."""
        if self.q:
            query = query.where(
                matches(self.q, Equipment.serial, Equipment.asset_tag, Equipment.building, Equipment.room)
            )
        if self.client:
            query = query.where(Equipment.client_id == self.client)
        if self.site:
            query = query.where(Equipment.site_id == self.site)
        if self.contract:
            query = query.where(Equipment.contract_id == self.contract)
        if self.model:
            query = query.where(Equipment.model_id == self.model)
        if self.category:
            query = query.where(
                Equipment.model_id.in_(sa.select(EquipmentModel.id).where(EquipmentModel.category == self.category))
            )
        if self.status:
            query = query.where(Equipment.status == self.status)
        if self.state:
            query = state_filter(query, WarrantyState(self.state))
        return query.order_by(*self.order.sql())

    @property
    def order(self):
        return SORTS[self.sort]

    def args(self, **changes):
        """The filter as query arguments (empty ones left out), e.g. for pagination and export links."""
        values = {**asdict(self), **changes}
        if values.get("sort") == "end":
            values.pop("sort")
        return {k: v for k, v in values.items() if v not in (None, "")}

    @property
    def active(self):
        return bool(self.args(sort="end"))
