"""The password policy and the accounts' sign-in state, for the security administrator only."""
import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..audit import record
from ..auth import passwords, twofactor
from ..auth.models import User
from ..auth.passwords import SecurityPolicy
from ..extensions import db
from ..htmx import render
from ..pagination import Order, paginate
from ..roles import Role
from ..scoping import roles_required
from ..search import matches
from ..steps import Stale, version_of
from ..types import utcnow
from . import bp
from .forms import PolicyForm

ORDER = Order("email", (User.email, User.id))
SECURITY = Role.SECURITY_ADMIN


def save_policy(form, user, now=None):
    """Apply the form to the policy row (created on the first save), refusing a save made from an older version
    (``Stale``): the row is locked, so of two administrators saving from the same version one wins. Returns the
    changed fields {name: new value}."""
    now = now or utcnow()
    row = db.session.scalar(sa.select(SecurityPolicy).where(SecurityPolicy.id == 1).with_for_update()
                            .execution_options(populate_existing=True))
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


def accounts(args):
    """Every account (the security administrator sees all of them, but none of their business data)."""
    two = sa.exists().where(twofactor.TwoFactor.user_id == User.id)
    query = sa.select(User)
    q = args.get("q", "").strip()
    if q:
        query = query.where(matches(q, User.name, User.email))
    factor = args.get("factor", "")
    if factor == "yes":
        query = query.where(two)
    elif factor == "no":
        query = query.where(~two)
    return query


@bp.get("/users")
@roles_required(SECURITY)
def users():
    rules = passwords.policy()
    page = paginate(accounts(request.args), ORDER)
    ids = [u.id for u in page.items]
    enrolled = set(db.session.scalars(sa.select(twofactor.TwoFactor.user_id).where(
        twofactor.TwoFactor.user_id.in_(ids)))) if ids else set()
    filters = {k: v for k, v in request.args.items() if k in ("q", "factor") and v}
    now = utcnow()
    rows = [{"user": u, "enrolled": u.id in enrolled, "required": twofactor.required(u, rules),
             "age": (now - (u.password_changed_at or u.created_at)).days if u.has_password else None,
             "expired": passwords.is_expired(u, now, rules)} for u in page.items]
    return render("security_admin/users.html", fragment="security_admin/_users_table.html", page=page, rows=rows,
                  filters=filters, rules=rules)


def target_user(user_id):
    return db.get_or_404(User, user_id)


@bp.post("/users/<int:user_id>/reset-two-factor")
@roles_required(SECURITY)
def reset_two_factor(user_id):
    user = target_user(user_id)
    if twofactor.enrolment(user) is not None:
        twofactor.remove(user)
        user.end_sessions()  # signed in with the old factor: signed out, to enrol again at the next sign-in
        record("account.two_factor_reset", target=user)
        db.session.commit()
        flash(_("Two-step sign-in of %(name)s is reset: they set it up again at their next sign-in.",
                name=user.name), "success")
    else:
        flash(_("%(name)s has no two-step sign-in to reset.", name=user.name), "info")
    return redirect(url_for("security_admin.users", q=user.email))


@bp.post("/users/<int:user_id>/require-password-change")
@roles_required(SECURITY)
def require_password_change(user_id):
    user = target_user(user_id)
    if not user.has_password:
        abort(400)
    if not user.password_change_required:
        user.password_change_required = True
        record("account.password_change_required", target=user)
        db.session.commit()
    flash(_("%(name)s must change their password before they continue.", name=user.name), "success")
    return redirect(url_for("security_admin.users", q=user.email))
