from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from .. import steps
from ..bounds import CONTROL_MESSAGE, db_id, has_control, optional_id
from ..contracts.models import Contract
from ..equipment.filters import EquipmentFilter
from ..equipment.models import Equipment
from ..extensions import db
from ..htmx import is_htmx, render
from ..i18n import local_today
from ..pagination import Order, paginate
from ..roles import VENDOR, Role
from ..scoping import roles_required
from ..steps import Refused, kept_text, version_of
from . import bp, services
from .forms import AcceptForm, DeclineForm, IssueForm, LineForm, RequestForm
from .models import QuoteEvent, QuoteLine, QuoteStatus, RenewalCoverage, RenewalQuote
from .pricing import YEARS, in_words, indicative_price

ORDER = Order("requested", (RenewalQuote.requested_at, RenewalQuote.id), desc=True)

VIEWERS = (*VENDOR, Role.CLIENT_ADMIN, Role.CLIENT_STAFF)
REQUESTERS = (Role.CLIENT_ADMIN, Role.CLIENT_STAFF)
PERCENT = Decimal(100)


def load(quote_id):
    return db.first_or_404(
        RenewalQuote.scoped(current_user, RenewalQuote.id == quote_id).options(
            joinedload(RenewalQuote.client),
            joinedload(RenewalQuote.contract),
            selectinload(RenewalQuote.lines).joinedload(QuoteLine.equipment),
            selectinload(RenewalQuote.events).joinedload(QuoteEvent.user),
        )
    )


@bp.get("/")
@roles_required(*VIEWERS)
def index():
    today = local_today()
    status = request.args.get("status", "")
    query = RenewalQuote.scoped(current_user).options(joinedload(RenewalQuote.client))
    if status in QuoteStatus.__members__.values():
        query = query.where(RenewalQuote.status_on(today) == status)
    query = query.order_by(RenewalQuote.requested_at.desc(), RenewalQuote.id.desc())
    page = paginate(query, ORDER)
    totals = (
        dict(
            db.session.execute(
                sa.select(QuoteLine.quote_id, sa.func.sum(QuoteLine.amount))
                .where(QuoteLine.quote_id.in_([q.id for q in page.items]))
                .group_by(QuoteLine.quote_id)
            ).all()
        )
        if page.items
        else {}
    )
    return render(
        "renewals/index.html",
        fragment="renewals/_table.html",
        page=page,
        status=status,
        statuses=list(QuoteStatus),
        totals=totals,
        today=today,
        rates=None if is_htmx() else stated_rates(),
    )


def stated_rates():
    """The renewal rates of the contracts the user sees, as the page states them (one query, however many):
    ``count`` contracts, the lowest and highest rate, and the contract's number when there is one."""
    scoped = Contract.scoped(current_user).subquery()
    count, low, high, number = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.min(scoped.c.renewal_rate),
            sa.func.max(scoped.c.renewal_rate),
            sa.func.min(scoped.c.number),
        )
    ).one()
    return {"count": count, "low": low, "high": high, "number": number}


def units_in_scope(ids):
    """The units of ``ids`` the user may see, in id order; with the ids asked for that are not among them."""
    ids = list(dict.fromkeys(ids))[: services.MAX_UNITS + 1]  # one more than a quote takes: enough to say "too many"
    if not ids:
        return [], []
    units = db.session.scalars(
        Equipment.scoped(current_user, Equipment.id.in_(ids))
        .options(joinedload(Equipment.model), joinedload(Equipment.contract))
        .order_by(Equipment.id)
    ).all()
    found = {u.id for u in units}
    return units, [i for i in ids if i not in found]


def chosen_units():
    """The units a request names: ``?unit=…`` ids, or a list filter (e.g. ``?state=expiring``), in scope."""
    ids = request.args.getlist("unit", type=db_id) or request.args.getlist("id", type=db_id)
    if ids:
        return units_in_scope(ids)[0]
    if not request.args.get("state"):
        return []
    query = Equipment.scoped(current_user).options(joinedload(Equipment.model), joinedload(Equipment.contract))
    query = EquipmentFilter.from_args(request.args).apply(query)
    return db.session.scalars(query.limit(services.MAX_UNITS + 1)).all()


def posted_ids(name):
    """The ids the form sent under ``name``, or None when it sent none; a value that is not an id becomes -1, which
    no unit has, so that the request is refused like one naming a unit out of scope."""
    values = request.form.getlist(name)
    if not values:
        return None
    return [optional_id(v) or -1 for v in values]


@bp.route("/request", methods=["GET", "POST"])
@roles_required(*REQUESTERS)
def request_quote():
    contract_id = request.values.get("contract", type=db_id)
    contract = Contract.get_or_404(contract_id, current_user) if contract_id else None
    form = RequestForm()
    # The units listed on the page (``listed``) and those ticked (``unit``) travel with the form; a form without
    # them (sent from elsewhere) asks for the units its address names, all of them.
    listed_ids, ticked_ids = posted_ids("listed"), posted_ids("unit")
    if listed_ids is None:
        listed_ids = ticked_ids  # units sent in the form without the list: those, all ticked
    posted = request.method == "POST" and not contract and listed_ids is not None
    missing = []
    if contract:
        units = []
    elif posted:
        units, missing = units_in_scope(listed_ids + [i for i in ticked_ids or [] if i not in listed_ids])
    else:
        units = chosen_units()
    ticked = {u.id for u in units} if not posted else set(ticked_ids or []) & {u.id for u in units}
    valid = form.validate_on_submit()  # the per-field messages, whatever else is refused
    if posted and any(has_control(v) for name in ("unit", "listed") for v in request.form.getlist(name)):
        form.form_errors.append(CONTROL_MESSAGE)  # a unit named with invisible codes: said as for any field
    elif posted and missing:
        form.form_errors.append(
            _("Some of the units sent are not yours to renew, or no longer exist: check the list and ask again.")
        )
    elif posted and not ticked:
        form.form_errors.append(_("Tick at least one unit to renew."))
    elif valid:
        try:
            quote = services.request_quote(
                current_user,
                current_user.client_id,
                form.years.data,
                units=[u for u in units if u.id in ticked],
                contract=contract,
                note=form.note.data,
                today=local_today(),
            )
        except services.QuoteRefused as refused:
            form.form_errors.append(refused.message)
        else:
            steps.land_on(url_for("renewals.show", quote_id=quote.id))
            db.session.commit()
            flash(
                _(
                    "Quote %(number)s is requested. The vendor will price it; you will find it here.",
                    number=quote.number,
                ),
                "success",
            )
            return redirect(url_for("renewals.show", quote_id=quote.id))
    years = form.years.data if form.years.data in YEARS else 1  # as chosen, or 1 while the choice is refused
    lines = [services.contract_line(contract, years)] if contract else []
    too_many = len(units) > services.MAX_UNITS
    units = units[: services.MAX_UNITS]
    reasons = {u.id: reason for u in units if (reason := services.unpriced_reason(u))}
    if not posted:  # ticked at first: the units the portal can price
        ticked = {u.id for u in units if u.id not in reasons}
    yearly = {u.id: indicative_price(u.unit_price, u.contract.renewal_rate) for u in units if u.id not in reasons}
    per_year = sum((amount for unit_id, amount in yearly.items() if unit_id in ticked), Decimal(0))
    return render_template(
        "renewals/request.html",
        form=form,
        contract=contract,
        units=units,
        per_year=per_year,
        yearly=yearly,
        reasons=reasons,
        ticked=ticked,
        too_many=too_many,
        lines=lines,
        today=local_today(),
        expiring_days=current_app.config["WARRANTY_EXPIRING_DAYS"],
    )


def quote_page(quote, status=200, kept=(), **forms):
    """The quote with its forms: new ones carry the quote's version; a submitted one keeps what was typed (and is
    given the current version, so that sent again it applies to the quote as shown now)."""
    today = local_today()
    v = quote.version
    forms.setdefault("issue_form", IssueForm(formdata=None, data={"valid_until": today + timedelta(days=30)}))
    forms.setdefault("accept_form", AcceptForm(formdata=None))
    forms.setdefault("decline_form", DeclineForm(formdata=None))
    line_forms = {
        line.id: LineForm(
            formdata=None,
            prefix=f"l{line.id}",
            data={
                "rate_percent": line.rate * PERCENT,
                "discount_percent": line.discount * PERCENT,
                "ceiling": line.ceiling,
            },
        )
        for line in quote.lines
    }
    line_forms.update(forms.pop("line_forms", {}))
    for form in [*forms.values(), *line_forms.values()]:
        form.version.data = v
    total = quote.lines_total
    coverage = (
        db.session.scalars(
            sa.select(RenewalCoverage)
            .where(RenewalCoverage.quote_id == quote.id)
            .options(joinedload(RenewalCoverage.equipment).joinedload(Equipment.model))
            .order_by(RenewalCoverage.id)
            .limit(100)
        ).all()
        if quote.status_enum is QuoteStatus.ACCEPTED
        else []
    )
    return render_template(
        "renewals/show.html",
        quote=quote,
        total=total,
        upper=in_words(total),
        today=today,
        line_forms=line_forms,
        coverage=coverage,
        kept=kept,
        **forms,
    ), status


@bp.get("/<int:quote_id>")
@roles_required(*VIEWERS)
def show(quote_id):
    return quote_page(load(quote_id))


@bp.get("/<int:quote_id>/print")
@roles_required(*VIEWERS)
def print_quote(quote_id):
    quote = load(quote_id)
    total = quote.lines_total
    return render_template("renewals/print.html", quote=quote, total=total, upper=in_words(total), today=local_today())


def step(quote_id, move, form, shown, done):
    """A quote's step: locked, the version the page showed checked, moved, committed once; refused with the
    quote shown as it is now and the form as typed (``shown``: how ``quote_page`` takes it)."""
    try:
        quote = steps.take(RenewalQuote, quote_id, current_user, move, version=version_of(form))
    except Refused as refused:
        db.session.rollback()
        flash(refused.message, "danger")
        return quote_page(load(quote_id), refused.status, kept=kept_text(form), **shown)
    steps.land_on(url_for("renewals.show", quote_id=quote_id))
    db.session.commit()
    flash(*done(quote))
    return redirect(url_for("renewals.show", quote_id=quote_id))


@bp.post("/<int:quote_id>/lines/<int:line_id>")
@roles_required(Role.VENDOR_MANAGER)
def update_line(quote_id, line_id):
    quote = load(quote_id)
    if all(line.id != line_id for line in quote.lines):
        abort(404)
    form = LineForm(prefix=f"l{line_id}")
    valid = form.validate_on_submit()
    if valid and form.basis.data is None and any(line.id == line_id and line.to_be_priced for line in quote.lines):
        form.basis.errors = [
            *form.basis.errors,
            _("Enter the price of this unit: the quote is issued only when every line has its price."),
        ]
        valid = False
    if not valid:
        return quote_page(quote, line_forms={line_id: form})

    def move(quote):
        line = next((line for line in quote.lines if line.id == line_id), None)
        if line is None:
            abort(404)
        services.update_line(
            quote,
            line,
            current_user,
            rate=form.rate_percent.data / PERCENT,
            discount=(form.discount_percent.data or Decimal(0)) / PERCENT,
            ceiling=form.ceiling.data,
            basis=form.basis.data,
        )

    return step(
        quote_id, move, form, {"line_forms": {line_id: form}}, lambda quote: (_("The line is updated."), "success")
    )


@bp.post("/<int:quote_id>/issue")
@roles_required(Role.VENDOR_MANAGER)
def issue(quote_id):
    form = IssueForm()
    if not form.validate_on_submit():
        return quote_page(load(quote_id), issue_form=form)
    return step(
        quote_id,
        lambda quote: services.issue(quote, current_user, form.valid_until.data, form.terms.data, today=local_today()),
        form,
        {"issue_form": form},
        lambda quote: (_("Quote %(number)s is issued to the client.", number=quote.number), "success"),
    )


@bp.post("/<int:quote_id>/accept")
@roles_required(Role.CLIENT_ADMIN)
def accept(quote_id):
    form = AcceptForm()
    if not form.validate_on_submit():
        return quote_page(load(quote_id), accept_form=form)
    return step(
        quote_id,
        lambda quote: services.accept(quote, current_user, local_today()),
        form,
        {"accept_form": form},
        lambda quote: (
            _("Quote %(number)s is accepted: the units are covered as shown.", number=quote.number),
            "success",
        ),
    )


@bp.post("/<int:quote_id>/decline")
@roles_required(Role.CLIENT_ADMIN)
def decline(quote_id):
    form = DeclineForm()
    if not form.validate_on_submit():
        return quote_page(load(quote_id), decline_form=form)
    return step(
        quote_id,
        lambda quote: services.decline(quote, current_user, form.reason.data, local_today()),
        form,
        {"decline_form": form},
        lambda quote: (_("Quote %(number)s is declined.", number=quote.number), "info"),
    )
