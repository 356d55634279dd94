from flask import flash, g, redirect, render_template, url_for
from flask_babel import get_locale, gettext as _, refresh
from flask_login import current_user

from ..auth import services
from ..auth.views import start_session
from ..extensions import db
from . import bp
from .forms import PasswordForm, ProfileForm


@bp.route("/", methods=["GET", "POST"])
def profile():
    form = ProfileForm(obj=current_user)
    if not form.is_submitted():
        form.locale.data = current_user.locale or str(get_locale())
    if form.validate_on_submit():
        current_user.name = form.name.data
        current_user.phone = form.phone.data or ""
        current_user.locale = form.locale.data
        db.session.commit()
        g.lang_choice = form.locale.data  # this browser follows (the cookie), e.g. on pages made without the database
        refresh()  # show the confirmation in the language just chosen
        flash(_("Your details are saved."), "success")
        return redirect(url_for("account.profile"))
    return render_template("account/profile.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(services.normalise_password(form.current.data)):
            form.current.errors.append(_("This is not your current password."))
        else:
            user = current_user._get_current_object()
            services.change_password(user, form.password.data)
            db.session.commit()
            # Every other session of this user has just ended; this one starts afresh.
            start_session(user)
            flash(_("Your password is changed. You were signed out everywhere else."), "success")
            return redirect(url_for("account.profile"))
    return render_template("account/password.html", form=form)
