from flask_wtf.file import FileField
from wtforms import DateField
from wtforms.validators import ValidationError

from ..forms import DateRange, Form, Present
from ..i18n import _l

MAX_PERIOD_DAYS = 5 * 366  # longer than five years is not a period of assessment


class PeriodForm(Form):
    """The period of an evidence pack: its first and last day (inclusive)."""

    start = DateField(_l("First day"), validators=[Present(_l("Give the first day, e.g. 2026-01-01.")), DateRange()])
    end = DateField(_l("Last day"), validators=[Present(_l("Give the last day, e.g. 2026-12-31.")), DateRange()])

    def validate_end(self, field):
        if self.start.data and field.data:
            if field.data < self.start.data:
                raise ValidationError(_l("The last day cannot be before the first day."))
            if (field.data - self.start.data).days > MAX_PERIOD_DAYS:
                raise ValidationError(_l("A period is at most five years."))


class VerifyForm(Form):
    file = FileField(_l("The PDF to check"))
