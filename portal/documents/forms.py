from flask_wtf.file import FileField
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import ValidationError

from ..forms import Form, MaxLength, Optional, Required, SelectChoice, optional_id
from ..i18n import _l
from ..uploads import DOCUMENTS, accept
from .models import Kind, Language, Target


class DetailsForm(Form):
    """What a document is and whom it concerns (the edit page; the new-document form adds the first file)."""

    kind = SelectField(_l("Kind"), validators=[Required(_l("Choose the kind of document."))])
    title_zh = StringField(
        _l("Title in Chinese"), validators=[Required(_l("Give the document a Chinese title.")), MaxLength(200)]
    )
    title_en = StringField(
        _l("Title in English"),
        validators=[Optional(), MaxLength(200)],
        description=_l("Shown to users who read the portal in English; the Chinese title if empty."),
    )
    language = RadioField(_l("Language of the file"), validators=[Required(_l("Say which language the file is in."))])
    target = RadioField(_l("Who sees it"), validators=[Required(_l("Choose whom the document concerns."))])
    model = SelectField(
        _l("Equipment model"),
        coerce=optional_id,
        validate_choice=False,
        description=_l("Clients who own units of this model see it, also on each unit's page."),
    )
    contract = SelectField(
        _l("Contract"),
        coerce=optional_id,
        validate_choice=False,
        description=_l("The client of this contract sees it, and the schools with its units."),
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), MaxLength(2000)])

    def __init__(self, *args, models=(), contracts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice("", _l("Choose…"))] + [SelectChoice(k.value, k.label) for k in Kind]
        self.language.choices = [SelectChoice(lang.value, lang.label) for lang in Language]
        self.target.choices = [SelectChoice(t.value, t.label) for t in Target]
        self.model.choices = [SelectChoice("", _l("Choose…"))] + [SelectChoice(m.id, m.label) for m in models]
        self.contract.choices = [SelectChoice("", _l("Choose…"))] + [
            SelectChoice(c.id, f"{c.number} · {c.client.name}") for c in contracts
        ]
        self._model_ids = {m.id for m in models}
        self._contract_ids = {c.id for c in contracts}

    def validate_model(self, field):
        if self.target.data == Target.MODEL.value and field.data not in self._model_ids:
            raise ValidationError(_l("Choose the equipment model."))

    def validate_contract(self, field):
        if self.target.data == Target.CONTRACT.value and field.data not in self._contract_ids:
            raise ValidationError(_l("Choose the contract."))

    def target_ids(self):
        """(model_id, contract_id) for the chosen target: at most one of them."""
        target = Target(self.target.data)
        return (
            self.model.data if target is Target.MODEL else None,
            self.contract.data if target is Target.CONTRACT else None,
        )


class VersionFields:
    label = StringField(
        _l("Version"),
        validators=[Required(_l("Give the version, e.g. V1.0.")), MaxLength(40)],
        description=_l("As printed on the document, e.g. V2.1 or 2026-03."),
    )
    note = StringField(_l("What changed"), validators=[Optional(), MaxLength(500)])
    file = FileField(_l("File"), render_kw={"accept": accept(DOCUMENTS)})


class DocumentForm(VersionFields, DetailsForm):
    pass


class VersionForm(VersionFields, Form):
    pass


class WithdrawForm(Form):
    pass
