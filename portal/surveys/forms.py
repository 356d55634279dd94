"""The survey's one question: a rating from 1 to 5 and a comment."""
from wtforms import RadioField, TextAreaField

from ..forms import Form, MaxLength, Optional, Present, SelectChoice, optional_id
from ..i18n import _l

COMMENT_MAX = 2000


class SurveyForm(Form):
    rating = RadioField(_l("How satisfied are you with our service?"), coerce=optional_id,
                        validators=[Present(_l("Choose a rating from 1 to 5."))])
    comment = TextAreaField(_l("Anything you would like to tell us? (optional)"),
                            validators=[Optional(), MaxLength(COMMENT_MAX)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rating.choices = [
            SelectChoice(5, _l("5 · Very satisfied")), SelectChoice(4, _l("4 · Satisfied")),
            SelectChoice(3, _l("3 · Acceptable")), SelectChoice(2, _l("2 · Dissatisfied")),
            SelectChoice(1, _l("1 · Very dissatisfied")),
        ]
