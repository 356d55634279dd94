from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from ..audit import record
from ..auth import services
from ..auth.models import SignInSession
from ..auth.views import start_session
from ..extensions import db
from ..i18n import ngettext
from ..roles import EVERYONE
from ..scoping import roles_required
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
            start_session(user, how="password_change")
            flash(_("Your password is changed. You were signed out everywhere else."), "success")
            return redirect(url_for("account.profile"))
    return render_template("account/password.html", form=form)


@bp.get("/sessions")
@roles_required(*EVERYONE)
def sessions():
    """The user's own open sessions (signed in on which device, from where, since when), to end those not theirs."""
    config = current_app.config
    return render_template(
        "account/sessions.html",
        sessions=services.open_sessions(current_user),
        this=g.get("sign_in_session"),
        idle_minutes=config["SESSION_IDLE"].total_seconds() // 60,
        session_hours=config["SESSION_LIFETIME"].total_seconds() // 3600,
    )


def _signed_out_here(message):
    logout_user()
    session.clear()
    flash(message, "info")
    return redirect(url_for("auth.login"))


@bp.post("/sessions/<int:session_id>/end")
@roles_required(*EVERYONE)
def end_session(session_id):
    """End one of one's own sessions (another user's, or one already ended: 404)."""
    row = db.session.get(SignInSession, session_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    if row.ended_at is not None:  # a double post, or ended meanwhile on another device
        flash(_("That session is ended: the device it was on must sign in again."), "success")
        return redirect(url_for("account.sessions"))
    user = current_user._get_current_object()
    services.end_session(row, reason="ended")
    record("auth.sessions_ended", user=user, target=row, count=1)
    db.session.commit()
    this = g.get("sign_in_session")
    if this is not None and this.id == row.id:
        return _signed_out_here(_("You are signed out."))
    flash(_("That session is ended: the device it was on must sign in again."), "success")
    return redirect(url_for("account.sessions"))


@bp.post("/sessions/end")
@roles_required(*EVERYONE)
def end_sessions():
    """Sign out everywhere: every other session (``scope=others``, the default), or every one, this one too."""
    scope = request.form.get("scope", "others")
    if scope not in {"others", "all"}:
        abort(400)
    user = current_user._get_current_object()
    if scope == "all":
        count = len(services.open_sessions(user))
        services.sign_out(user)  # a new token too: no cookie of this user works any more
        record("auth.sessions_ended", user=user, scope=scope, count=count)
        db.session.commit()
        return _signed_out_here(_("You are signed out, on this and every other device."))
    count = services.end_other_sessions(user, keep=g.get("sign_in_session"))
    record("auth.sessions_ended", user=user, scope=scope, count=count)
    db.session.commit()
    flash(ngettext("%(num)d other session ended.", "%(num)d other sessions ended.", count), "success")
    return redirect(url_for("account.sessions"))
