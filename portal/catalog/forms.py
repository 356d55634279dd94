from wtforms import SelectField, StringField

from ..forms import Form, MaxLength, Optional, Required, SelectChoice
from ..i18n import _l
from .models import Category


class EquipmentModelForm(Form):
    manufacturer = StringField(_l("Manufacturer"), validators=[Required(), MaxLength(100)])
    manufacturer_en = StringField(_l("Manufacturer in English"), validators=[Optional(), MaxLength(100)])
    model_number = StringField(_l("Model number"), validators=[Required(), MaxLength(100)])
    category = SelectField(_l("Category"), validators=[Required()])
    name_zh = StringField(_l("Name in Chinese"), validators=[Required(), MaxLength(200)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), MaxLength(200)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [SelectChoice(c.value, c.label) for c in Category]
