import io as io_module
import json
from datetime import date, datetime, timedelta
from functools import lru_cache

import segno
import sqlalchemy as sa
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import joinedload, selectinload

from .. import choices  # the module, not its function (a cycle: choices, models, views)
from ..bounds import db_id
from ..catalog.models import Category, EquipmentModel
from ..contracts.models import Contract
from ..extensions import db
from ..htmx import is_htmx, render
from ..i18n import local_today
from ..orgs.models import Site
from ..pagination import paginate
from ..renewals.pricing import indicative_price
from ..roles import ALL, VENDOR, Role
from ..scoping import roles_required
from ..tickets.models import Status as TicketStatus
from ..tickets.models import Ticket
from ..tickets.scan import scan_token
from ..tickets.services import record_replacement
from ..types import utcnow
from ..uploads import UploadRefused, normalise_name
from . import bp, io, services
from .filters import EquipmentFilter
from .forms import EquipmentForm, ExtensionForm, ImportForm, ReplacementForm
from .models import Equipment, ImportBatch, Status, WarrantyExtension
from .warranty import LISTED_STATES, STOPPED_WORK_DAYS

EDITORS = (*VENDOR, Role.CLIENT_ADMIN, Role.CLIENT_STAFF)
LABELS_MAX = 240  # ten A4 sheets of 24 labels
UNIT_TICKETS = 20  # the latest fault reports on a unit's page
ARRIVABLE = {
    s.value for s in (TicketStatus.RESPONDED, TicketStatus.IN_PROGRESS, TicketStatus.WAITING, TicketStatus.REOPENED)
}


def expiring_days():
    return current_app.config["WARRANTY_EXPIRING_DAYS"]


def list_query(filters):
    return filters.apply(Equipment.scoped(current_user)).options(
        joinedload(Equipment.model), joinedload(Equipment.site), joinedload(Equipment.contract)
    )


def filter_choices(filters):
    """The options of the list's filters: the client and its sites (bounded: portal.choices), the catalogue's models,
    categories, states. Checks the filter's client, site and contract on the way (a site of another client than
    the one just chosen is dropped)."""
    scope = choices.scope_choices(current_user, filters.client, filters.site, filters.contract)
    filters.client, filters.site, filters.contract = scope.client, scope.site, scope.contract
    models = db.session.scalars(
        sa.select(EquipmentModel).order_by(EquipmentModel.manufacturer, EquipmentModel.model_number)
    ).all()
    return {
        "scope": scope,
        "scope_oob": is_htmx(),
        "models": models,
        "categories": list(Category),
        "statuses": list(Status),
        "states": LISTED_STATES,
    }


@bp.get("/")
@roles_required(*ALL)
def index():
    filters = EquipmentFilter.from_args(request.args)
    choices = filter_choices(filters)
    page = paginate(list_query(filters), filters.order)
    return render(
        "equipment/index.html",
        fragment="equipment/_table.html",
        page=page,
        filters=filters,
        today=local_today(),
        expiring_days=expiring_days(),
        **choices,
    )


@bp.get("/export.<any(csv, xlsx):fmt>")
@roles_required(*ALL)
def export(fmt):
    filters = EquipmentFilter.from_args(request.args)
    query = filters.apply(Equipment.scoped(current_user))
    today, days = local_today(), expiring_days()

    def rows():  # a generator function: the query runs when the response is read (io.csv_response)
        yield from io.export_rows(query, today, days)

    headers, filename = io.export_headers(), f"equipment-{today.isoformat()}.{fmt}"
    if fmt == "csv":
        return io.csv_response(headers, rows(), filename)
    return io.xlsx_response(headers, rows(), _("Equipment"), filename)


def qr_code(unit, scale=4):
    """The unit's page as a QR code, inline SVG (no script, no external image): scanning it opens the unit."""
    return qr_markup(url_for("equipment.show", unit_id=unit.id, _external=True), scale)


def qr_markup(url, scale=4):
    """A portal address as a QR code, inline SVG: segno's own markup (the address is the portal's, URL-encoded)."""
    return Markup(qr_svg(url, scale))  # nosec B704  # segno's SVG of the portal's own URL-encoded address


@lru_cache(maxsize=1024)
def qr_svg(url, scale):
    """A QR code is a pure function of its address, and encoding one costs more than the rest of the unit's page in
    Python: kept for the units opened lately (a few KB each)."""
    return segno.make(url, error="m").svg_inline(scale=scale, omitsize=True, dark="#1b2a3a")


def unit_page(unit_id, form, status=200, replacement_form=None):
    unit = db.first_or_404(
        Equipment.scoped(current_user, Equipment.id == unit_id).options(
            joinedload(Equipment.model),
            joinedload(Equipment.site),
            joinedload(Equipment.contract),
            selectinload(Equipment.extensions).joinedload(WarrantyExtension.created_by),
        )
    )
    today = local_today()
    per_year = indicative_price(unit.unit_price, unit.contract.renewal_rate)
    tickets = db.session.scalars(
        sa.select(Ticket)
        .where(Ticket.equipment_id == unit.id)
        .options(joinedload(Ticket.assignee))
        .order_by(Ticket.is_open.desc(), Ticket.filed_at.desc())
        .limit(UNIT_TICKETS)
    ).all()
    # Opened from the QR label by an engineer: each open ticket offers "on site now", with this moment signed.
    now = utcnow()
    scans = {t.id: scan_token(t, now) for t in tickets if current_user.is_vendor and t.status in ARRIVABLE}
    from ..documents.views import for_unit  # here, not at the top: the blueprints' views import each other's models
    from ..inspections.views import unit_history

    return render_template(
        "equipment/show.html",
        unit=unit,
        qr=qr_code(unit),
        today=today,
        documents=for_unit(unit, current_user),
        inspections=unit_history(unit.id),
        expiring_days=expiring_days(),
        state=unit.warranty_state(today, expiring_days()),
        form=form,
        renewal_per_year=per_year,
        tickets=tickets,
        scans=scans,
        now=now,
        replacement_form=replacement_form or ReplacementForm(),
        stopped_work_days=STOPPED_WORK_DAYS,
    ), status


@bp.get("/<int:unit_id>")
@roles_required(*ALL)
def show(unit_id):
    return unit_page(unit_id, ExtensionForm())


def _values(form):
    return {
        "site_id": form.site.data,
        "model_id": form.model.data,
        "serial": form.serial.data,
        "asset_tag": form.asset_tag.data,
        "building": form.building.data,
        "room": form.room.data,
        "installed_on": form.installed_on.data,
        "warranty_start": form.warranty_start.data,
        "warranty_months": form.warranty_months.data,
        "unit_price": form.unit_price.data,
        "status": form.status.data,
    }


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new():
    form = EquipmentForm(current_user)
    if not form.is_submitted():
        form.contract.data = request.args.get("contract", type=db_id)
        form.site.data = request.args.get("site", type=db_id)
    if form.validate_on_submit():
        contract = Contract.get_or_404(form.contract.data, current_user)
        try:
            unit = services.save_unit(Equipment(), contract, **_values(form))
        except services.SerialTaken:
            form.serial.errors.append(_("A unit of this model with this serial number is already registered."))
        else:
            db.session.commit()
            flash(_("Unit %(serial)s is registered.", serial=unit.serial), "success")
            return redirect(url_for("equipment.show", unit_id=unit.id))
    return render_template("equipment/form.html", form=form, unit=None)


@bp.route("/<int:unit_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit(unit_id):
    unit = Equipment.get_or_404(unit_id, current_user)
    data = {name: getattr(unit, name) for name in services.FIELDS}
    data.update(contract=unit.contract_id, site=unit.site_id, model=unit.model_id)
    form = EquipmentForm(current_user, data=data)
    if form.validate_on_submit():
        contract = Contract.get_or_404(form.contract.data, current_user)
        try:
            services.save_unit(unit, contract, **_values(form))
        except services.SerialTaken:
            form.serial.errors.append(_("A unit of this model with this serial number is already registered."))
        else:
            db.session.commit()
            flash(_("Unit %(serial)s is saved.", serial=unit.serial), "success")
            return redirect(url_for("equipment.show", unit_id=unit.id))
    return render_template("equipment/form.html", form=form, unit=unit)


@bp.post("/<int:unit_id>/extensions")
@roles_required(*VENDOR)
def extend(unit_id):
    unit = Equipment.get_or_404(unit_id, current_user)
    form = ExtensionForm(unit=unit)
    if form.validate_on_submit():
        services.extend_warranty(unit, form.days.data, form.reason.data, by=current_user)
        db.session.commit()
        flash(_("The warranty is extended by %(days)d days.", days=form.days.data), "success")
        return redirect(url_for("equipment.show", unit_id=unit.id))
    return unit_page(unit.id, form)


@bp.post("/<int:unit_id>/replacement")
@roles_required(*VENDOR)
def replacement(unit_id):
    """The vendor records the unconditional replacement of a unit flagged "replacement due"."""
    unit = Equipment.get_or_404(unit_id, current_user)
    form = ReplacementForm()
    if unit.replacement_due_since is None:
        flash(_("This unit is not due for replacement."), "warning")
        return redirect(url_for("equipment.show", unit_id=unit.id))
    if form.validate_on_submit():
        record_replacement(unit, current_user, form.note.data)
        db.session.commit()
        flash(_("The replacement is recorded."), "success")
        return redirect(url_for("equipment.show", unit_id=unit.id))
    return unit_page(unit.id, ExtensionForm(), replacement_form=form)


@bp.get("/labels")
@roles_required(*ALL)
def labels():
    """A printable A4 sheet: the selected units (``?id=…``), or else the units of the current filter."""
    ids = [i for i in request.args.getlist("id", type=db_id)][:LABELS_MAX]
    if ids:
        query = (
            Equipment.scoped(current_user, Equipment.id.in_(ids))
            .options(joinedload(Equipment.model))
            .order_by(Equipment.id)
        )
    else:
        query = list_query(EquipmentFilter.from_args(request.args))
    units = db.session.scalars(query.limit(LABELS_MAX)).all()
    return render_template("equipment/labels.html", units=units, limit=LABELS_MAX)


@bp.get("/<int:unit_id>/qr.svg")
@roles_required(*ALL)
def qr(unit_id):
    """The unit's QR code as an image, for label sheets (cached by the browser: it never changes)."""
    unit = Equipment.get_or_404(unit_id, current_user)
    url = url_for("equipment.show", unit_id=unit.id, _external=True)
    out = io_module.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=4, border=0, dark="#000", xmldecl=False)
    response = Response(out.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


# ---------------------------------------------------------------- import


@bp.get("/import/template.<any(csv, xlsx):fmt>")
@roles_required(*EDITORS)
def import_template(fmt):
    headers, example = io.template_rows(current_user)
    if fmt == "csv":
        body, mimetype = io.to_csv(headers, [example]), "text/csv; charset=utf-8"
    else:
        body = io.to_xlsx(headers, [example], _("Equipment"))
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename=equipment-template.{fmt}"}
    )


def _jsonable(value):
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, (int, float, str)):
        return value
    return str(value)


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*EDITORS)
def import_file():
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        max_rows, max_bytes = current_app.config["IMPORT_MAX_ROWS"], current_app.config["IMPORT_MAX_BYTES"]
        try:
            filename = normalise_name(upload.filename)
            data = upload.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise io.FileProblem(
                    _(
                        "The file is larger than %(mb)d MB; import at most %(max)d rows at a time.",
                        mb=max_bytes // (1024 * 1024),
                        max=max_rows,
                    )
                )
            header, rows = io.read_rows(filename, data, max_rows)
        except UploadRefused as refused:
            form.file.errors.append(refused.message)
            return render_template("equipment/import.html", form=form)
        except io.FileProblem as problem:
            form.file.errors.append(str(problem))
            return render_template("equipment/import.html", form=form)
        importer = io.Importer(current_user)
        clean = importer.validate(header, rows)
        if clean is None:
            return render_template(
                "equipment/import.html",
                form=form,
                errors=importer.errors[:500],
                error_count=len(importer.errors),
                filename=filename,
            )
        db.session.execute(sa.delete(ImportBatch).where(ImportBatch.created_at < utcnow() - timedelta(days=1)))
        payload = json.dumps(
            {"header": [_jsonable(h) for h in header], "rows": [[_jsonable(c) for c in r] for r in rows]},
            ensure_ascii=False,
        )
        batch = ImportBatch(user_id=current_user.id, filename=filename, row_count=len(clean), payload=payload)
        db.session.add(batch)
        db.session.commit()
        return redirect(url_for("equipment.import_preview", batch_id=batch.id))
    return render_template("equipment/import.html", form=form)


def _batch_or_404(batch_id):
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.user_id != current_user.id:
        abort(404)
    return batch


@bp.get("/import/<int:batch_id>")
@roles_required(*EDITORS)
def import_preview(batch_id):
    batch = _batch_or_404(batch_id)
    data = json.loads(batch.payload)
    importer = io.Importer(current_user)
    clean = importer.validate(data["header"], data["rows"]) or []
    sites = {s.id: s for s in db.session.scalars(Site.scoped(current_user))}
    models = {m.id: m for m in db.session.scalars(sa.select(EquipmentModel))}
    return render_template(
        "equipment/import_preview.html",
        batch=batch,
        rows=clean[:50],
        sites=sites,
        models=models,
        errors=importer.errors[:500],
        error_count=len(importer.errors),
    )


@bp.post("/import/<int:batch_id>")
@roles_required(*EDITORS)
def import_confirm(batch_id):
    batch = _batch_or_404(batch_id)
    data = json.loads(batch.payload)
    importer = io.Importer(current_user)
    clean = importer.validate(data["header"], data["rows"])
    if clean is None:  # something changed since the preview (e.g. a serial registered meanwhile)
        flash(_("The file is no longer valid: see the problems below."), "danger")
        return redirect(url_for("equipment.import_preview", batch_id=batch.id))
    count = io.insert_rows(clean)
    db.session.delete(batch)
    db.session.commit()
    flash(ngettext("%(num)d unit is imported.", "%(num)d units are imported.", count), "success")
    return redirect(url_for("equipment.index", sort="new"))
