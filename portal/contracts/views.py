from decimal import Decimal

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..bounds import db_id
from ..equipment import services as equipment_services
from ..equipment.models import Equipment
from ..equipment.warranty import LISTED_STATES, add_months
from ..extensions import db
from ..forms import SelectChoice
from ..htmx import render
from ..i18n import local_today
from ..orgs.models import Client
from ..pagination import Order, paginate
from ..renewals.pricing import indicative_price
from ..roles import ALL, Role
from ..scoping import roles_required
from ..search import matches
from ..sla import services as sla_services
from ..sla.forms import SlaPolicyForm
from ..sla.holidays import business_calendar
from ..sla.models import TARGETS, Severity
from . import bp
from .forms import ContractForm
from .models import Contract

DEPOSIT_PERCENT, DEPOSIT_MONTHS = Decimal(5), 12
ORDER = Order("signed", (Contract.signed_on, Contract.id), desc=True)


@bp.get("/")
@roles_required(*ALL)
def index():
    q = request.args.get("q", "").strip()
    query = (
        Contract.scoped(current_user)
        .options(joinedload(Contract.client))
        .order_by(Contract.signed_on.desc(), Contract.id.desc())
    )
    if q:
        query = query.where(matches(q, Contract.number, Contract.title))
    page = paginate(query, ORDER)
    ids = [c.id for c in page.items]
    counts = (
        dict(
            db.session.execute(
                Equipment.scoped(current_user, Equipment.contract_id.in_(ids))
                .with_only_columns(Equipment.contract_id, sa.func.count())
                .group_by(Equipment.contract_id)
            ).all()
        )
        if ids
        else {}
    )
    return render("contracts/index.html", fragment="contracts/_table.html", page=page, q=q, counts=counts)


@bp.get("/<int:contract_id>")
@roles_required(*ALL)
def show(contract_id):
    contract = Contract.get_or_404(contract_id, current_user)
    by_state = equipment_services.count_by_state(Equipment.scoped(current_user, Equipment.contract_id == contract.id))
    from ..documents.views import for_contract  # here, not at the top: the blueprints' views import each other's models
    from ..inspections.models import InspectionPlan

    plan = db.session.scalar(sa.select(InspectionPlan).where(InspectionPlan.contract_id == contract.id))
    return render_template(
        "contracts/show.html",
        contract=contract,
        by_state=by_state,
        documents=for_contract(contract, current_user),
        inspection_plan=plan,
        units=sum(by_state.values()),
        states=LISTED_STATES,
        renewal_per_year=indicative_price(contract.price, contract.renewal_rate),
        policy=sla_services.policy_for(contract.id),
        targets=TARGETS,
        deposit_amount=(contract.price * contract.deposit_rate).quantize(Decimal("0.01")),
        deposit_due=add_months(contract.accepted_on, contract.deposit_months) if contract.accepted_on else None,
    )


def _client_choices():
    clients = db.session.scalars(sa.select(Client).order_by(Client.name_zh))
    return [SelectChoice("", _("— choose —"))] + [SelectChoice(c.id, c.name) for c in clients]


def _save(form, contract):
    contract.client_id = form.client.data
    for name in (
        "number",
        "title",
        "signed_on",
        "accepted_on",
        "price",
        "warranty_months",
        "renewal_ceiling",
        "deposit_returned_on",
    ):
        setattr(contract, name, getattr(form, name).data)
    contract.renewal_rate = (form.renewal_percent.data / Decimal(100)).quantize(Decimal("0.0001"))
    # An empty deposit field is the bids' figure: 5 % of the price, returned 12 months after acceptance.
    deposit_percent = DEPOSIT_PERCENT if form.deposit_percent.data is None else form.deposit_percent.data
    contract.deposit_rate = (deposit_percent / Decimal(100)).quantize(Decimal("0.0001"))
    contract.deposit_months = DEPOSIT_MONTHS if form.deposit_months.data is None else form.deposit_months.data


def _number_taken(number, exclude_id=None):
    q = sa.select(Contract.id).where(Contract.number == number)
    if exclude_id:
        q = q.where(Contract.id != exclude_id)
    return db.session.scalar(q.limit(1)) is not None


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.VENDOR_MANAGER)
def new():
    form = ContractForm()
    form.client.choices = _client_choices()
    if not form.is_submitted() and request.args.get("client", type=db_id):
        form.client.data = request.args.get("client", type=db_id)
    if form.validate_on_submit():
        if _number_taken(form.number.data):
            form.number.errors.append(_("A contract with this number already exists."))
        else:
            contract = Contract()
            _save(form, contract)
            db.session.add(contract)
            db.session.commit()
            flash(_("Contract %(number)s is created.", number=contract.number), "success")
            return redirect(url_for("contracts.show", contract_id=contract.id))
    return render_template("contracts/form.html", form=form, contract=None)


@bp.route("/<int:contract_id>/edit", methods=["GET", "POST"])
@roles_required(Role.VENDOR_MANAGER)
def edit(contract_id):
    contract = db.get_or_404(Contract, contract_id)
    form = ContractForm(
        data={
            "client": contract.client_id,
            "number": contract.number,
            "title": contract.title,
            "signed_on": contract.signed_on,
            "accepted_on": contract.accepted_on,
            "price": contract.price,
            "warranty_months": contract.warranty_months,
            "renewal_percent": contract.renewal_rate * 100,
            "renewal_ceiling": contract.renewal_ceiling,
            "deposit_percent": contract.deposit_rate * 100,
            "deposit_months": contract.deposit_months,
            "deposit_returned_on": contract.deposit_returned_on,
        }
    )
    form.client.choices = _client_choices()
    if form.validate_on_submit():
        has_units = db.session.scalar(sa.select(Equipment.id).where(Equipment.contract_id == contract.id).limit(1))
        if _number_taken(form.number.data, exclude_id=contract.id):
            form.number.errors.append(_("A contract with this number already exists."))
        elif has_units and form.client.data != contract.client_id:
            form.client.errors.append(_("This contract has units registered: its client cannot change."))
        else:
            _save(form, contract)
            equipment_services.refresh_contract(contract)
            db.session.commit()
            flash(_("Contract %(number)s is saved.", number=contract.number), "success")
            return redirect(url_for("contracts.show", contract_id=contract.id))
    return render_template("contracts/form.html", form=form, contract=contract)


@bp.route("/<int:contract_id>/sla", methods=["GET", "POST"])
@roles_required(Role.VENDOR_MANAGER)
def sla(contract_id):
    contract = db.get_or_404(Contract, contract_id)
    policy = sla_services.policy_for(contract.id)
    form = SlaPolicyForm(data=sla_services.form_data(policy))
    if form.validate_on_submit():
        sla_services.save_policy(contract.id, form, current_user)
        db.session.commit()
        flash(_("The service levels of %(number)s are saved.", number=contract.number), "success")
        return redirect(url_for("contracts.show", contract_id=contract.id))
    today = local_today()
    unconfirmed = sorted(business_calendar().unconfirmed_years(today, today.replace(year=today.year + 1)))
    return render_template(
        "contracts/sla.html",
        contract=contract,
        form=form,
        severities=list(Severity),
        targets=TARGETS,
        unconfirmed=unconfirmed,
    )
