"""Registering units and keeping their derived warranty end right. Views call these and commit once."""

import sqlalchemy as sa
from flask import current_app

from ..bounds import DATE_MAX
from ..contracts.models import Contract
from ..extensions import db
from ..i18n import local_today
from . import warranty
from .models import Equipment, WarrantyExtension
from .warranty import WarrantyState


class SerialTaken(Exception):
    pass


def refresh_warranty(unit, contract=None):
    """Derive the unit's end date from its start, term and extensions (the one place that sets it)."""
    contract = contract or db.session.get(Contract, unit.contract_id)
    days = sum(e.days for e in unit.extensions) if unit.id is not None else unit.extension_days or 0
    unit.extension_days = days
    unit.warranty_end = warranty.warranty_end(unit.effective_start(contract), unit.effective_months(contract), days)
    unit.covered_until = warranty.covered_until(unit.warranty_end, unit.renewed_until)
    return unit


def refresh_contract(contract):
    """After a contract's acceptance date or term changes, re-derive the end date of each of its units."""
    units = db.session.scalars(sa.select(Equipment).where(Equipment.contract_id == contract.id))
    for unit in units:
        unit.warranty_end = warranty.warranty_end(
            unit.effective_start(contract), unit.effective_months(contract), unit.extension_days
        )
        unit.covered_until = warranty.covered_until(unit.warranty_end, unit.renewed_until)
    db.session.flush()


def serial_taken(model_id, serial, exclude_id=None):
    q = sa.select(Equipment.id).where(Equipment.model_id == model_id, Equipment.serial == serial)
    if exclude_id is not None:
        q = q.where(Equipment.id != exclude_id)
    return db.session.scalar(q.limit(1)) is not None


FIELDS = (
    "site_id",
    "model_id",
    "serial",
    "asset_tag",
    "building",
    "room",
    "installed_on",
    "warranty_start",
    "warranty_months",
    "unit_price",
    "status",
)


def save_unit(unit, contract, **values):
    """Create or update a unit: the client comes from the contract, never from the form."""
    if serial_taken(values["model_id"], values["serial"], exclude_id=unit.id):
        raise SerialTaken(values["serial"])
    unit.contract_id = contract.id
    unit.client_id = contract.client_id
    for name in FIELDS:
        setattr(unit, name, values.get(name))
    unit.asset_tag, unit.building, unit.room = unit.asset_tag or "", unit.building or "", unit.room or ""
    if unit.id is None:
        db.session.add(unit)
    refresh_warranty(unit, contract)
    db.session.flush()
    return unit


def extension_fits(unit, days):
    """Whether ``days`` more keep the unit's warranty end within the portal's dates (DATE_MAX)."""
    contract = db.session.get(Contract, unit.contract_id)
    try:
        end = warranty.warranty_end(
            unit.effective_start(contract), unit.effective_months(contract), (unit.extension_days or 0) + days
        )
    except OverflowError:
        return False
    return end is None or end <= DATE_MAX


def extend_warranty(unit, days, reason, by=None, cause_kind=None, cause_id=None):
    """Add days to a unit's warranty, visibly: the extension is kept with its reason, who and when."""
    extension = WarrantyExtension(
        equipment=unit,
        days=days,
        reason=reason,
        created_by_id=by.id if by else None,
        cause_kind=cause_kind,
        cause_id=cause_id,
    )
    db.session.add(extension)
    db.session.flush()
    refresh_warranty(unit)
    db.session.flush()
    return extension


def state_filter(query, wanted, today=None):
    """Narrow a select of Equipment to the units in the ``wanted`` warranty state today."""
    today = today or local_today()
    days = current_app.config["WARRANTY_EXPIRING_DAYS"]
    if wanted == WarrantyState.PENDING:
        return query.where(Equipment.covered_until.is_(None))
    low, high = warranty.covered_bounds(wanted, today, days)
    if low is not None:
        query = query.where(Equipment.covered_until >= low)
    if high is not None:
        query = query.where(Equipment.covered_until <= high)
    if wanted == WarrantyState.RENEWED:
        query = query.where(Equipment.renewed_until >= today)
    elif wanted == WarrantyState.IN_WARRANTY:
        query = query.where(sa.or_(Equipment.renewed_until.is_(None), Equipment.renewed_until < today))
    return query


def count_by_state(query, today=None):
    """{state: units} for a (scoped) select of Equipment, in one query."""
    rows = db.session.execute(
        query.with_only_columns(state_case(today).label("state"), sa.func.count()).group_by(sa.literal_column("state"))
    ).all()
    return dict(rows)


def state_case(today=None, pending=None, covered=None, renewed=None):
    """A SQL expression giving each unit's warranty state, for counting by state in one query. Another table that
    holds the same two dates (the tallies, ``tally.state_of``) passes its ``pending`` condition and its columns."""
    today = today or local_today()
    covered = Equipment.covered_until if covered is None else covered
    renewed = Equipment.renewed_until if renewed is None else renewed
    pending = covered.is_(None) if pending is None else pending
    days = current_app.config["WARRANTY_EXPIRING_DAYS"]
    _, expiring_high = warranty.covered_bounds(WarrantyState.EXPIRING, today, days)
    return sa.case(
        (pending, WarrantyState.PENDING.value),
        (covered < today, WarrantyState.EXPIRED.value),
        (covered <= expiring_high, WarrantyState.EXPIRING.value),
        (renewed >= today, WarrantyState.RENEWED.value),
        else_=WarrantyState.IN_WARRANTY.value,
    )
