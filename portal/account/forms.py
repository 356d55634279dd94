from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import InputRequired

from ..forms import Form, MaxLength, Optional, Required, SelectChoice, new_password_fields
from ..i18n import _l

LANGUAGE_CHOICES = [SelectChoice("zh_Hans_CN", "中文（简体）"), SelectChoice("en", "English")]


class ProfileForm(Form):
    name = StringField(_l("Name"), validators=[Required(_l("Enter your name.")), MaxLength(100)])
    phone = StringField(_l("Phone"), validators=[Optional(), MaxLength(50)], render_kw={"type": "tel"})
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)


class PasswordForm(Form):
    current = PasswordField(
        _l("Current password"),
        validators=[InputRequired(message=_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    password, confirm = new_password_fields()
