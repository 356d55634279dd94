import sqlalchemy as sa
from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..auth import services as auth_services
from ..auth.models import Invitation, User
from ..bounds import db_id
from ..extensions import db
from ..htmx import render
from ..orgs.models import Client
from ..pagination import Order, paginate
from ..roles import USER_ADMINS, Role
from ..scoping import roles_required
from ..search import matches
from ..types import utcnow
from . import bp, services
from .forms import UserForm

ORDER = Order("name", (User.name, User.id))

STATES = ("active", "invited", "deactivated")


def filtered(args):
    """The users this admin may see, narrowed by the list's filters."""
    query = User.scoped(current_user).options(joinedload(User.client), joinedload(User.site))
    q = args.get("q", "").strip()
    if q:
        query = query.where(matches(q, User.name, User.email))
    role = args.get("role", "")
    if role in Role.__members__.values():
        query = query.where(User.role == role)
    client_id = args.get("client", type=db_id)
    if client_id and current_user.is_vendor:
        query = query.where(User.client_id == client_id)
    state = args.get("state", "")
    if state == "active":
        query = query.where(User.active.is_(True), User.password_hash.is_not(None))
    elif state == "invited":
        query = query.where(User.active.is_(True), User.password_hash.is_(None))
    elif state == "deactivated":
        query = query.where(User.active.is_(False))
    return query.order_by(User.name, User.id)


@bp.get("/")
@roles_required(*USER_ADMINS)
def index():
    page = paginate(filtered(request.args), ORDER)
    filters = {k: v for k, v in request.args.items() if k in ("q", "role", "client", "state") and v}
    clients = db.session.scalars(sa.select(Client).order_by(Client.name_zh)).all() if current_user.is_vendor else []
    roles = [r for r in Role if current_user.is_vendor or not r.is_vendor]
    return render(
        "users/index.html",
        fragment="users/_table.html",
        page=page,
        filters=filters,
        clients=clients,
        roles=roles,
        states=STATES,
    )


def _fields(form):
    return dict(
        email=form.email.data,
        name=form.name.data,
        phone=form.phone.data,
        role=form.role.data,
        client_id=form.target_client_id() if not Role(form.role.data).is_vendor else None,
        site_id=form.cleaned_site_id(),
    )


def _remember_link(user, token):
    """The invitation link is shown once: kept until the user's page has displayed it."""
    session["invitation"] = {"user": user.id, "url": url_for("auth.invitation", token=token, _external=True)}


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*USER_ADMINS)
def new():
    form = UserForm(current_user)
    if form.validate_on_submit():
        try:
            user = services.create_user(**_fields(form))
        except services.EmailTaken:
            form.email.errors.append(_("An account with this e-mail address already exists."))
        else:
            token = auth_services.invite(user, by=current_user)
            db.session.commit()
            _remember_link(user, token)
            flash(_("Account for %(name)s is created. Send them the invitation link below.", name=user.name), "success")
            return redirect(url_for("users.show", user_id=user.id))
    return render_template("users/form.html", form=form, user=None)


@bp.get("/<int:user_id>")
@roles_required(*USER_ADMINS)
def show(user_id):
    user = User.get_or_404(user_id, current_user)
    link = session.get("invitation")
    if link and link.get("user") == user.id:
        session.pop("invitation")
    else:
        link = None
    pending = db.session.scalar(
        sa.select(Invitation)
        .where(Invitation.user_id == user.id, Invitation.used_at.is_(None), Invitation.expires_at > utcnow())
        .order_by(Invitation.created_at.desc())
        .limit(1)
    )
    return render_template("users/show.html", user=user, link=link and link["url"], pending=pending)


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required(*USER_ADMINS)
def edit(user_id):
    user = User.get_or_404(user_id, current_user)
    initial = {
        "email": user.email,
        "name": user.name,
        "phone": user.phone,
        "role": user.role,
        "client": user.client_id,
        "site": user.site_id,
    }
    form = UserForm(current_user, data=initial)
    if form.validate_on_submit():
        fields = _fields(form)
        if user.id == current_user.id and (fields["role"], fields["client_id"]) != (user.role, user.client_id):
            form.role.errors.append(_("You cannot change your own role or organisation."))
        else:
            try:
                services.update_user(user, **fields)
            except services.EmailTaken:
                form.email.errors.append(_("An account with this e-mail address already exists."))
            else:
                db.session.commit()
                flash(_("Account of %(name)s is saved.", name=user.name), "success")
                return redirect(url_for("users.show", user_id=user.id))
    return render_template("users/form.html", form=form, user=user)


@bp.post("/<int:user_id>/invite")
@roles_required(*USER_ADMINS)
def invite(user_id):
    user = User.get_or_404(user_id, current_user)
    if not user.active:
        flash(_("Activate the account before sending a new invitation."), "warning")
        return redirect(url_for("users.show", user_id=user.id))
    token = auth_services.invite(user, by=current_user)
    db.session.commit()
    _remember_link(user, token)
    flash(_("A new invitation link is ready; earlier links no longer work."), "success")
    return redirect(url_for("users.show", user_id=user.id))


@bp.post("/<int:user_id>/deactivate")
@roles_required(*USER_ADMINS)
def deactivate(user_id):
    user = User.get_or_404(user_id, current_user)
    if user.id == current_user.id:
        flash(_("You cannot deactivate your own account."), "danger")
    else:
        services.set_active(user, False)
        db.session.commit()
        flash(_("%(name)s can no longer sign in; their sessions have ended.", name=user.name), "success")
    return redirect(url_for("users.show", user_id=user.id))


@bp.post("/<int:user_id>/activate")
@roles_required(*USER_ADMINS)
def activate(user_id):
    user = User.get_or_404(user_id, current_user)
    services.set_active(user, True)
    db.session.commit()
    flash(_("%(name)s can sign in again.", name=user.name), "success")
    return redirect(url_for("users.show", user_id=user.id))
