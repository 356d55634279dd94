from datetime import date

from wtforms import DateField, IntegerField, SelectField, StringField, TimeField
from wtforms.validators import NumberRange

from ..forms import DateRange, Form, MaxLength, Optional, Present, Required, SelectChoice
from ..i18n import _l
from .models import TARGETS, Clock, DayKind, Severity


CALENDAR_YEARS = (2000, 2100)  # the holiday calendar's pages and days


class CalendarDayForm(Form):
    day = DateField(_l("Date"), validators=[Present(), DateRange(
        date(CALENDAR_YEARS[0], 1, 1), date(CALENDAR_YEARS[1], 12, 31), _l("The calendar holds the years 2000 to 2100."))])
    kind = SelectField(_l("Kind"), validators=[Required()])
    name_zh = StringField(_l("Name in Chinese"), validators=[Required(), MaxLength(100)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), MaxLength(100)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice(DayKind.HOLIDAY.value, _l("Day off (holiday)")),
                             SelectChoice(DayKind.WORKDAY.value, _l("Working day (swapped, 调休)"))]


class SlaPolicyForm(Form):
    """The clock, the working hours, and minutes per severity and target (fields ``A_response`` … ``D_resolution``)."""

    clock = SelectField(_l("Clock"))
    day_starts = TimeField(_l("Working day starts"), validators=[Present()])
    day_ends = TimeField(_l("Working day ends"), validators=[Present()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.clock.choices = [SelectChoice(Clock.ALWAYS.value, _l("7×24: every minute counts")),
                              SelectChoice(Clock.WORKING.value, _l("Working hours on working days (China's calendar)"))]

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.day_starts.data and self.day_ends.data and self.day_ends.data <= self.day_starts.data:
            self.day_ends.errors.append(_l("The working day must end after it starts."))
            ok = False
        for severity in Severity:
            fields = [self[f"{severity.value}_{target}"] for target in TARGETS]
            values = [f.data for f in fields]
            if all(v is not None for v in values) and values != sorted(values):
                fields[-1].errors.append(_l("Each target must be no shorter than the one before it."))
                ok = False
        return ok


TARGET_LABELS = {
    "response": _l("Response"),
    "proposal": _l("Solution proposal"),
    "on_site": _l("On site"),
    "resolution": _l("Fixed or spare unit"),
}
for _severity in Severity:
    for _target in TARGETS:
        setattr(SlaPolicyForm, f"{_severity.value}_{_target}", IntegerField(
            TARGET_LABELS[_target],
            validators=[Present(), NumberRange(min=1, max=60 * 24 * 60, message=_l("Use minutes from 1 to 86400 (60 days)."))],
        ))
