"""The preferences form: one choice per kind the user may receive and may turn off."""

from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf

from ..forms import Form
from ..i18n import _l
from .kinds import kinds_for
from .models import Mode

MODE_LABELS = {Mode.INSTANT: _l("At once (bell and e-mail)"), Mode.DIGEST: _l("Daily digest"), Mode.OFF: _l("Off")}


def field_name(kind):
    return kind.name.replace(".", "_")


def preferences_form(user, chosen, **kwargs):
    """The form for ``user``'s role: a field per kind they can choose for (``chosen``: {kind: mode} saved)."""

    class PreferencesForm(Form):
        pass

    kinds = [kind for kind in kinds_for(user.role) if not kind.mandatory]
    for kind in kinds:
        setattr(
            PreferencesForm,
            field_name(kind),
            RadioField(
                kind.label,
                default=chosen.get(kind.name, Mode.INSTANT.value),
                validate_choice=False,
                choices=[SelectChoice(mode.value, label) for mode, label in MODE_LABELS.items()],
                validators=[AnyOf([m.value for m in Mode], message=_l("Choose at once, daily digest or off."))],
            ),
        )
    form = PreferencesForm(**kwargs)
    form.kinds = kinds
    return form
