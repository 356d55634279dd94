from wtforms import BooleanField, IntegerField
from wtforms.validators import NumberRange

from ..auth.passwords import CLASSES, MIN_LENGTH_FLOOR
from ..forms import Present, Versioned
from ..i18n import _l


def Between(low, high):
    return NumberRange(
        min=low, max=high, message=_l("Enter a whole number from %(min)d to %(max)d.", min=low, max=high)
    )


class PolicyForm(Versioned):
    min_length = IntegerField(
        _l("Minimum password length"),
        validators=[Present(), Between(MIN_LENGTH_FLOOR, 64)],
        description=_l("Characters (any language). Never less than %(n)d.", n=MIN_LENGTH_FLOOR),
    )
    classes_required = IntegerField(
        _l("Character classes required"),
        validators=[Present(), Between(1, CLASSES)],
        description=_l(
            "How many of: lower-case letters, upper-case letters, digits, symbols. Chinese characters count as letters."
        ),
    )
    history_count = IntegerField(
        _l("Earlier passwords that cannot be used again"),
        validators=[Present(), Between(0, 24)],
        description=_l("The current one counts. 0: no history."),
    )
    expiry_days = IntegerField(
        _l("Password expiry (days)"),
        validators=[Present(), Between(0, 3650)],
        description=_l("A password older than this must be changed at the next sign-in. 0: never."),
    )
    second_factor_for_everyone = BooleanField(
        _l("Require two-step sign-in for everyone"),
        description=_l("Vendor staff and the three administrators always need it; this adds the client users."),
    )
    grace_days = IntegerField(
        _l("Days allowed to set up two-step sign-in"),
        validators=[Present(), Between(0, 365)],
        description=_l(
            "Counted from the account's creation (or from when the requirement started). 0: at the first sign-in."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self:
            if isinstance(field, IntegerField):
                field.render_kw = {"inputmode": "numeric"}
