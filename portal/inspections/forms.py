from datetime import date

from flask_babel import format_date
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import NumberRange, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import Form, MaxLength, Optional, Present, RatingField, Required, SelectChoice, Versioned, optional_id
from ..i18n import _l, _lp
from .models import Frequency, Method, VisitKind


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PlanForm(Form):
    frequency = SelectField(_l("Preventive inspections"), validators=[Required()])
    months = CheckboxesField(
        _l("Months of the inspections"),
        coerce=int,
        validate_choice=False,
        description=_l("Each on the 15th. Leave empty for the frequency's usual months."),
    )
    phone_visits = IntegerField(
        _l("Phone visits a year"),
        validators=[Present(_l("Give a number from 0 to 12.")), NumberRange(0, 12, _l("Give a number from 0 to 12."))],
    )
    return_visits = BooleanField(_l("Quarterly return visits from one month after acceptance"))
    end_of_life = BooleanField(_l("A full inspection within the 3 months before the end of the service period"))
    sites = CheckboxesField(
        _l("Sites inspected"),
        coerce=int,
        validate_choice=False,
        description=_l("None chosen: every site with units of this contract."),
    )

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.frequency.choices = [SelectChoice(f.value, f.label) for f in Frequency]
        self.months.choices = [SelectChoice(m, format_date(date(2026, m, 1), "MMM")) for m in range(1, 13)]
        self.sites.choices = [SelectChoice(s.id, s.name) for s in sites]
        self._site_ids = {s.id for s in sites}

    def validate_months(self, field):
        if any(m not in range(1, 13) for m in field.data or []):
            raise ValidationError(_l("Choose months from 1 to 12."))

    def validate_sites(self, field):
        if any(s not in self._site_ids for s in field.data or []):
            raise ValidationError(_l("Choose among the client's sites."))


class ExtraVisitForm(Form):
    contract = SelectField(
        _l("Contract"), coerce=optional_id, validate_choice=False, validators=[Present(_l("Choose the contract."))]
    )
    site = SelectField(_l("Site"), coerce=optional_id, validate_choice=False)
    kind = SelectField(_l("Kind"), validators=[Required()])
    due_on = DateField(_l("Planned for"), validators=[Present(_l("Give the date, e.g. 2026-03-15."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice(k.value, k.label) for k in VisitKind]


class RecordForm(Versioned):
    done_on = DateField(_l("Date of the visit"), validators=[Present(_l("Give the date, e.g. 2026-03-15."))])
    method = RadioField(_l("How"), validators=[Required(_l("Say how the visit was made."))])
    engineers = StringField(_l("Engineers"), validators=[Required(_l("Name the engineers.")), MaxLength(200)])
    hardware = TextAreaField(_l("Hardware check"), validators=[Optional(), MaxLength(5000)])
    software = TextAreaField(_l("Software check"), validators=[Optional(), MaxLength(5000)])
    risks = TextAreaField(_l("Risk analysis"), validators=[Optional(), MaxLength(5000)])
    recommendations = TextAreaField(_l("Recommendations"), validators=[Optional(), MaxLength(5000)])
    attachments = MultipleFileField(
        _l("Attachments"),
        description=_l("Photos (JPEG, PNG) or the signed paper report (PDF), up to 5 files of 5 MB each."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.method.choices = [SelectChoice(m.value, m.label) for m in Method]


class SignForm(Versioned):
    name = StringField(_l("Your name, as signature"), validators=[Required(_l("Sign with your name.")), MaxLength(100)])
    satisfaction = RatingField(_l("Your satisfaction"))
    comment = TextAreaField(_l("Comment"), validators=[Optional(), MaxLength(1000)])


class DisputeForm(Versioned):
    reason = TextAreaField(
        _l("What is wrong in this record?"),
        validators=[Required(_l("Say what is wrong, so that the vendor can correct it.")), MaxLength(2000)],
    )


class LogForm(Form):
    contract = SelectField(
        _l("Contract"), coerce=optional_id, validate_choice=False, validators=[Present(_l("Choose the contract."))]
    )
    site = SelectField(_l("Site"), coerce=optional_id, validate_choice=False)
    work_date = DateField(_l("Date"), validators=[Present(_l("Give the date, e.g. 2026-03-15."))])
    engineers = StringField(_l("Engineers"), validators=[Required(_l("Name the engineers.")), MaxLength(200)])
    headcount = IntegerField(
        _l("Headcount"),
        validators=[Present(_l("Give the number of people.")), NumberRange(1, 200, _l("Give a number from 1 to 200."))],
    )
    time_in = TimeField(_l("Time in"), validators=[Present(_l("Give the time, e.g. 08:30."))])
    time_out = TimeField(_l("Time out"), validators=[Present(_l("Give the time, e.g. 17:30."))])
    place = StringField(_lp("work", "Place"), validators=[Required(_l("Say where the work was done.")), MaxLength(200)])
    work_done = TextAreaField(_l("Work done"), validators=[Required(_l("Describe the work done.")), MaxLength(5000)])
    result = TextAreaField(_l("Result"), validators=[Optional(), MaxLength(2000)])

    def validate_time_out(self, field):
        if field.data and self.time_in.data and field.data <= self.time_in.data:
            raise ValidationError(_l("The time out must be after the time in."))


class LogSignForm(Versioned):
    name = StringField(_l("Your name, as signature"), validators=[Required(_l("Sign with your name.")), MaxLength(100)])
