import sqlalchemy as sa
from wtforms import SelectField, StringField

from ..extensions import db
from ..forms import EmailAddress, Form, MaxLength, Optional, Required, SelectChoice, optional_id
from ..i18n import _l, is_chinese
from ..orgs.models import Client, Site
from ..roles import LABELS, Role, grantable


class UserForm(Form):
    """One form for both kinds of user admin.

    The system administrator picks any role (``roles.grantable``) and the client; a client admin only the client
    roles, and the client is theirs (the field is removed, so a posted ``client`` is ignored). A role not offered
    (a client admin posting a vendor or administrator role) is refused by the choice check.
    """

    email = StringField(
        _l("E-mail"), validators=[Required(), EmailAddress(), MaxLength(254)], render_kw={"type": "email"}
    )
    name = StringField(_l("Name"), validators=[Required(), MaxLength(100)])
    phone = StringField(_l("Phone"), validators=[Optional(), MaxLength(50)], render_kw={"type": "tel"})
    role = SelectField(_l("Role"), validators=[Required(_l("Choose a role."))])
    client = SelectField(_l("Client"), coerce=optional_id, validate_choice=False)
    site = SelectField(
        _l("Site"),
        coerce=optional_id,
        validate_choice=False,
        description=_l("Required for a school administrator, who sees this site only."),
    )

    def __init__(self, admin, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.admin = admin
        roles = grantable(admin.role_enum)
        if self.picks_client:
            clients = db.session.execute(sa.select(Client.id, Client.name_zh, Client.name_en).order_by(Client.name_zh))
            self.client.choices = [SelectChoice("", _l("— none (vendor staff) —"))] + [
                SelectChoice(c.id, _name(c)) for c in clients
            ]
            sites = db.session.execute(
                sa.select(
                    Site.id,
                    Site.name_zh,
                    Site.name_en,
                    Client.name_zh.label("client_zh"),
                    Client.name_en.label("client_en"),
                )
                .join(Client)
                .order_by(Client.name_zh, Site.name_zh)
            )
            self.site.choices = [SelectChoice("", _l("— none —"))] + [
                SelectChoice(s.id, _name(s), optgroup=_pick(s.client_zh, s.client_en)) for s in sites
            ]
        else:
            del self.client
            sites = db.session.execute(
                sa.select(Site.id, Site.name_zh, Site.name_en)
                .where(Site.client_id == admin.client_id)
                .order_by(Site.name_zh)
            )
            self.site.choices = [SelectChoice("", _l("— none —"))] + [SelectChoice(s.id, _name(s)) for s in sites]
        self.role.choices = [SelectChoice("", _l("— choose —"))] + [SelectChoice(r.value, LABELS[r]) for r in roles]

    @property
    def picks_client(self):
        """The system administrator (vendor side, no client) picks the client; a client admin's is their own."""
        return self.admin.client_id is None

    def target_client_id(self):
        """The system administrator picks the client; a client admin's users always belong to the admin's client."""
        return self.client.data if self.picks_client else self.admin.client_id

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.role.errors:  # no role, or one this admin may not give
            return False
        role = Role(self.role.data)
        client_id = self.target_client_id()
        site_id = self.site.data
        if role.is_admin:
            if client_id is not None:
                self.client.errors.append(_l("An administrator belongs to no client: leave the client empty."))
                ok = False
            return ok
        if role.is_vendor:
            if client_id is not None:
                self.client.errors.append(_l("Vendor staff belong to no client: leave the client empty."))
                ok = False
            return ok
        if client_id is None:
            self.client.errors.append(_l("Choose the client this user belongs to."))
            return False
        if role.needs_site:
            if site_id is None:
                self.site.errors.append(_l("Choose the school or department this administrator looks after."))
                return False
            site = db.session.get(Site, site_id)
            if site is None or site.client_id != client_id:
                self.site.errors.append(_l("This site does not belong to the chosen client."))
                return False
        return ok

    def cleaned_site_id(self):
        role = Role(self.role.data)
        return self.site.data if role.needs_site else None


def _pick(zh, en):
    return zh if is_chinese() or not en else en


def _name(row):
    return _pick(row.name_zh, row.name_en)
