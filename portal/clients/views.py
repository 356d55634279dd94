import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import with_expression

from ..auth.models import User
from ..extensions import db
from ..htmx import render
from ..orgs.forms import ClientForm
from ..orgs.models import Client, Site
from ..orgs.services import client_name_taken
from ..pagination import Order, paginate
from ..roles import ORGANISATION_ADMINS, ORGANISATION_READERS
from ..scoping import roles_required
from ..search import matches
from . import bp

SITE_COUNT = sa.select(sa.func.count(Site.id)).where(Site.client_id == Client.id).correlate(Client).scalar_subquery()
USER_COUNT = sa.select(sa.func.count(User.id)).where(User.client_id == Client.id).correlate(Client).scalar_subquery()

ORDER = Order("client", (Client.name_zh, Client.id))


@bp.get("/")
@roles_required(*ORGANISATION_READERS)
def index():
    q = request.args.get("q", "").strip()
    query = (
        sa.select(Client)
        .options(with_expression(Client.site_count, SITE_COUNT), with_expression(Client.user_count, USER_COUNT))
        .order_by(Client.name_zh)
    )
    if q:
        query = query.where(matches(q, Client.name_zh, Client.name_en))
    page = paginate(query, ORDER)
    return render("clients/index.html", fragment="clients/_table.html", page=page, q=q)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*ORGANISATION_ADMINS)
def new():
    form = ClientForm()
    if form.validate_on_submit():
        if client_name_taken(form.name_zh.data):
            form.name_zh.errors.append(_("A client with this name already exists."))
        else:
            client = Client()
            form.populate_obj(client)
            db.session.add(client)
            db.session.commit()
            flash(_("Client %(name)s is created. Add its sites next.", name=client.name), "success")
            return redirect(url_for("clients.show", client_id=client.id))
    return render_template("clients/form.html", form=form, client=None)


@bp.get("/<int:client_id>")
@roles_required(*ORGANISATION_READERS)
def show(client_id):
    client = db.get_or_404(Client, client_id)
    sites = db.session.scalars(sa.select(Site).where(Site.client_id == client.id).order_by(Site.name_zh)).all()
    users = db.session.execute(
        sa.select(User.role, sa.func.count()).where(User.client_id == client.id).group_by(User.role)
    ).all()
    return render_template("clients/show.html", client=client, sites=sites, user_counts=dict(users))


@bp.route("/<int:client_id>/edit", methods=["GET", "POST"])
@roles_required(*ORGANISATION_ADMINS)
def edit(client_id):
    client = db.get_or_404(Client, client_id)
    form = ClientForm(obj=client)
    if form.validate_on_submit():
        if client_name_taken(form.name_zh.data, exclude_id=client.id):
            form.name_zh.errors.append(_("A client with this name already exists."))
        else:
            form.populate_obj(client)
            db.session.commit()
            flash(_("Client %(name)s is saved.", name=client.name), "success")
            return redirect(url_for("clients.show", client_id=client.id))
    return render_template("clients/form.html", form=form, client=client)
