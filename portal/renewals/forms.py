from decimal import Decimal

from wtforms import DateField, DecimalField, SelectField, SelectMultipleField, StringField, TextAreaField

from ..forms import Form, MaxLength, Money, Optional, Percent, Present, Required, SelectChoice, Versioned
from ..i18n import _l


class RequestForm(Form):
    years = SelectField(_l("Years"), coerce=int, default=1)
    note = TextAreaField(_l("Note for the vendor"), validators=[Optional(), MaxLength(1000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.years.choices = [
            SelectChoice(1, _l("1 year")),
            SelectChoice(2, _l("2 years")),
            SelectChoice(3, _l("3 years")),
        ]


class LineForm(Versioned):
    # Shown only on a line to be priced (a unit with no price): the price the rate applies to.
    basis = DecimalField(_l("Price of the unit (CNY)"), places=2, validators=[Optional(), Money()])
    rate_percent = DecimalField(
        _l("Rate (percent a year)"),
        places=2,
        validators=[Present(), Percent(message=_l("Use a percentage from 0 to 100."))],
    )
    discount_percent = DecimalField(
        _l("Discount (percent)"),
        places=2,
        default=Decimal(0),
        validators=[Optional(), Percent(Decimal("99.99"), message=_l("Use a percentage from 0 to 99.99."))],
    )
    ceiling = DecimalField(_l("Annual ceiling (CNY)"), places=2, validators=[Optional(), Money()])


class IssueForm(Versioned):
    valid_until = DateField(_l("Valid until"), validators=[Present()])
    terms = TextAreaField(_l("Terms"), validators=[Optional(), MaxLength(4000)])


class AcceptForm(Versioned):
    """Accepting has nothing to type: the version of the quote the client read is all it carries."""


class DeclineForm(Versioned):
    reason = StringField(
        _l("Reason"),
        validators=[Required(_l("Say why you decline, so that the vendor can do better.")), MaxLength(1000)],
    )


class PartForm(Form):
    name_zh = StringField(_l("Name in Chinese"), validators=[Required(), MaxLength(200)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), MaxLength(200)])
    unit_price = DecimalField(_l("Unit price (CNY)"), places=2, validators=[Present(), Money()])
    market_price = DecimalField(_l("Market price (CNY)"), places=2, validators=[Optional(), Money()])
    models = SelectMultipleField(_l("Fits these models"), coerce=int)
