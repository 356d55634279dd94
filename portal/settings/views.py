"""The vendor's own details and its published service team (vendor manager only)."""
import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..orgs.forms import TeamMemberForm, VendorForm
from ..orgs.models import TeamMember, Vendor
from ..roles import Role
from ..scoping import roles_required
from . import bp


def saved_vendor():
    vendor = Vendor.current()
    if vendor.id is None:
        db.session.add(vendor)
        db.session.flush()
    return vendor


@bp.route("/", methods=["GET", "POST"])
@roles_required(Role.VENDOR_MANAGER)
def index():
    vendor = Vendor.current()
    form = VendorForm(obj=vendor)
    if form.validate_on_submit():
        vendor = saved_vendor()
        form.populate_obj(vendor)
        db.session.commit()
        flash(_("The vendor's details are saved."), "success")
        return redirect(url_for("settings.index"))
    team = db.session.scalars(sa.select(TeamMember).order_by(TeamMember.position, TeamMember.id)).all()
    return render_template("settings/index.html", form=form, team=team)


@bp.route("/team/new", methods=["GET", "POST"])
@roles_required(Role.VENDOR_MANAGER)
def team_new():
    form = TeamMemberForm()
    if form.validate_on_submit():
        member = TeamMember(vendor_id=saved_vendor().id)
        form.populate_obj(member)
        member.position = member.position or 0
        db.session.add(member)
        db.session.commit()
        flash(_("%(name)s is added to the service team.", name=member.name), "success")
        return redirect(url_for("settings.index"))
    return render_template("settings/team_form.html", form=form, member=None)


@bp.route("/team/<int:member_id>/edit", methods=["GET", "POST"])
@roles_required(Role.VENDOR_MANAGER)
def team_edit(member_id):
    member = db.get_or_404(TeamMember, member_id)
    form = TeamMemberForm(obj=member)
    if form.validate_on_submit():
        form.populate_obj(member)
        member.position = member.position or 0
        db.session.commit()
        flash(_("%(name)s is saved.", name=member.name), "success")
        return redirect(url_for("settings.index"))
    return render_template("settings/team_form.html", form=form, member=member)


@bp.post("/team/<int:member_id>/delete")
@roles_required(Role.VENDOR_MANAGER)
def team_delete(member_id):
    member = db.get_or_404(TeamMember, member_id)
    db.session.delete(member)
    db.session.commit()
    flash(_("%(name)s is removed from the service team.", name=member.name), "success")
    return redirect(url_for("settings.index"))
