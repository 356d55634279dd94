"""Forms for the vendor, its service team, clients and sites."""

from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import NumberRange

from ..forms import EmailAddress, Form, MaxLength, Optional, Required, SelectChoice
from ..i18n import ZONES, _l, zone_label


def timezone_choices(current=None):
    zones = ZONES if current in (None, *ZONES) else (*ZONES, current)
    return [SelectChoice(z, zone_label(z)) for z in zones]


class ClientForm(Form):
    name_zh = StringField(_l("Name in Chinese"), validators=[Required(), MaxLength(200)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), MaxLength(200)])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), MaxLength(100)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), MaxLength(50)], render_kw={"type": "tel"})
    address = StringField(_l("Address"), validators=[Optional(), MaxLength(300)])


class SiteForm(Form):
    name_zh = StringField(_l("Name in Chinese"), validators=[Required(), MaxLength(200)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), MaxLength(200)])
    address = StringField(_l("Address"), validators=[Optional(), MaxLength(300)])
    timezone = SelectField(_l("Time zone"), default="Asia/Shanghai")
    contact_name = StringField(_l("Contact person"), validators=[Optional(), MaxLength(100)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), MaxLength(50)], render_kw={"type": "tel"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        saved = getattr(kwargs.get("obj"), "timezone", None)  # keep a site's zone even if no longer listed
        self.timezone.choices = timezone_choices(saved)


class VendorForm(Form):
    name_zh = StringField(_l("Name in Chinese"), validators=[Required(), MaxLength(200)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), MaxLength(200)])
    hotline = StringField(_l("7×24 service hotline"), validators=[Required(), MaxLength(50)], render_kw={"type": "tel"})
    email = StringField(_l("Service e-mail"), validators=[Optional(), EmailAddress(), MaxLength(254)])
    address = StringField(_l("Address"), validators=[Optional(), MaxLength(300)])


class TeamMemberForm(Form):
    name = StringField(_l("Name"), validators=[Required(), MaxLength(100)])
    role_zh = StringField(_l("Role in Chinese"), validators=[Required(), MaxLength(100)])
    role_en = StringField(_l("Role in English"), validators=[Optional(), MaxLength(100)])
    phone = StringField(_l("Phone"), validators=[Required(), MaxLength(50)], render_kw={"type": "tel"})
    position = IntegerField(
        _l("Order on the list"),
        default=0,
        validators=[Optional(), NumberRange(min=0, max=999, message=_l("Use a number from 0 to 999."))],
    )
