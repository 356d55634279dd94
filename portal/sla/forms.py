from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField

from ..forms import Form, MaxLength, Optional, Present, Required, SelectChoice
from .models import DayKind


class CalendarDayForm(Form):
    day = DateField(_l("Date"), validators=[Present()])
    kind = SelectField(_l("Kind"), validators=[Required()])
    name_zh = StringField(_l("Name in Chinese"), validators=[Required(), MaxLength(100)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), MaxLength(100)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice(DayKind.HOLIDAY.value, _l("Day off (holiday)")),
                             SelectChoice(DayKind.WORKDAY.value, _l("Working day (swapped, 调休)"))]
