"""Shared form pieces: the base form, and validators with messages in the user's language."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, Optional, ValidationError

from . import bounds
from .bounds import DateRange, Money, Percent, optional_id
from .i18n import _l
from .steps import new_token

__all__ = [
    "Form",
    "Versioned",
    "Required",
    "Present",
    "RatingField",
    "EmailAddress",
    "MaxLength",
    "Optional",
    "PasswordPolicy",
    "new_password_fields",
    "strip",
    "optional_id",
    "SelectChoice",
    "Money",
    "Percent",
    "DateRange",
]


def strip(value):
    return value.strip() if isinstance(value, str) else value


class Form(FlaskForm):
    """Every form trims surrounding white space from text, applies the portal's input bounds to every field
    (``portal.bounds.check_field``): control characters are refused with a message on the field (multi-line
    fields keep tab and line breaks), NaN and Infinity are not numbers, and numbers and dates that the field's
    own validators leave unbounded are bounded all the same; and it carries a one-time token so that it counts
    once (``portal.steps``): a new token each time the form is shown, the same one when it is shown again with
    errors."""

    form_token = HiddenField(default=new_token)

    class Meta:
        def bind_field(self, form, unbound_field, options):
            if unbound_field.field_class is not PasswordField:  # keep the field's own filters, then strip
                options["filters"] = [*unbound_field.kwargs.get("filters", ()), strip]
            return unbound_field.bind(form=form, **options)

    def validate(self, extra_validators=None):
        for field in self:
            bounds.check_number_parsed(field)
        ok = super().validate(extra_validators)
        for field in self:
            message = bounds.check_field(field)
            if message is not None and message not in field.errors:
                field.errors = [*field.errors, message]
                if field.type == "HiddenField" and message not in self.form_errors:  # not shown next to the field
                    self.form_errors.append(message)
                ok = False
        return ok


class Versioned(Form):
    """A form that moves an object carries the version it was built from: a stale one is refused (``steps.take``)."""

    version = HiddenField()


def Required(message=None):
    return DataRequired(message=message or _l("This field is required."))


def Present(message=None):
    """Required, for numbers and dates: 0 is a value, and a value that does not parse keeps its own message."""
    return InputRequired(message=message or _l("This field is required."))


# A satisfaction rating, the same five answers wherever one is asked (ticket confirmation, complaint closing, visit
# sign-off, survey): the scorecard counts 4 and 5 as satisfied.
RATING_CHOICES = [
    SelectChoice(5, _l("5 · Very satisfied")),
    SelectChoice(4, _l("4 · Satisfied")),
    SelectChoice(3, _l("3 · Acceptable")),
    SelectChoice(2, _l("2 · Dissatisfied")),
    SelectChoice(1, _l("1 · Very dissatisfied")),
]


def RatingField(label):
    """A required rating from 1 to 5, as radio buttons from "very satisfied" down."""
    return RadioField(
        label, coerce=optional_id, choices=RATING_CHOICES, validators=[Present(_l("Choose a rating from 1 to 5."))]
    )


def EmailAddress():
    return Email(message=_l("Enter a valid e-mail address, like name@example.com."), check_deliverability=False)


def MaxLength(n):
    return Length(max=n, message=_l("Use at most %(max)d characters.", max=n))


class PasswordPolicy:
    """The security administrator's password policy (``portal.auth.passwords.problems``): every rule the password
    breaks, each with its reason. The account is the form's ``password_user`` (an invitation's), else the signed-in
    user's."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        from flask_login import current_user

        from .auth.passwords import problems

        user = getattr(form, "password_user", None)
        if user is None and current_user.is_authenticated:
            user = current_user._get_current_object()
        reasons = problems(field.data, user=user)
        if reasons:
            field.errors.extend(reasons[:-1])
            raise ValidationError(reasons[-1])


def new_password_fields():
    """The pair of fields for choosing a password: the password and its confirmation."""
    password = PasswordField(
        _l("New password"),
        validators=[InputRequired(message=_l("Choose a password.")), PasswordPolicy()],
        description=_l(
            "Any language, spaces allowed: a short sentence with capitals and a number makes a good password."
        ),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            InputRequired(message=_l("Type the password again.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
    )
    return password, confirm
