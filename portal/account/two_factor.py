"""One's own second factor (双因素认证): enrol with an authenticator app, see how many recovery codes are left,
turn it off when the policy lets one.

Enrolment: a fresh secret is made for each showing of the page and kept in the session (never in the database
until a code proves the app has it: no page view writes); the code confirms it; the ten recovery codes are then
shown once, in the answer to that POST, and only their hashes are kept."""

from flask import abort, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import StringField

from ..audit import record
from ..auth import checkpoints, twofactor
from ..extensions import db
from ..forms import Form, MaxLength, Required
from ..i18n import _l
from ..roles import EVERYONE
from ..scoping import roles_required
from . import bp

SECRET = "two_factor_secret"  # nosec B105  # the session key's name under which the secret being enrolled is kept


class CodeForm(Form):
    code = StringField(
        _l("Code from the app"),
        validators=[Required(_l("Enter the 6-digit code your authenticator app shows.")), MaxLength(20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"},
    )


def _page(form=None, disable_form=None, secret=None, status=200):
    user = current_user._get_current_object()
    enrolled = twofactor.enrolment(user)
    context = {
        "enrolled": enrolled,
        "required": twofactor.required(user),
        "left": twofactor.recovery_codes_left(user) if enrolled else 0,
    }
    if enrolled is None:
        secret = secret or session.get(SECRET)
        if secret is None or form is None:  # each showing: a fresh secret
            secret = twofactor.new_secret()
        session[SECRET] = secret
        context.update(
            secret=secret,
            grouped=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            qr=twofactor.qr_data_uri(secret, user),
            uri=twofactor.provisioning_uri(secret, user),
        )
    return render_template(
        "account/two_factor.html",
        form=form or CodeForm(),
        disable_form=disable_form or CodeForm(prefix="off"),
        **context,
    ), status


@bp.get("/two-factor")
@roles_required(*EVERYONE)
def two_factor():
    return _page()


@bp.post("/two-factor")
@roles_required(*EVERYONE)
def two_factor_enrol():
    user = current_user._get_current_object()
    form = CodeForm()
    if twofactor.enrolment(user) is not None:
        return redirect(url_for("account.two_factor"))
    secret = session.get(SECRET)
    if not form.validate_on_submit():
        return _page(form=form, secret=secret, status=200)
    codes = twofactor.enrol(user, secret, form.code.data) if isinstance(secret, str) else None
    if codes is None:
        form.code.errors.append(
            _(
                "This code does not match. Check that the app shows this portal's account and "
                "that the phone's clock is right, then enter the code it shows now."
            )
        )
        form.code.data = ""
        return _page(form=form, secret=secret, status=200)
    record("account.two_factor_enrolled", user=user, target=user)
    db.session.commit()
    session.pop(SECRET, None)
    checkpoints.lift_enrolment()
    return render_template("account/recovery_codes.html", codes=codes)


@bp.post("/two-factor/disable")
@roles_required(*EVERYONE)
def two_factor_disable():
    user = current_user._get_current_object()
    if twofactor.enrolment(user) is None:
        return redirect(url_for("account.two_factor"))
    if twofactor.required(user):
        abort(403)
    form = CodeForm(prefix="off")
    if not form.validate_on_submit():
        return _page(disable_form=form, status=200)
    if not twofactor.verify_current(user, form.code.data):
        form.code.errors.append(_("This code is not right. Enter the code your authenticator app shows now."))
        form.code.data = ""
        return _page(disable_form=form, status=200)
    twofactor.remove(user)
    record("account.two_factor_disabled", user=user, target=user)
    db.session.commit()
    flash(_("Two-step sign-in is turned off. You sign in with your password only."), "success")
    return redirect(url_for("account.two_factor"))
