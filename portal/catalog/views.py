import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..htmx import render
from ..pagination import Order, paginate
from ..roles import VENDOR
from ..scoping import roles_required
from ..search import matches
from . import bp
from .forms import EquipmentModelForm
from .models import Category, EquipmentModel

ORDER = Order("model", (EquipmentModel.manufacturer, EquipmentModel.model_number, EquipmentModel.id))


@bp.get("/")
@roles_required(*VENDOR)
def index():
    q = request.args.get("q", "").strip()
    category = request.args.get("category", "")
    query = sa.select(EquipmentModel).order_by(EquipmentModel.manufacturer, EquipmentModel.model_number)
    if q:
        query = query.where(
            matches(
                q,
                EquipmentModel.manufacturer,
                EquipmentModel.model_number,
                EquipmentModel.name_zh,
                EquipmentModel.name_en,
            )
        )
    if category in Category.__members__.values():
        query = query.where(EquipmentModel.category == category)
    page = paginate(query, ORDER)
    return render(
        "catalog/index.html",
        fragment="catalog/_table.html",
        page=page,
        q=q,
        category=category,
        categories=list(Category),
    )


def _taken(form, exclude_id=None):
    q = sa.select(EquipmentModel.id).where(
        EquipmentModel.manufacturer == form.manufacturer.data, EquipmentModel.model_number == form.model_number.data
    )
    if exclude_id:
        q = q.where(EquipmentModel.id != exclude_id)
    return db.session.scalar(q.limit(1)) is not None


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*VENDOR)
def new():
    form = EquipmentModelForm()
    if form.validate_on_submit():
        if _taken(form):
            form.model_number.errors.append(_("This manufacturer already has a model with this number."))
        else:
            model = EquipmentModel()
            form.populate_obj(model)
            db.session.add(model)
            db.session.commit()
            flash(_("Model %(name)s is added.", name=model.label), "success")
            return redirect(url_for("catalog.index"))
    return render_template("catalog/form.html", form=form, model=None)


@bp.route("/<int:model_id>/edit", methods=["GET", "POST"])
@roles_required(*VENDOR)
def edit(model_id):
    model = db.get_or_404(EquipmentModel, model_id)
    form = EquipmentModelForm(obj=model)
    if form.validate_on_submit():
        if _taken(form, exclude_id=model.id):
            form.model_number.errors.append(_("This manufacturer already has a model with this number."))
        else:
            form.populate_obj(model)
            db.session.commit()
            flash(_("Model %(name)s is saved.", name=model.label), "success")
            return redirect(url_for("catalog.index"))
    return render_template("catalog/form.html", form=form, model=model)
