import sqlalchemy as sa
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import NumberRange, ValidationError

from ..bounds import DATE_MAX
from ..catalog.models import EquipmentModel
from ..contracts.models import Contract
from ..extensions import db
from ..forms import Form, MaxLength, Money, Optional, Present, Required, SelectChoice, optional_id
from ..i18n import _l, is_chinese
from ..orgs.models import Client, Site
from .models import Status
from .services import extension_fits


def contract_choices(user):
    query = Contract.scoped(user).join(Client).order_by(Client.name_zh, Contract.number)
    rows = db.session.execute(
        query.with_only_columns(Contract.id, Contract.number, Contract.title, Client.name_zh, Client.name_en)
    )
    chinese = is_chinese()
    return [
        SelectChoice(r.id, f"{r.number} · {r.title}", optgroup=r.name_zh if chinese or not r.name_en else r.name_en)
        for r in rows
    ]


def site_choices(user):
    query = Site.scoped(user).join(Client).order_by(Client.name_zh, Site.name_zh)
    rows = db.session.execute(
        query.with_only_columns(
            Site.id, Site.name_zh, Site.name_en, Client.name_zh.label("c_zh"), Client.name_en.label("c_en")
        )
    )
    chinese = is_chinese()
    pick = lambda zh, en: zh if chinese or not en else en  # noqa: E731
    grouped = user.is_vendor
    return [
        SelectChoice(r.id, pick(r.name_zh, r.name_en), optgroup=pick(r.c_zh, r.c_en) if grouped else None) for r in rows
    ]


def model_choices():
    rows = db.session.scalars(
        sa.select(EquipmentModel).order_by(EquipmentModel.manufacturer, EquipmentModel.model_number)
    )
    return [SelectChoice(m.id, f"{m.label} · {m.name}", optgroup=m.category_enum.label) for m in rows]


class EquipmentForm(Form):
    contract = SelectField(_l("Contract"), coerce=optional_id, validators=[Required(_l("Choose the contract."))])
    site = SelectField(_l("Site"), coerce=optional_id, validators=[Required(_l("Choose where the unit stands."))])
    model = SelectField(_l("Model"), coerce=optional_id, validators=[Required(_l("Choose the model."))])
    serial = StringField(_l("Serial number"), validators=[Required(), MaxLength(100)])
    asset_tag = StringField(_l("Asset tag"), validators=[Optional(), MaxLength(100)])
    building = StringField(_l("Building"), validators=[Optional(), MaxLength(100)])
    room = StringField(_l("Room"), validators=[Optional(), MaxLength(100)])
    installed_on = DateField(_l("Installed on"), validators=[Optional()])
    warranty_start = DateField(
        _l("Warranty start"),
        validators=[Optional()],
        description=_l("Leave empty to use the contract's acceptance date."),
    )
    warranty_months = IntegerField(
        _l("Warranty term (months)"),
        validators=[Optional(), NumberRange(min=1, max=240, message=_l("Use a number of months from 1 to 240."))],
        description=_l("Leave empty to use the contract's term."),
    )
    unit_price = DecimalField(
        _l("Unit price (CNY)"),
        places=2,
        validators=[Optional(), Money()],
    )
    status = SelectField(_l("Status"), default=Status.IN_SERVICE.value)

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.contract.choices = [SelectChoice("", _l("— choose —"))] + contract_choices(user)
        self.site.choices = [SelectChoice("", _l("— choose —"))] + site_choices(user)
        self.model.choices = [SelectChoice("", _l("— choose —"))] + model_choices()
        self.status.choices = [SelectChoice(s.value, s.label) for s in Status]

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.contract.errors or self.site.errors:
            return False
        contract = db.session.get(Contract, self.contract.data)
        site = db.session.get(Site, self.site.data)
        if contract.client_id != site.client_id:
            self.site.errors.append(_l("This site is not one of the contract's client's sites."))
            ok = False
        return ok


class ExtensionForm(Form):
    days = IntegerField(
        _l("Days"),
        default=60,
        validators=[Present(), NumberRange(min=1, max=3650, message=_l("Use a number of days from 1 to 3650."))],
    )
    reason = TextAreaField(_l("Reason"), validators=[Required(_l("Say why the warranty is extended.")), MaxLength(500)])

    def __init__(self, *args, unit=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit = unit

    def validate_days(self, field):
        if self.unit is not None and field.data and not extension_fits(self.unit, field.data):
            raise ValidationError(
                _l(
                    "With so many days the warranty would end after %(date)s: extend it by fewer.",
                    date=DATE_MAX.isoformat(),
                )
            )


class ImportForm(Form):
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired(_l("Choose a file to import."))])


class ReplacementForm(Form):
    note = StringField(
        _l("New unit and note"),
        validators=[Required(_l("Name the new unit (model and serial number).")), MaxLength(500)],
    )
