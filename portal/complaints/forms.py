from flask_wtf.file import MultipleFileField
from wtforms import SelectField, TextAreaField

from ..forms import Form, MaxLength, Optional, Present, RatingField, Required, SelectChoice, Versioned, optional_id
from ..i18n import _l
from .models import Category


class ComplaintForm(Form):
    ticket = SelectField(_l("About the fault report"), coerce=optional_id, validate_choice=False)
    site = SelectField(_l("Site"), coerce=optional_id, validate_choice=False)
    category = SelectField(_l("Category"), validators=[Required(_l("Choose what the complaint is about."))])
    description = TextAreaField(
        _l("Your complaint"), validators=[Required(_l("Say what went wrong and what you expect.")), MaxLength(5000)]
    )
    attachments = MultipleFileField(
        _l("Attachments"), description=_l("Up to 3 photos (JPEG, PNG) or PDF files, 5 MB each.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [SelectChoice("", _l("Choose…"))] + [SelectChoice(c.value, c.label) for c in Category]


class AssignForm(Versioned):
    handler = SelectField(
        _l("Handler"),
        coerce=optional_id,
        validate_choice=False,
        validators=[Present(_l("Choose who answers this complaint."))],
    )


class AnswerForm(Versioned):
    body = TextAreaField(_l("Answer"), validators=[Required(_l("Write the answer to the client.")), MaxLength(5000)])


class CloseForm(Versioned):
    rating = RatingField(_l("Your satisfaction"))
    body = TextAreaField(_l("Comment"), validators=[Optional(), MaxLength(1000)])


class RejectForm(Versioned):
    body = TextAreaField(
        _l("Why are you not satisfied?"),
        validators=[Required(_l("Say why the answer does not satisfy you.")), MaxLength(5000)],
    )
