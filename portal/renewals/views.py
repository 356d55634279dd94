from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from ..bounds import db_id, page_number
from ..contracts.models import Contract
from ..equipment.filters import EquipmentFilter
from ..equipment.models import Equipment
from ..extensions import db
from ..htmx import render
from ..i18n import local_today
from ..roles import VENDOR, Role
from ..scoping import roles_required
from . import bp, services
from .forms import DeclineForm, IssueForm, LineForm, RequestForm
from .models import QuoteEvent, QuoteLine, QuoteStatus, RenewalCoverage, RenewalQuote
from .pricing import YEARS, indicative_price, in_words

VIEWERS = (*VENDOR, Role.CLIENT_ADMIN, Role.CLIENT_STAFF)
REQUESTERS = (Role.CLIENT_ADMIN, Role.CLIENT_STAFF)
PERCENT = Decimal(100)


def expire_due():
    if services.expire_due(local_today()):
        db.session.commit()


def load(quote_id):
    return db.first_or_404(RenewalQuote.scoped(current_user, RenewalQuote.id == quote_id).options(
        joinedload(RenewalQuote.client), joinedload(RenewalQuote.contract),
        selectinload(RenewalQuote.lines).joinedload(QuoteLine.equipment),
        selectinload(RenewalQuote.events).joinedload(QuoteEvent.user),
    ))


@bp.get("/")
@roles_required(*VIEWERS)
def index():
    expire_due()
    status = request.args.get("status", "")
    query = RenewalQuote.scoped(current_user).options(joinedload(RenewalQuote.client))
    if status in QuoteStatus.__members__.values():
        query = query.where(RenewalQuote.status == status)
    query = query.order_by(RenewalQuote.requested_at.desc(), RenewalQuote.id.desc())
    page = db.paginate(query, page=page_number(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    totals = dict(db.session.execute(
        sa.select(QuoteLine.quote_id, sa.func.sum(QuoteLine.amount))
        .where(QuoteLine.quote_id.in_([q.id for q in page.items])).group_by(QuoteLine.quote_id)
    ).all()) if page.items else {}
    return render("renewals/index.html", fragment="renewals/_table.html", page=page, status=status,
                  statuses=list(QuoteStatus), totals=totals)


def chosen_units():
    """The units a request names: ``?unit=…`` ids, or a list filter (e.g. ``?state=expiring``), in scope."""
    ids = request.values.getlist("unit", type=db_id) or request.values.getlist("id", type=db_id)
    ids = list(dict.fromkeys(ids))[:services.MAX_UNITS + 1]  # one more than a quote takes: enough to say "too many"
    query = Equipment.scoped(current_user).options(joinedload(Equipment.model), joinedload(Equipment.contract))
    if ids:
        query = query.where(Equipment.id.in_(ids)).order_by(Equipment.id)
    elif request.args.get("state"):
        query = EquipmentFilter.from_args(request.args).apply(query)
    else:
        return []
    return db.session.scalars(query.limit(services.MAX_UNITS + 1)).all()


@bp.route("/request", methods=["GET", "POST"])
@roles_required(*REQUESTERS)
def request_quote():
    contract_id = request.values.get("contract", type=db_id)
    contract = Contract.get_or_404(contract_id, current_user) if contract_id else None
    units = [] if contract else chosen_units()
    form = RequestForm()
    if form.validate_on_submit():
        try:
            quote = services.request_quote(current_user, current_user.client_id, form.years.data, units=units,
                                           contract=contract, note=form.note.data, today=local_today())
        except services.QuoteRefused as refused:
            form.form_errors.append(refused.message)
        else:
            db.session.commit()
            flash(_("Quote %(number)s is requested. The vendor will price it; you will find it here.",
                    number=quote.number), "success")
            return redirect(url_for("renewals.show", quote_id=quote.id))
    years = form.years.data if form.years.data in YEARS else 1  # as chosen, or 1 while the choice is refused
    lines = [services.contract_line(contract, years)] if contract else []
    priced, unpriced = [], []
    for unit in units[:services.MAX_UNITS]:
        (priced if unit.unit_price is not None else unpriced).append(unit)
    yearly = {u.id: indicative_price(u.unit_price, u.contract.renewal_rate) for u in priced}
    per_year = sum(yearly.values(), Decimal(0))
    return render_template("renewals/request.html", form=form, contract=contract, units=units[:services.MAX_UNITS],
                           per_year=per_year, yearly=yearly,
                           too_many=len(units) > services.MAX_UNITS, lines=lines, unpriced=unpriced,
                           today=local_today(), expiring_days=current_app.config["WARRANTY_EXPIRING_DAYS"])


def quote_page(quote, **forms):
    today = local_today()
    forms.setdefault("issue_form", IssueForm(data={"valid_until": today + timedelta(days=30)}))
    forms.setdefault("decline_form", DeclineForm())
    line_forms = {line.id: LineForm(prefix=f"l{line.id}", data={
        "rate_percent": line.rate * PERCENT, "discount_percent": line.discount * PERCENT, "ceiling": line.ceiling,
    }) for line in quote.lines}
    line_forms.update(forms.pop("line_forms", {}))
    total = quote.lines_total
    coverage = db.session.scalars(
        sa.select(RenewalCoverage).where(RenewalCoverage.quote_id == quote.id)
        .options(joinedload(RenewalCoverage.equipment).joinedload(Equipment.model))
        .order_by(RenewalCoverage.id).limit(100)
    ).all() if quote.status_enum is QuoteStatus.ACCEPTED else []
    return render_template("renewals/show.html", quote=quote, total=total, upper=in_words(total), today=today,
                           line_forms=line_forms, coverage=coverage, **forms)


@bp.get("/<int:quote_id>")
@roles_required(*VIEWERS)
def show(quote_id):
    expire_due()
    return quote_page(load(quote_id))


@bp.get("/<int:quote_id>/print")
@roles_required(*VIEWERS)
def print_quote(quote_id):
    expire_due()
    quote = load(quote_id)
    total = quote.lines_total
    return render_template("renewals/print.html", quote=quote, total=total, upper=in_words(total))


def refuse(quote, refused, **forms):
    flash(refused.message, "danger")
    return quote_page(quote, **forms)


@bp.post("/<int:quote_id>/lines/<int:line_id>")
@roles_required(Role.VENDOR_MANAGER)
def update_line(quote_id, line_id):
    quote = load(quote_id)
    line = next((line for line in quote.lines if line.id == line_id), None)
    if line is None:
        abort(404)
    form = LineForm(prefix=f"l{line.id}")
    if not form.validate_on_submit():
        return quote_page(quote, line_forms={line.id: form})
    try:
        services.update_line(quote, line, current_user, rate=form.rate_percent.data / PERCENT,
                             discount=(form.discount_percent.data or Decimal(0)) / PERCENT, ceiling=form.ceiling.data)
    except services.QuoteRefused as refused:
        return refuse(quote, refused)
    db.session.commit()
    flash(_("The line is updated."), "success")
    return redirect(url_for("renewals.show", quote_id=quote.id))


@bp.post("/<int:quote_id>/issue")
@roles_required(Role.VENDOR_MANAGER)
def issue(quote_id):
    quote = load(quote_id)
    form = IssueForm()
    if not form.validate_on_submit():
        return quote_page(quote, issue_form=form)
    try:
        services.issue(quote, current_user, form.valid_until.data, form.terms.data, today=local_today())
    except services.QuoteRefused as refused:
        return refuse(quote, refused, issue_form=form)
    db.session.commit()
    flash(_("Quote %(number)s is issued to the client.", number=quote.number), "success")
    return redirect(url_for("renewals.show", quote_id=quote.id))


@bp.post("/<int:quote_id>/accept")
@roles_required(Role.CLIENT_ADMIN)
def accept(quote_id):
    quote = load(quote_id)
    try:
        services.accept(quote, current_user, local_today())
    except services.QuoteRefused as refused:
        return refuse(quote, refused)
    db.session.commit()
    flash(_("Quote %(number)s is accepted: the units are covered as shown.", number=quote.number), "success")
    return redirect(url_for("renewals.show", quote_id=quote.id))


@bp.post("/<int:quote_id>/decline")
@roles_required(Role.CLIENT_ADMIN)
def decline(quote_id):
    quote = load(quote_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return quote_page(quote, decline_form=form)
    try:
        services.decline(quote, current_user, form.reason.data, local_today())
    except services.QuoteRefused as refused:
        return refuse(quote, refused, decline_form=form)
    db.session.commit()
    flash(_("Quote %(number)s is declined.", number=quote.number), "info")
    return redirect(url_for("renewals.show", quote_id=quote.id))
