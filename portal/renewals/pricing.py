"""Renewal prices and the amount in Chinese capital numerals: pure functions, exact to the fen.

The bids: annual renewal fee = rate (8%) × the price (the system's transaction price, or a unit's price).
A line may carry a discount and an annual ceiling (年度维护费最高限价). Money is Decimal throughout and is
rounded to the fen, half-up, once: at the line total.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
YEARS = (1, 2, 3)


@dataclass(frozen=True)
class LinePrice:
    annual: Decimal  # before rounding: basis × rate × (1 − discount), capped by the ceiling
    amount: Decimal  # annual × years, rounded half-up to the fen
    capped: bool


def line_price(basis, rate, years, discount=Decimal("0"), ceiling=None):
    """The price of one line of a renewal quote.

    ``basis`` is the price the rate applies to; ``rate`` a yearly fraction (0.08); ``discount`` a fraction
    off (0.05); ``ceiling`` the most one year may cost, or None.
    """
    basis, rate, discount = Decimal(basis), Decimal(rate), Decimal(discount)
    if years not in YEARS:
        raise ValueError(f"a renewal runs 1 to 3 years, not {years}")
    if basis < 0 or rate < 0 or not Decimal(0) <= discount < Decimal(1):
        raise ValueError("basis and rate must not be negative; the discount is a fraction below 1")
    annual = basis * rate * (Decimal(1) - discount)
    capped = ceiling is not None and annual > Decimal(ceiling)
    if capped:
        annual = Decimal(ceiling)
    return LinePrice(annual=annual, amount=(annual * years).quantize(FEN, rounding=ROUND_HALF_UP), capped=capped)


# Why a unit's renewal cannot be priced from what the portal holds (None: it can). A unit is priced on its own
# price (单价); the contract's transaction price (系统成交价) is the price of the whole contract, so it prices only a
# quote for the whole contract, never one unit of it.
NO_UNIT_PRICE = "no_unit_price"
NO_RATE = "no_rate"


def why_unpriced(basis, rate):
    """The reason a line with this basis and rate cannot be priced, or None when ``line_price`` can price it."""
    if basis is None:
        return NO_UNIT_PRICE
    if rate is None:
        return NO_RATE
    return None


def indicative_price(basis, rate, years=1):
    """What renewing costs before any quote: the same computation, no discount, no ceiling."""
    if basis is None:
        return None
    return line_price(basis, rate, years).amount


DIGITS = "零壹贰叁肆伍陆柒捌玖"
IN_GROUP = ("", "拾", "佰", "仟")
GROUPS = ("", "万", "亿", "万亿")


def _group(number):
    """A number 1–9999 in capitals, zeros inside collapsed to one 零, trailing zeros dropped."""
    out, zero = [], False
    for position in range(3, -1, -1):
        digit = number // 10**position % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(DIGITS[digit] + IN_GROUP[position])
    return "".join(out)


def in_words(amount):
    """``rmb_upper(amount)``, or None for an amount too large to write (a quote saved before the portal bounded
    amounts): the page still opens, without the words."""
    try:
        return rmb_upper(amount)
    except (ArithmeticError, ValueError):
        return None


def rmb_upper(amount):
    """An amount of CNY in capital numerals (人民币大写), as on a quote or an invoice.

    12000 → 壹万贰仟元整; 10005.30 → 壹万零伍元叁角; 1.05 → 壹元零伍分; 0 → 零元整.
    """
    amount = Decimal(amount).quantize(FEN, rounding=ROUND_HALF_UP)
    if amount < 0:
        return "负" + rmb_upper(-amount)
    fen_total = int(amount * 100)
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    if yuan >= 10**16:
        raise ValueError("too large")

    text = ""
    if yuan:
        groups = []
        rest, index = yuan, 0
        while rest:
            groups.append((rest % 10000, index))
            rest //= 10000
            index += 1
        parts, need_zero = [], False
        for value, index in reversed(groups):
            if value == 0:
                need_zero = bool(parts)
                continue
            if parts and (need_zero or value < 1000):
                parts.append("零")
            parts.append(_group(value) + GROUPS[index])
            need_zero = False
        text = "".join(parts) + "元"
    if jiao == 0 and fen == 0:
        return (text or "零元") + "整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        text += DIGITS[fen] + "分"
    return text
