import re
from datetime import date, timedelta

from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import NumberRange, ValidationError

from ..forms import DateRange, Form, MaxLength, Optional, Present, Required, SelectChoice
from ..i18n import _l
from .models import TARGETS, Clock, DayKind, Severity
from .notice import MAX_DAYS as MAX_HOLIDAY_DAYS

CALENDAR_YEARS = (2000, 2100)  # the holiday calendar's pages and days


class CalendarDayForm(Form):
    day = DateField(
        _l("Date"),
        validators=[
            Present(),
            DateRange(
                date(CALENDAR_YEARS[0], 1, 1),
                date(CALENDAR_YEARS[1], 12, 31),
                _l("The calendar holds the years 2000 to 2100."),
            ),
        ],
    )
    kind = SelectField(_l("Kind"), validators=[Required()])
    name_zh = StringField(_l("Name in Chinese"), validators=[Required(), MaxLength(100)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), MaxLength(100)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [
            SelectChoice(DayKind.HOLIDAY.value, _l("Day off (holiday)")),
            SelectChoice(DayKind.WORKDAY.value, _l("Working day (swapped, 调休)")),
        ]


YEARS_MESSAGE = _l("The calendar holds the years 2000 to 2100.")
MAX_WORKDAYS = 10
DATE_TEXT = re.compile(r"(\d{4})(?:[-/.](\d{1,2})[-/.](\d{1,2})|年(\d{1,2})月(\d{1,2})日)")


def dates_in(text):
    """The dates of a list such as "2027-02-06, 2027-02-20" or "2027年2月6日 2027/2/20": [date], or the first piece
    that is not a date (a str)."""
    found = []
    for piece in re.split(r"[\s,，、;；]+", text or ""):
        if not piece:
            continue
        match = DATE_TEXT.fullmatch(piece)
        try:
            found.append(
                date(int(match.group(1)), int(match.group(2) or match.group(4)), int(match.group(3) or match.group(5)))
            )
        except (AttributeError, ValueError):
            return piece
    return found


class HolidayRangeForm(Form):
    """A holiday as the State Council's notice gives it: a name, its days off (first to last), and the weekend
    days worked in exchange (调休上班)."""

    name_zh = StringField(
        _l("Name in Chinese"),
        validators=[Required(), MaxLength(100)],
        description=_l("As the notice names it, e.g. 春节."),
    )
    name_en = StringField(_l("Name in English"), validators=[Optional(), MaxLength(100)])
    first = DateField(
        _l("First day off"),
        validators=[
            Present(),
            DateRange(date(CALENDAR_YEARS[0], 1, 1), date(CALENDAR_YEARS[1], 12, 31), YEARS_MESSAGE),
        ],
    )
    last = DateField(
        _l("Last day off"),
        validators=[
            Present(),
            DateRange(date(CALENDAR_YEARS[0], 1, 1), date(CALENDAR_YEARS[1], 12, 31), YEARS_MESSAGE),
        ],
    )
    workdays = StringField(
        _l("Swapped working days (调休上班)"),
        validators=[Optional(), MaxLength(200)],
        description=_l("Weekend days worked in exchange, e.g. 2027-02-06, 2027-02-20; leave empty if there are none."),
    )

    def validate_workdays(self, field):
        found = dates_in(field.data)
        if isinstance(found, str):
            raise ValidationError(_l("“%(text)s” is not a date: write dates like 2027-02-06.", text=found))
        if len(found) > MAX_WORKDAYS:
            raise ValidationError(_l("Give at most %(max)d working days.", max=MAX_WORKDAYS))
        if any(not CALENDAR_YEARS[0] <= d.year <= CALENDAR_YEARS[1] for d in found):
            raise ValidationError(YEARS_MESSAGE)
        self.workday_dates = sorted(set(found))

    def validate(self, extra_validators=None):
        self.workday_dates = []
        ok = super().validate(extra_validators)
        first, last = self.first.data, self.last.data
        if ok and last < first:
            self.last.errors.append(_l("The last day off cannot be before the first."))
            return False
        if ok and (last - first).days >= MAX_HOLIDAY_DAYS:
            self.last.errors.append(_l("A holiday lasts at most %(max)d days.", max=MAX_HOLIDAY_DAYS))
            return False
        if ok and any(first <= d <= last for d in self.workday_dates):
            self.workdays.errors.append(_l("A swapped working day cannot fall between the first and the last day off."))
            return False
        return ok

    @property
    def days_off(self):
        return [self.first.data + timedelta(days=n) for n in range((self.last.data - self.first.data).days + 1)]


class NoticeForm(Form):
    """The State Council's notice pasted as text: previewed first, saved when ``confirmed`` is sent."""

    year = IntegerField(
        _l("Year"),
        validators=[Present(), NumberRange(min=CALENDAR_YEARS[0], max=CALENDAR_YEARS[1], message=YEARS_MESSAGE)],
        description=_l("When the text names its year (2027年部分节假日安排), that year is used."),
    )
    text = TextAreaField(
        _l("The notice's text"),
        validators=[Required(), MaxLength(10000)],
        description=_l(
            "Paste the notice, or just its items, e.g. 一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。"
        ),
    )
    confirmed = HiddenField()


class SlaPolicyForm(Form):
    """The clock, the working hours, and minutes per severity and target (fields ``A_response`` … ``D_resolution``)."""

    clock = SelectField(_l("Clock"))
    day_starts = TimeField(_l("Working day starts"), validators=[Present()])
    day_ends = TimeField(_l("Working day ends"), validators=[Present()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.clock.choices = [
            SelectChoice(Clock.ALWAYS.value, _l("7×24: every minute counts")),
            SelectChoice(Clock.WORKING.value, _l("Working hours on working days (China's calendar)")),
        ]

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
        setattr(
            SlaPolicyForm,
            f"{_severity.value}_{_target}",
            IntegerField(
                TARGET_LABELS[_target],
                validators=[
                    Present(),
                    NumberRange(min=1, max=60 * 24 * 60, message=_l("Use minutes from 1 to 86400 (60 days).")),
                ],
            ),
        )
