from decimal import Decimal

from wtforms import DateField, DecimalField, IntegerField, SelectField, StringField
from wtforms.validators import NumberRange

from ..forms import Form, MaxLength, Money, Optional, Percent, Present, Required, optional_id
from ..i18n import _l


class ContractForm(Form):
    client = SelectField(_l("Client"), coerce=optional_id, validators=[Required(_l("Choose the client."))])
    number = StringField(_l("Contract number"), validators=[Required(), MaxLength(64)])
    title = StringField(_l("Title"), validators=[Required(), MaxLength(200)])
    signed_on = DateField(_l("Signed on"), validators=[Optional()])
    accepted_on = DateField(
        _l("Accepted on"),
        validators=[Optional()],
        description=_l("The date of final acceptance (验收合格日期): every unit's warranty starts here."),
    )
    price = DecimalField(
        _l("Transaction price (CNY)"),
        places=2,
        validators=[Present(), Money()],
    )
    warranty_months = IntegerField(
        _l("Warranty term (months)"),
        default=36,
        validators=[Present(), NumberRange(min=1, max=240, message=_l("Use a number of months from 1 to 240."))],
    )
    renewal_percent = DecimalField(
        _l("Renewal rate (percent of the price per year)"),
        places=2,
        default=Decimal("8"),
        validators=[Present(), Percent(message=_l("Use a percentage from 0 to 100."))],
    )

    renewal_ceiling = DecimalField(
        _l("Renewal ceiling (CNY a year, optional)"),
        places=2,
        validators=[Optional(), Money(negative_message=_l("The ceiling cannot be negative."))],
        description=_l(
            "The most a year of renewal may cost for the whole contract, if the bid names one (年度维护费最高限价)."
        ),
    )
    deposit_percent = DecimalField(
        _l("Quality deposit (percent of the price)"),
        places=2,
        default=Decimal("5"),
        validators=[Optional(), Percent(message=_l("Use a percentage from 0 to 100."))],
        description=_l("Empty: 5 %, the bids' figure."),
    )
    deposit_months = IntegerField(
        _l("Deposit returned after (months from acceptance)"),
        default=12,
        validators=[Optional(), NumberRange(min=0, max=120, message=_l("Use a number of months from 0 to 120."))],
        description=_l("Empty: 12 months."),
    )
    deposit_returned_on = DateField(_l("Deposit returned on"), validators=[Optional()])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.signed_on.data and self.accepted_on.data and self.accepted_on.data < self.signed_on.data:
            self.accepted_on.errors.append(_l("Acceptance cannot come before signing."))
            ok = False
        if (
            self.deposit_returned_on.data
            and self.signed_on.data
            and self.deposit_returned_on.data < self.signed_on.data
        ):
            self.deposit_returned_on.errors.append(_l("The deposit cannot be returned before the contract is signed."))
            ok = False
        return ok
