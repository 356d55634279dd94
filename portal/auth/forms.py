from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import InputRequired

from ..forms import Form, MaxLength, Required, new_password_fields
from ..i18n import _l


class LoginForm(Form):
    email = StringField(
        _l("E-mail"),
        validators=[Required(_l("Enter your e-mail address.")), MaxLength(254)],
        render_kw={"autocomplete": "username", "type": "email", "autofocus": True},
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(message=_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class InvitationForm(Form):
    password, confirm = new_password_fields()
