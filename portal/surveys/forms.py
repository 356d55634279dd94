"""The survey's one question: a rating from 1 to 5 and a comment."""

from wtforms import TextAreaField

from ..forms import Form, MaxLength, Optional, RatingField
from ..i18n import _l

COMMENT_MAX = 2000


class SurveyForm(Form):
    rating = RatingField(_l("How satisfied are you with our service?"))
    comment = TextAreaField(
        _l("Anything you would like to tell us? (optional)"), validators=[Optional(), MaxLength(COMMENT_MAX)]
    )
