from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import NumberRange

from ..equipment.warranty import STOPPED_WORK_DAYS
from ..forms import Form, MaxLength, Optional, RatingField, Required, SelectChoice, Versioned, optional_id
from ..i18n import _l
from .models import SEVERITY_LABELS, Channel, Kind


def severity_choices():
    return [SelectChoice(code, label) for code, label in SEVERITY_LABELS.items()]


def kind_choices(unknown=True):
    return [SelectChoice(k.value, k.label) for k in Kind if unknown or k is not Kind.UNKNOWN]


class FileForm(Form):
    unit = HiddenField()
    site = SelectField(_l("Site"), coerce=optional_id, validate_choice=False)
    equipment_text = StringField(
        _l("Equipment (if not registered)"),
        validators=[Optional(), MaxLength(300)],
        description=_l("Model, serial number and where it is."),
    )
    severity = RadioField(_l("Severity"), validators=[Required(_l("Choose how serious the fault is."))])
    kind = SelectField(_l("Kind of problem"), default=Kind.UNKNOWN.value)
    title = StringField(
        _l("Summary"),
        validators=[Required(_l("Say in a few words what is wrong.")), MaxLength(200)],
        description=_l("For example: the screen in room 302 stays black."),
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Required(_l("Describe the fault: what happens, since when, what you tried.")), MaxLength(5000)],
    )
    contact_name = StringField(_l("Contact person"), validators=[Required(), MaxLength(100)])
    contact_phone = StringField(
        _l("Contact phone"), validators=[Required(_l("Give a phone number the engineer can call.")), MaxLength(50)]
    )
    channel = SelectField(_l("Reported by"), default=Channel.PORTAL.value)
    photos = MultipleFileField(_l("Photos"), description=_l("Up to 5 JPEG or PNG photos, 5 MB each."))

    def __init__(self, *args, vendor=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.severity.choices = severity_choices()
        self.kind.choices = kind_choices()
        channels = list(Channel) if vendor else [Channel.PORTAL]
        self.channel.choices = [SelectChoice(c.value, c.label) for c in channels]


class TextForm(Versioned):
    """One text and the version: responses, proposals, replies, notes, reasons."""

    body = TextAreaField(_l("Text"), validators=[Required(_l("Write something first.")), MaxLength(5000)])

    def __init__(self, *args, label=None, message=None, **kwargs):
        super().__init__(*args, **kwargs)
        if label is not None:
            self.body.label.text = label
        if message is not None:
            self.body.validators[0].message = message


class ArriveForm(Versioned):
    body = TextAreaField(_l("Note"), validators=[Optional(), MaxLength(5000)])
    scan = HiddenField()


class ResolveForm(Versioned):
    problem_kind = SelectField(_l("Kind of problem"))
    cause = TextAreaField(_l("Cause"), validators=[Required(_l("Say what caused the fault.")), MaxLength(5000)])
    solution = TextAreaField(_l("Solution"), validators=[Required(_l("Say what was done to fix it.")), MaxLength(5000)])
    loss = TextAreaField(
        _l("Assessment of the loss caused"),
        validators=[Optional(), MaxLength(5000)],
        description=_l("Downtime, lessons or data lost; “none” if none."),
    )
    part = SelectField(_l("Part replaced"), coerce=optional_id, validate_choice=False)
    part_text = StringField(
        _l("Other part"),
        validators=[Optional(), MaxLength(300)],
        description=_l("A part that is not on the price list."),
    )
    quantity = IntegerField(
        _l("Quantity"),
        default=1,
        validators=[Optional(), NumberRange(min=1, max=999, message=_l("Use a whole number from 1 to 999."))],
    )
    work_stopped = BooleanField(
        _l("The fault could not be resolved and stopped work (+%(days)s days of warranty)", days=STOPPED_WORK_DAYS)
    )

    def __init__(self, *args, parts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.problem_kind.choices = kind_choices(unknown=False)
        self.part.choices = [SelectChoice("", _l("No part replaced"))] + [SelectChoice(p.id, p.name) for p in parts]


class ConfirmForm(Versioned):
    rating = RatingField(_l("Your rating"))
    comment = TextAreaField(_l("Comment"), validators=[Optional(), MaxLength(1000)])


class AssignForm(Versioned):
    assignee = SelectField(_l("Assignee"), coerce=optional_id, validate_choice=False)


class SeverityForm(Versioned):
    severity = SelectField(_l("Severity"))
    body = StringField(_l("Reason"), validators=[Required(_l("Say why the severity changes.")), MaxLength(500)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.severity.choices = severity_choices()


class CoverageForm(Versioned):
    excluded = BooleanField(_l("Excluded from the warranty (billable)"))
    body = StringField(
        _l("Reason"),
        validators=[Optional(), MaxLength(500)],
        description=_l("For example: damage caused by people, or by a power surge."),
    )

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.excluded.data and not self.body.data:
            self.body.errors = [*self.body.errors, _l("Say why the repair is excluded.")]
            return False
        return ok


class LoanForm(Versioned):
    spare = StringField(
        _l("Spare unit"), validators=[Required(_l("Name the spare unit: model and serial number.")), MaxLength(300)]
    )
    body = StringField(_l("Note"), validators=[Optional(), MaxLength(1000)])


class ReturnForm(Versioned):
    body = StringField(_l("Note"), validators=[Optional(), MaxLength(1000)])
