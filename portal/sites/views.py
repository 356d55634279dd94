import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..auth.models import User
from ..bounds import db_id
from ..extensions import db
from ..htmx import render
from ..i18n import local_today
from ..orgs.forms import SiteForm
from ..orgs.models import Client, Site
from ..orgs.services import site_name_taken
from ..pagination import Order, paginate
from ..roles import ALL, ORGANISATION_ADMINS, VENDOR, Role
from ..scoping import roles_required
from ..search import matches
from . import bp

ORDER = Order("site", (Site.client_id, Site.name_zh, Site.id))


@bp.get("/")
@roles_required(*VENDOR, Role.SYSTEM_ADMIN, Role.CLIENT_ADMIN, Role.CLIENT_STAFF)
def index():
    q = request.args.get("q", "").strip()
    client_id = request.args.get("client", type=db_id) if current_user.is_vendor else None
    query = Site.scoped(current_user).options(joinedload(Site.client)).order_by(Site.client_id, Site.name_zh)
    if client_id:
        query = query.where(Site.client_id == client_id)
    if q:
        query = query.where(matches(q, Site.name_zh, Site.name_en, Site.address))
    page = paginate(query, ORDER)
    clients = db.session.scalars(sa.select(Client).order_by(Client.name_zh)).all() if current_user.is_vendor else []
    return render(
        "sites/index.html", fragment="sites/_table.html", page=page, q=q, client_id=client_id, clients=clients
    )


@bp.get("/mine")
@roles_required(Role.SITE_ADMIN)
def mine():
    return redirect(url_for("sites.show", site_id=current_user.site_id))


@bp.get("/<int:site_id>")
@roles_required(*ALL, Role.SYSTEM_ADMIN)
def show(site_id):
    site = Site.get_or_404(site_id, current_user)
    admins = db.session.scalars(
        sa.select(User).where(User.site_id == site.id, User.active.is_(True)).order_by(User.name)
    ).all()
    from ..inspections.views import next_visit, site_history

    if not current_user.is_business:  # the system administrator: the site's details, not its service history
        return render_template(
            "sites/show.html", site=site, admins=admins, history=[], next_visit=None, today=local_today()
        )
    return render_template(
        "sites/show.html",
        site=site,
        admins=admins,
        history=site_history(site.id),
        next_visit=next_visit(site.id),
        today=local_today(),
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*ORGANISATION_ADMINS)
def new():
    client_id = request.args.get("client", type=db_id)
    if client_id is None:
        abort(404)
    client = db.get_or_404(Client, client_id)
    form = SiteForm()
    if form.validate_on_submit():
        if site_name_taken(client.id, form.name_zh.data):
            form.name_zh.errors.append(_("This client already has a site with this name."))
        else:
            site = Site(client_id=client.id)
            form.populate_obj(site)
            db.session.add(site)
            db.session.commit()
            flash(_("Site %(name)s is added.", name=site.name), "success")
            return redirect(url_for("clients.show", client_id=client.id))
    return render_template("sites/form.html", form=form, site=None, client=client)


@bp.route("/<int:site_id>/edit", methods=["GET", "POST"])
@roles_required(*ORGANISATION_ADMINS)
def edit(site_id):
    site = db.get_or_404(Site, site_id)
    form = SiteForm(obj=site)
    if form.validate_on_submit():
        if site_name_taken(site.client_id, form.name_zh.data, exclude_id=site.id):
            form.name_zh.errors.append(_("This client already has a site with this name."))
        else:
            form.populate_obj(site)
            db.session.commit()
            flash(_("Site %(name)s is saved.", name=site.name), "success")
            return redirect(url_for("sites.show", site_id=site.id))
    return render_template("sites/form.html", form=form, site=site, client=site.client)
