"""The scorecard's filters: a GET form (no token, nothing written), each bad value with its own message."""

from wtforms import DateField, SelectField, StringField
from wtforms import Form as PlainForm
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

from ..bounds import DateRange, db_id, has_control
from ..i18n import _l

PERIOD_KINDS = (
    ("month", _l("Month")),
    ("quarter", _l("Quarter")),
    ("year", _l("Year")),
    ("service_year", _l("Contract service year")),
    ("custom", _l("Custom dates")),
)
VALUE_HINTS = {
    "month": _l("e.g. 2026-10"),
    "quarter": _l("e.g. 2026-Q3"),
    "year": _l("e.g. 2025"),
    "service_year": _l("1, 2, 3 …"),
    "custom": "",
}
VALUE_MAX = 20


class AnId:
    """Empty, or an id (1 … 2³¹−1); anything else is refused with ``message``."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if field.data in (None, ""):
            field.data = None
            return
        try:
            field.data = db_id(field.data)
        except (TypeError, ValueError):
            field.data = None
            raise ValidationError(self.message) from None


def short_text(form, field):
    value = field.data or ""
    if len(value) > VALUE_MAX or has_control(value):
        raise ValidationError(_l("Give the period like the example beside the field."))


class ScorecardFilter(PlainForm):
    """Read from the query string: ``ScorecardFilter(request.args)``; ``validate()`` then gives each field's errors."""

    client = StringField(_l("Client"), validators=[AnId(_l("Choose a client from the list."))])
    contract = StringField(_l("Contract"), validators=[AnId(_l("Choose a contract from the list."))])
    site = StringField(_l("Site"), validators=[AnId(_l("Choose a site from the list."))])
    period = SelectField(
        _l("Period"),
        choices=[SelectChoice(k, label) for k, label in PERIOD_KINDS],
        default="month",
        validate_choice=False,
    )
    value = StringField(_l("Which one"), validators=[short_text])
    start = DateField(_l("From"), validators=[Optional(), DateRange(message=_l("Give a date from 2000 to 2100."))])
    end = DateField(
        _l("To (inclusive)"), validators=[Optional(), DateRange(message=_l("Give a date from 2000 to 2100."))]
    )

    def validate_period(self, field):
        if field.data not in {kind for kind, _label in PERIOD_KINDS}:
            field.data = "month"
            raise ValidationError(_l("Choose a period from the list."))

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        for name in ("start", "end"):
            field = getattr(self, name)
            if field.raw_data and field.raw_data[0] and field.data is None:
                field.errors = [_l("Give a date like 2026-10-31.")]
                ok = False
        return ok

    def args(self, **changes):
        """The query string that asks for this scorecard again (for links: evidence, pages, trends)."""
        values = {
            "client": self.client.data,
            "contract": self.contract.data,
            "site": self.site.data,
            "period": self.period.data,
            "value": self.value.data or None,
            "start": self.start.data.isoformat() if self.start.data else None,
            "end": self.end.data.isoformat() if self.end.data else None,
            **changes,
        }
        return {k: v for k, v in values.items() if v not in (None, "")}
