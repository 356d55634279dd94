"""The renewal quote's life: requested → issued → accepted / declined / expired, and nothing else.

Every change is kept as a QuoteEvent (who, when, what). Prices come from pricing.line_price only.
"""

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from babel.lists import format_list
from flask_babel import get_locale

from .. import sweeps
from ..bounds import MONEY_MAX, yuan
from ..equipment import warranty
from ..equipment.models import Equipment
from ..extensions import db
from ..i18n import _l
from ..notify import events as notify
from ..sequence import next_in_year
from ..steps import Refused
from ..types import utcnow
from .models import TRANSITIONS, QuoteCounter, QuoteEvent, QuoteLine, QuoteStatus, RenewalCoverage, RenewalQuote
from .pricing import NO_RATE, NO_UNIT_PRICE, line_price, why_unpriced

MAX_UNITS = 500  # lines in one quote; a whole contract is one line


class QuoteRefused(Refused):
    """A step the quote's state, or the rules, do not allow; ``message`` says why, in the user's language."""


def next_number(year):
    """The next quote number of the year, XB-2026-0001."""
    return f"XB-{year}-{next_in_year(QuoteCounter, year):04d}"


def _event(quote, user, action, detail=""):
    quote.events.append(QuoteEvent(user_id=user.id if user else None, action=action, detail=detail[:1000], at=utcnow()))


def _move(quote, to):
    if QuoteStatus(to) not in TRANSITIONS.get(quote.status_enum, set()):
        raise QuoteRefused(_l("This quote is %(state)s: that step is not possible.", state=quote.status_enum.label))
    quote.status = QuoteStatus(to).value


def check_amounts(amounts):
    """Each line and the total must fit the portal's largest amount (a MONEY column, and well within what
    人民币大写 can write): a quote that would not is refused before it is saved, so every quote can be opened."""
    amounts = list(amounts)
    if any(amount > MONEY_MAX for amount in amounts) or sum(amounts, Decimal(0)) > MONEY_MAX:
        raise QuoteRefused(
            _l(
                "This quote would come to more than %(max)s, the largest amount the portal accepts: "
                "quote fewer units, or lower the rates.",
                max=yuan(MONEY_MAX),
            )
        )


UNPRICED_REASONS = {
    NO_UNIT_PRICE: _l(
        "No price is recorded for this unit, and the contract's transaction price is the price of the "
        "whole contract, not of one unit."
    ),
    NO_RATE: _l("The contract has no renewal rate."),
}


def unpriced_reason(unit):
    """Why the portal cannot price this unit's renewal, in the user's language; None when it can."""
    reason = why_unpriced(unit.unit_price, unit.contract.renewal_rate)
    return UNPRICED_REASONS[reason] if reason else None


def unit_line(unit, years):
    """A unit's line, priced at its contract's rate; a unit the portal cannot price becomes a line to be priced by
    the vendor (no basis, nothing yet to pay), which the quote cannot be issued with."""
    rate = unit.contract.renewal_rate
    line = QuoteLine(
        equipment_id=unit.id,
        contract_id=unit.contract_id,
        rate=rate,
        years=years,
        discount=Decimal(0),
        description=f"{unit.model.label} · {unit.serial}",
    )
    if unpriced_reason(unit):
        line.basis, line.amount = None, Decimal("0.00")
    else:
        line.basis, line.amount = unit.unit_price, line_price(unit.unit_price, rate, years).amount
    return line


def contract_line(contract, years):
    return QuoteLine(
        contract_id=contract.id,
        basis=contract.price,
        rate=contract.renewal_rate,
        years=years,
        discount=Decimal(0),
        description=f"{contract.number} · {contract.title}",
        amount=line_price(contract.price, contract.renewal_rate, years).amount,
    )


def request_quote(user, client_id, years, units=(), contract=None, note="", today=None):
    """A client asks for a quote: for chosen units (one line each) or for a whole contract (one line)."""
    if years not in (1, 2, 3):
        raise QuoteRefused(_l("A renewal runs 1, 2 or 3 years."))
    if contract is None and not units:
        raise QuoteRefused(_l("Choose the units or the contract to renew."))
    if len(units) > MAX_UNITS:
        raise QuoteRefused(_l("At most %(max)d units in one quote; ask for the whole contract instead.", max=MAX_UNITS))
    lines = [contract_line(contract, years)] if contract is not None else [unit_line(u, years) for u in units]
    check_amounts(line.amount for line in lines)
    quote = RenewalQuote(
        number=next_number((today or utcnow().date()).year),
        client_id=client_id,
        contract_id=contract.id if contract else None,
        years=years,
        note=note or "",
        requested_by_id=user.id,
        requested_at=utcnow(),
        lines=lines,
    )
    db.session.add(quote)
    _event(quote, user, "requested", note or "")
    db.session.flush()
    return quote


def update_line(quote, line, by, rate, discount, ceiling, basis=None):
    """The vendor adjusts a line before issuing: rate, discount, annual ceiling, and the price basis of a line to be
    priced (a unit with no price). The amount follows."""
    if quote.status_enum is not QuoteStatus.REQUESTED:
        raise QuoteRefused(_l("An issued quote is frozen: its lines no longer change."))
    if basis is not None and not line.to_be_priced:
        basis = None  # a priced line keeps the basis it was priced on
    if basis is None and line.to_be_priced:
        raise QuoteRefused(_l("Enter the price of %(item)s: it is to be priced by the vendor.", item=line.description))
    basis = line.basis if basis is None else basis
    price = line_price(basis, rate, line.years, discount, ceiling)
    check_amounts([price.amount, *(other.amount for other in quote.lines if other is not line)])
    line.basis, line.rate, line.discount, line.ceiling, line.amount = basis, rate, discount, ceiling, price.amount
    _event(
        quote,
        by,
        "line_changed",
        f"{line.description}: {basis} / {rate} / {discount} / {ceiling or '-'} → {price.amount}",
    )
    db.session.flush()
    return line


def issue(quote, by, valid_until, terms="", today=None):
    today = today or utcnow().date()
    if valid_until < today:
        raise QuoteRefused(_l("The quote must be valid until today or later."))
    waiting = quote.lines_to_be_priced
    if waiting:
        raise QuoteRefused(
            _l(
                "Price every line before issuing the quote: %(items)s still to be priced.",
                items=format_list([line.description for line in waiting], locale=get_locale()),
            )
        )
    check_amounts(line.amount for line in quote.lines)
    _move(quote, QuoteStatus.ISSUED)
    quote.total = quote.lines_total
    quote.valid_until, quote.terms, quote.issued_at = valid_until, terms or "", utcnow()
    _event(quote, by, "issued", f"{quote.total} / {valid_until.isoformat()}")
    db.session.flush()
    notify.quote_issued(quote, by)
    return quote


def covered_units(quote):
    """The units an accepted quote covers: its unit lines, or every unit of the contract quoted whole."""
    ids = [line.equipment_id for line in quote.lines if line.equipment_id]
    query = sa.select(Equipment)
    if quote.contract_id and not ids:
        query = query.where(Equipment.contract_id == quote.contract_id)
    else:
        query = query.where(Equipment.id.in_(ids))
    return db.session.scalars(query.order_by(Equipment.id)).all()


def accept(quote, by, today):
    """The client accepts: each unit is covered from the later of today and its current cover, for the years."""
    if quote.status_enum is QuoteStatus.ISSUED and quote.valid_until < today:
        raise QuoteRefused(_l("This quote expired on %(date)s: ask for a new one.", date=quote.valid_until.isoformat()))
    _move(quote, QuoteStatus.ACCEPTED)
    quote.decided_at = utcnow()
    for unit in covered_units(quote):
        current = warranty.covered_until(unit.warranty_end, unit.renewed_until)
        starts = max(today, current + timedelta(days=1)) if current else today
        # A term of n years from the 14th ends on the 13th: n years of days, not one more.
        ends = warranty.add_months(starts, 12 * quote.years) - timedelta(days=1)
        db.session.add(RenewalCoverage(equipment_id=unit.id, quote_id=quote.id, starts_on=starts, ends_on=ends))
        unit.renewed_until = max(ends, unit.renewed_until or ends)
        unit.covered_until = warranty.covered_until(unit.warranty_end, unit.renewed_until)
    _event(quote, by, "accepted")
    db.session.flush()
    notify.quote_accepted(quote, by)
    return quote


def decline(quote, by, reason, today):
    if quote.status_enum is QuoteStatus.ISSUED and quote.valid_until < today:
        raise QuoteRefused(_l("This quote expired on %(date)s: ask for a new one.", date=quote.valid_until.isoformat()))
    _move(quote, QuoteStatus.DECLINED)
    quote.decided_at, quote.decline_reason = utcnow(), reason
    _event(quote, by, "declined", reason)
    db.session.flush()
    notify.quote_declined(quote, by)
    return quote


def expire_quotes(today=None, batch=None):
    """Issued quotes past their validity become expired, kept in the history: a sweep (``portal.sweeps``), run from
    cron or the job worker; the pages already show such a quote as expired. ``today`` is the deployment's date
    unless given. Returns how many it expired."""
    today = today or sweeps.local_today()
    query = sa.select(RenewalQuote).where(
        RenewalQuote.status == QuoteStatus.ISSUED.value, RenewalQuote.valid_until < today
    )
    return sweeps.in_batches(query, RenewalQuote, RenewalQuote.valid_until, expire, batch or sweeps.BATCH)


def expire(quote):
    _move(quote, QuoteStatus.EXPIRED)
    sweeps.insert_once(
        QuoteEvent,
        ("quote_id", "key"),
        quote_id=quote.id,
        key="expired",
        action="expired",
        detail="",
        at=utcnow(),
        user_id=None,
    )
