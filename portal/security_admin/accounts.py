"""The accounts' sign-in state for the security administrator: second factor, password age, sign-ins slowed down by
the throttle; a reset of a lost second factor, a password change required, a delay lifted (an account's or a source
address's: the throttle slows rather than locks, so "unlocking" is lifting that delay). (A blueprint of its own so that the menu marks one item at a time.)"""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from ..audit import record
from ..auth import passwords, throttle, twofactor
from ..auth.models import User
from ..auth.second_step import CODE_KEY
from ..extensions import db
from ..htmx import render
from ..pagination import Order, paginate
from ..roles import Role
from ..scoping import roles_required
from ..search import matches
from ..types import utcnow

bp = Blueprint("security_accounts", __name__, url_prefix="/security")
ORDER = Order("email", (User.email, User.id))
SECURITY = Role.SECURITY_ADMIN


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
    enrolled = (
        set(db.session.scalars(sa.select(twofactor.TwoFactor.user_id).where(twofactor.TwoFactor.user_id.in_(ids))))
        if ids
        else set()
    )
    filters = {k: v for k, v in request.args.items() if k in ("q", "factor") and v}
    now = utcnow()
    waits = throttle.slowed(throttle.ACCOUNT, [u.email for u in page.items], now)
    codes = throttle.slowed(throttle.ACCOUNT, [CODE_KEY.format(u.id) for u in page.items], now)
    for u in page.items:  # the slower of the password's and the second-factor codes' delays
        wait = max(waits.get(u.email, 0), codes.get(CODE_KEY.format(u.id), 0))
        if wait:
            waits[u.email] = wait
    rows = [
        {
            "user": u,
            "enrolled": u.id in enrolled,
            "required": twofactor.required(u, rules),
            "wait": waits.get(u.email),
            "age": (now - (u.password_changed_at or u.created_at)).days if u.has_password else None,
            "expired": passwords.is_expired(u, now, rules),
        }
        for u in page.items
    ]
    return render(
        "security_admin/users.html",
        fragment="security_admin/_users_table.html",
        page=page,
        rows=rows,
        filters=filters,
        rules=rules,
        addresses=throttle.slowed_addresses(now),
    )


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
        flash(
            _("Two-step sign-in of %(name)s is reset: they set it up again at their next sign-in.", name=user.name),
            "success",
        )
    else:
        flash(_("%(name)s has no two-step sign-in to reset.", name=user.name), "info")
    return redirect(url_for("security_accounts.users", q=user.email))


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
    return redirect(url_for("security_accounts.users", q=user.email))


@bp.post("/users/<int:user_id>/lift-delay")
@roles_required(SECURITY)
def lift_account_delay(user_id):
    user = target_user(user_id)
    lifted = throttle.lift(throttle.ACCOUNT, user.email)
    lifted = throttle.lift(throttle.ACCOUNT, CODE_KEY.format(user.id)) or lifted
    if lifted:
        record("security.account_unlocked", target=user)
        db.session.commit()
    flash(_("%(name)s can sign in again without waiting.", name=user.name), "success")
    return redirect(url_for("security_accounts.users", q=user.email))


@bp.post("/addresses/lift-delay")
@roles_required(SECURITY)
def lift_address_delay():
    key = (request.form.get("address") or "").strip()
    if not key or len(key) > 254:
        abort(400)
    if throttle.lift(throttle.ADDRESS, key):
        record("security.address_unlocked", address_lifted=key)
        db.session.commit()
    flash(_("Sign-ins from %(address)s are no longer slowed down.", address=key), "success")
    return redirect(url_for("security_accounts.users"))
