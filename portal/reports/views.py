"""Issuing the PDFs (a POST that records the request, the worker renders), the document's page (its progress while
it is rendered, then its hash and download), the download, and the list of a client's issued documents."""

from datetime import date

from flask import abort, redirect, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..contracts.models import Contract
from ..downloads import File, serve
from ..extensions import db
from ..htmx import render
from ..i18n import active_locale, local_today
from ..orgs.models import Site
from ..pagination import Order, paginate
from ..roles import ALL, VENDOR, Role
from ..scoping import roles_required
from . import bp, services
from .forms import PeriodForm
from .models import IssuedDocument, Kind

# Who may issue: an evidence pack is the client's (its administrator) or the vendor's; a warranty certificate also
# a school administrator's, for their school. Client IT staff see and download what was issued, but do not issue.
PACK_ISSUERS = (*VENDOR, Role.CLIENT_ADMIN)
CERTIFICATE_ISSUERS = (*VENDOR, Role.CLIENT_ADMIN, Role.SITE_ADMIN)
ORDER = Order("issued", (IssuedDocument.requested_at, IssuedDocument.id), desc=True)


def language():
    return str(active_locale() or "zh_Hans_CN")


def last_year(today):
    return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)


def given_period():
    """(start, end) from ``?start=…&end=…`` when both are dates in range and in order, else None (the form's
    own checks answer anything else when it is sent)."""
    try:
        start, end = date.fromisoformat(request.args["start"]), date.fromisoformat(request.args["end"])
    except (KeyError, ValueError):
        return None
    if not (date(1900, 1, 1) <= start <= end <= date(2200, 12, 31)):
        return None
    return start, end


@bp.get("/")
@roles_required(*ALL)
def index():
    query = (
        IssuedDocument.scoped(current_user)
        .options(
            joinedload(IssuedDocument.client), joinedload(IssuedDocument.site), joinedload(IssuedDocument.contract)
        )
        .order_by(IssuedDocument.requested_at.desc(), IssuedDocument.id.desc())
    )
    page = paginate(query, ORDER)
    return render("reports/index.html", fragment="reports/_table.html", page=page)


@bp.route("/contracts/<int:contract_id>/evidence", methods=["GET", "POST"])
@roles_required(*PACK_ISSUERS)
def evidence(contract_id):
    """The form of an evidence pack for a contract (the period); its POST issues it."""
    contract = Contract.get_or_404(contract_id, current_user)
    form = PeriodForm()
    if request.method == "GET":
        # The scorecard's period, when it links here; otherwise last calendar year (the annual assessment's).
        form.start.data, form.end.data = given_period() or last_year(local_today())
    if form.validate_on_submit():
        doc = services.request_document(
            Kind.EVIDENCE_PACK,
            current_user,
            client_id=contract.client_id,
            contract_id=contract.id,
            start=form.start.data,
            end=form.end.data,
            language=language(),
        )
        db.session.commit()
        services.enqueue(doc.id)
        return redirect(url_for("reports.show", doc_id=doc.id), 303)
    recent = db.session.scalars(
        IssuedDocument.scoped(current_user, IssuedDocument.contract_id == contract.id)
        .order_by(IssuedDocument.requested_at.desc(), IssuedDocument.id.desc())
        .limit(10)
    ).all()
    return render("reports/evidence.html", form=form, contract=contract, recent=recent)


@bp.post("/sites/<int:site_id>/certificate")
@roles_required(*CERTIFICATE_ISSUERS)
def certificate(site_id):
    """Issue the warranty certificate of a school (a school administrator: their own school only)."""
    site = Site.get_or_404(site_id, current_user)
    doc = services.request_document(
        Kind.WARRANTY_CERTIFICATE, current_user, client_id=site.client_id, site_id=site.id, language=language()
    )
    db.session.commit()
    services.enqueue(doc.id)
    return redirect(url_for("reports.show", doc_id=doc.id), 303)


@bp.get("/<int:doc_id>")
@roles_required(*ALL)
def show(doc_id):
    """The document: while it is rendered, its progress (htmx polls the fragment; without JavaScript the page
    refreshes itself); then its number, hash and download."""
    doc = db.first_or_404(
        IssuedDocument.scoped(current_user, IssuedDocument.id == doc_id).options(
            joinedload(IssuedDocument.client),
            joinedload(IssuedDocument.site),
            joinedload(IssuedDocument.contract),
            joinedload(IssuedDocument.issued_by),
        )
    )
    return render("reports/show.html", fragment="reports/_status.html", doc=doc)


@bp.get("/<int:doc_id>/download")
@roles_required(*ALL)
def download(doc_id):
    doc = IssuedDocument.get_or_404(doc_id, current_user)
    if not doc.is_done:
        abort(404)
    return serve(
        File(
            key=doc.storage_key,
            content_type="application/pdf",
            filename=doc.filename(),
            fallback="document.pdf",
            size=doc.size,
            sha256=doc.sha256,
        ),
        headers={"X-Content-SHA256": doc.sha256},
        label=f"issued document {doc.id}",
    )
