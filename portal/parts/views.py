"""The price list of spare parts and consumables: kept by the vendor manager, shown to every user."""

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from ..catalog.models import EquipmentModel
from ..extensions import db
from ..forms import SelectChoice
from ..htmx import render
from ..pagination import Order, paginate
from ..renewals.forms import PartForm
from ..renewals.models import SparePart
from ..roles import ALL, Role
from ..scoping import roles_required
from . import bp

ORDER = Order("part", (SparePart.name_zh, SparePart.id))


def part_form(**kwargs):
    form = PartForm(**kwargs)
    models = db.session.scalars(
        sa.select(EquipmentModel).order_by(EquipmentModel.manufacturer, EquipmentModel.model_number)
    )
    form.models.choices = [SelectChoice(m.id, m.label) for m in models]
    return form


@bp.get("/")
@roles_required(*ALL)
def index():
    page = paginate(sa.select(SparePart).options(selectinload(SparePart.models)).order_by(SparePart.name_zh), ORDER)
    return render("parts/index.html", fragment="parts/_table.html", page=page)


def save(form, part):
    for name in ("name_zh", "name_en", "unit_price", "market_price"):
        setattr(part, name, getattr(form, name).data)
    part.name_en = part.name_en or ""
    part.models = db.session.scalars(
        sa.select(EquipmentModel).where(EquipmentModel.id.in_(form.models.data or []))
    ).all()


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.VENDOR_MANAGER)
def new():
    form = part_form()
    if form.validate_on_submit():
        part = SparePart()
        save(form, part)
        db.session.add(part)
        db.session.commit()
        flash(_("%(name)s is on the price list.", name=part.name), "success")
        return redirect(url_for("parts.index"))
    return render_template("parts/form.html", form=form, part=None)


@bp.route("/<int:part_id>/edit", methods=["GET", "POST"])
@roles_required(Role.VENDOR_MANAGER)
def edit(part_id):
    part = db.get_or_404(SparePart, part_id)
    form = part_form(
        data={
            "name_zh": part.name_zh,
            "name_en": part.name_en,
            "unit_price": part.unit_price,
            "market_price": part.market_price,
            "models": [m.id for m in part.models],
        }
    )
    if form.validate_on_submit():
        save(form, part)
        db.session.commit()
        flash(_("%(name)s is saved.", name=part.name), "success")
        return redirect(url_for("parts.index"))
    return render_template("parts/form.html", form=form, part=part)


@bp.post("/<int:part_id>/delete")
@roles_required(Role.VENDOR_MANAGER)
def delete(part_id):
    part = db.get_or_404(SparePart, part_id)
    db.session.delete(part)
    db.session.commit()
    flash(_("%(name)s is removed from the price list.", name=part.name), "success")
    return redirect(url_for("parts.index"))
