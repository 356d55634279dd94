"""Input bounds, in one place: what an id, a page number, a whole number, an amount of money, a percentage, a date
and a piece of text may be, and the checks every request and every form applies.

- Ids (in paths, query strings and forms) are 1 … 2³¹−1, PostgreSQL's ``integer``; the ``int`` URL converter is
  replaced for the whole application, so an id out of range is a 404 on every route.
- Page numbers that are not a number, ≤ 0 or absurdly large are the first page.
- Control characters (C0, DEL, C1: NUL and the like) are refused: in a query string or a path with a 400 page,
  in a form field with a message on the field (multi-line fields keep tab, line feed and carriage return).
- Money is at most ``MONEY_MAX`` (what a ``MONEY`` column holds, and far below what 人民币大写 can write), never
  negative, to the fen; percentages are 0–100 with at most two decimals.
- Dates are within ``DATE_MIN`` … ``DATE_MAX``, so that warranty and schedule arithmetic never overflows.
"""

import itertools
import math
import re
from datetime import date, datetime
from decimal import Decimal

from flask import request
from flask_babel import format_currency, format_decimal
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter
from werkzeug.routing import ValidationError as NoMatch
from wtforms import DecimalField, FloatField, IntegerField, SelectMultipleField, TextAreaField
from wtforms.validators import ValidationError

from .errors import MESSAGES, render_error
from .i18n import _l

ID_MAX = 2**31 - 1  # PostgreSQL integer, the type of every id column
INT_MAX = ID_MAX  # any whole number a form accepts (each field narrows it further)
PAGE_MAX = 1_000_000  # beyond this a page number is nonsense: the first page
MONEY_MAX = Decimal("999999999999.99")  # MONEY = Numeric(14, 2): 12 digits of yuan and the fen
MONEY_PLACES = 2
PERCENT_PLACES = 2  # a percentage / 100 fits RATE = Numeric(6, 4) exactly
DATE_MIN, DATE_MAX = date(1900, 1, 1), date(2200, 12, 31)

_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII digits only: int() would also take ١٢٣, "+1", " 1" and "1_0"
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc: C0, DEL, C1
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # the same, tab, LF and CR allowed


# ---------------------------------------------------------------- whole numbers and ids


def whole_number(value, low=0, high=INT_MAX):
    """``value`` (a string of ASCII digits, or an int) as an int within ``low`` … ``high``; else ValueError.

    Usable as ``type=`` of ``request.args.get`` (a ValueError gives the default) and as a field's ``coerce``."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    else:
        raise ValueError(value)
    if not low <= number <= high:
        raise ValueError(value)
    return number


def db_id(value):
    """An id: 1 … 2³¹−1, else ValueError (``request.args.get("client", type=db_id)`` is then None)."""
    return whole_number(value, 1, ID_MAX)


def optional_id(value):
    """Coerce a select's value to an id; the empty choice, or anything that is not an id, is None."""
    try:
        return db_id(value)
    except (TypeError, ValueError):
        return None


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: ASCII digits, 1 … 2³¹−1; anything else does not match (404)."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits=0, min=1, max=ID_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=False)

    def to_python(self, value):
        if len(value) > len(str(self.max)):  # int() of thousands of digits is slow, then refused anyway
            raise NoMatch()
        return super().to_python(value)


def page_number(args=None):
    """The ``page`` of the query string: a number 1 … PAGE_MAX; anything else is the first page."""
    try:
        return whole_number((args if args is not None else request.args).get("page", "1"), 1, PAGE_MAX)
    except ValueError:
        return 1


def query_date(value):
    """A date of the query string (2026-03-15) within DATE_MIN … DATE_MAX, else None."""
    try:
        day = date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None
    return day if day is not None and DATE_MIN <= day <= DATE_MAX else None


# ---------------------------------------------------------------- text


def has_control(text, multiline=False):
    """True when ``text`` holds a control character (tab, LF and CR allowed in multi-line text)."""
    return bool((CONTROL_IN_TEXT if multiline else CONTROL).search(text))


CONTROL_MESSAGE = _l("Remove the control characters (invisible codes such as NUL) from this field.")
QUERY_MESSAGE = _l(
    "The address holds control characters (invisible codes such as NUL), which the portal does not "
    "accept. Remove them from the address and try again."
)


def refuse_control_characters():
    """Before every request: a query string or a path segment holding a control character is a 400 page."""
    values = [*itertools.chain.from_iterable(request.args.items(multi=True)), *(request.view_args or {}).values()]
    if any(isinstance(v, str) and has_control(v) for v in values):
        return render_error(400, MESSAGES[400][0], QUERY_MESSAGE)
    return None


# ---------------------------------------------------------------- numbers in forms


def decimal_places(value):
    """The number of decimals ``value`` needs: 12.50 → 1, 12.345 → 3, 1E+3 → 0."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def yuan(amount):
    return format_currency(amount, "CNY")


class Money:
    """An amount of CNY in a form: not negative, at most MONEY_MAX (or ``maximum``), to the fen.

    An empty field passes (``Optional()`` or ``Present()`` decide whether it may be empty)."""

    def __init__(self, maximum=MONEY_MAX, negative_message=None):
        self.maximum = Decimal(maximum)
        self.negative_message = negative_message
        self.field_flags = {"min": 0, "max": str(self.maximum)}

    def __call__(self, form, field):
        value = field.data
        if value is None:
            return
        if value < 0:
            raise ValidationError(self.negative_message or _("The price cannot be negative."))
        if value > self.maximum:
            raise ValidationError(_("The largest amount the portal accepts is %(max)s.", max=yuan(self.maximum)))
        if decimal_places(value) > MONEY_PLACES:
            raise ValidationError(_("Give the amount to the fen: at most 2 decimals."))


class Percent:
    """A percentage in a form: 0 … ``maximum`` with at most two decimals (8.25 %)."""

    def __init__(self, maximum=Decimal(100), message=None):
        self.maximum = Decimal(maximum)
        self.message = message
        self.field_flags = {"min": 0, "max": str(self.maximum)}

    def __call__(self, form, field):
        value = field.data
        if value is None:
            return
        if not Decimal(0) <= value <= self.maximum:
            raise ValidationError(
                self.message or _("Use a percentage from 0 to %(max)s.", max=format_decimal(self.maximum))
            )
        if decimal_places(value) > PERCENT_PLACES:
            raise ValidationError(_("Use at most 2 decimals in a percentage."))


class DateRange:
    """A date in a form within ``low`` … ``high`` (by default the portal's DATE_MIN … DATE_MAX)."""

    def __init__(self, low=DATE_MIN, high=DATE_MAX, message=None):
        self.low, self.high, self.message = low, high, message

    def __call__(self, form, field):
        value = field.data
        if value is None:
            return
        day = value.date() if isinstance(value, datetime) else value
        if not self.low <= day <= self.high:
            raise ValidationError(
                self.message
                or _("Give a date from %(low)s to %(high)s.", low=self.low.isoformat(), high=self.high.isoformat())
            )


def check_field(field):
    """The bounds every form field gets without asking (``portal.forms.Form`` applies them): no control
    characters; no choice sent twice; a number or a date the field's own validators left unbounded is bounded
    all the same.

    Returns the message for the field, or None."""
    multiline = isinstance(field, TextAreaField)
    texts = [field.data] if isinstance(field.data, str) else []
    texts += [v for v in (field.raw_data or ()) if isinstance(v, str)]
    if any(has_control(t, multiline) for t in texts):
        return CONTROL_MESSAGE
    if field.errors:  # the field's own message says enough
        return None
    if isinstance(field, SelectMultipleField) and len(set(field.raw_data or ())) < len(field.raw_data or ()):
        return _("Choose each option at most once.")  # else thousands of copies of one choice pass its check
    value = field.data
    if isinstance(field, IntegerField) and isinstance(value, int) and not -INT_MAX <= value <= INT_MAX:
        return _("Use a number from %(low)s to %(high)s.", low=format_decimal(-INT_MAX), high=format_decimal(INT_MAX))
    if (
        isinstance(field, (DecimalField, FloatField))
        and value is not None
        and not (math.isfinite(value) and abs(value) <= MONEY_MAX)
    ):
        return _(
            "Use a number from %(low)s to %(high)s.", low=format_decimal(-MONEY_MAX), high=format_decimal(MONEY_MAX)
        )
    day = value.date() if isinstance(value, datetime) else value
    if isinstance(day, date) and not DATE_MIN <= day <= DATE_MAX:
        return _("Give a date from %(low)s to %(high)s.", low=DATE_MIN.isoformat(), high=DATE_MAX.isoformat())
    return None


def check_number_parsed(field):
    """Before validation: a decimal field that parsed to NaN or Infinity (Decimal takes both) is not a number."""
    if isinstance(field, DecimalField) and isinstance(field.data, Decimal) and not field.data.is_finite():
        field.data = None
        message = _("Enter a number, like 12800 or 12800.50.")
        if message not in field.process_errors:
            field.process_errors.append(message)


def init_app(app):
    """Before the blueprints are registered: the bounded ``int`` converter; the query-string check."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_control_characters)
