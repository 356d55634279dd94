"""The password policy, for the security administrator only."""

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..audit import record
from ..auth import passwords
from ..auth.passwords import SecurityPolicy
from ..extensions import db
from ..roles import Role
from ..scoping import roles_required
from ..steps import Stale, version_of
from ..types import utcnow
from . import bp
from .forms import PolicyForm

SECURITY = Role.SECURITY_ADMIN


def save_policy(form, user, now=None):
    """Apply the form to the policy row (created on the first save), refusing a save made from an older version
    (``Stale``): the row is locked, so of two administrators saving from the same version one wins. Returns the
    changed fields {name: new value}."""
    now = now or utcnow()
    row = db.session.scalar(
        sa.select(SecurityPolicy)
        .where(SecurityPolicy.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    sent = version_of(form)
    try:
        if row is None:  # the first save: the defaults become row version 1, which the page showed
            row = SecurityPolicy.defaults()
            row.version = None  # 1, set by the INSERT
            db.session.add(row)
            db.session.flush()
    except sa.exc.IntegrityError:  # another administrator's first save came first
        db.session.rollback()
        raise Stale() from None
    if sent is not None and row.version != sent:
        raise Stale()
    changed = {}
    for name in SecurityPolicy.EDITABLE:
        value = getattr(form, name).data
        if getattr(row, name) != value:
            changed[name] = value
            setattr(row, name, value)
    if changed.get("second_factor_for_everyone"):
        row.second_factor_since = now  # the newly concerned get the grace period from today
    row.updated_at, row.updated_by_id = now, user.id  # every save moves the version, changed or not
    try:
        db.session.flush()
    except (sa.exc.IntegrityError, sa.orm.exc.StaleDataError):  # another first save, or a writer the lock missed
        db.session.rollback()
        raise Stale() from None
    passwords.forget_policy()
    return changed


@bp.route("/policy", methods=["GET", "POST"])
@roles_required(SECURITY)
def policy():
    current = passwords.policy()
    form = PolicyForm(obj=current)
    if not form.is_submitted():
        form.version.data = current.version
    if form.validate_on_submit():
        try:
            changed = save_policy(form, current_user)
        except Stale as stale:
            db.session.rollback()
            passwords.forget_policy()
            now = passwords.policy()
            form.form_errors.append(stale.message)
            form.version.data = now.version
            return render_template("security_admin/policy.html", form=form, policy=now, stale=True), 409
        if changed:
            record("security.policy_changed", target=passwords.policy(), **changed)
        db.session.commit()
        flash(_("The security policy is saved.") if changed else _("Nothing was changed."), "success")
        return redirect(url_for("security_admin.policy"))
    return render_template("security_admin/policy.html", form=form, policy=current)
