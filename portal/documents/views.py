"""Documents (资料下载): the list with its filters, a document's page with its versions and downloads, publishing
and new versions (vendor staff), and the downloads themselves, each recorded."""

from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from .. import choices  # the module, not its function (a cycle: choices, models, views)
from ..auth.models import User
from ..bounds import db_id
from ..catalog.models import EquipmentModel
from ..contracts.models import Contract
from ..database import records_on_get
from ..downloads import File, serve
from ..equipment.models import Equipment
from ..extensions import db
from ..forms import optional_id
from ..htmx import is_htmx, render
from ..i18n import is_chinese
from ..orgs.models import Client
from ..pagination import Order, paginate
from ..roles import ALL, VENDOR
from ..scoping import roles_required
from ..search import matches
from ..uploads import DOCUMENTS, UploadRefused, check
from . import bp, services
from .forms import DetailsForm, DocumentForm, VersionForm, WithdrawForm
from .models import MANUALS, Document, DocumentDownload, DocumentVersion, Kind, Language, Target

NEWEST = Order("updated", (Document.updated_at, Document.id), desc=True)  # the newest version first

RECENT_DOWNLOADS = 20
UNIT_DOCUMENTS = 30


@dataclass
class DocumentFilter:
    q: str = ""
    kind: str = ""
    model: int | None = None
    client: int | None = None  # a vendor's: the client first, then one of its contracts (portal.choices)
    contract: int | None = None
    language: str = ""
    state: str = ""  # vendor staff: "" (published), "withdrawn", "all"

    @classmethod
    def from_args(cls, args, user):
        kind, language, state = args.get("kind", ""), args.get("language", ""), args.get("state", "")
        return cls(
            q=args.get("q", "").strip()[:100],
            kind=kind if kind in {k.value for k in Kind} else "",
            model=optional_id(args.get("model")),
            contract=optional_id(args.get("contract")),
            client=optional_id(args.get("client")) if user.is_vendor else None,
            language=language if language in {lang.value for lang in Language} else "",
            state=state if user.is_vendor and state in ("withdrawn", "all") else "",
        )

    def apply(self, query):
        if self.q:
            query = query.where(matches(self.q, Document.title_zh, Document.title_en))
        if self.kind:
            query = query.where(Document.kind == self.kind)
        if self.model:
            query = query.where(Document.model_id == self.model)
        if self.contract:
            query = query.where(Document.contract_id == self.contract)
        elif self.client:  # the documents of the client's contracts
            of_client = sa.select(Contract.id).where(Contract.client_id == self.client)
            query = query.where(Document.contract_id.in_(of_client))
        if self.language:
            # A file in both languages serves a reader of either.
            query = query.where(Document.language.in_([self.language, Language.BOTH.value]))
        if self.state == "withdrawn":
            query = query.where(Document.withdrawn.is_(True))
        elif self.state != "all":
            query = query.where(Document.withdrawn.is_(False))
        return query

    def args(self, **changes):
        values = {
            "q": self.q,
            "kind": self.kind,
            "model": self.model,
            "client": self.client,
            "contract": self.contract,
            "language": self.language,
            "state": self.state,
            **changes,
        }
        return {k: v for k, v in values.items() if v not in (None, "")}


def listed(query):
    """Everything a row of a list shows, loaded with the page (no query per row)."""
    return query.options(
        joinedload(Document.model),
        joinedload(Document.contract).joinedload(Contract.client),
        joinedload(Document.current),
    )


def visible_models():
    """The models a user may filter by: the catalogue for vendor staff, the models of their units otherwise."""
    query = sa.select(EquipmentModel).order_by(EquipmentModel.manufacturer, EquipmentModel.model_number)
    if not current_user.is_vendor:
        owned = Equipment.scope(sa.select(Equipment.model_id), current_user)
        query = query.where(EquipmentModel.id.in_(owned))
    return db.session.scalars(query).all()


def visible_contracts():
    return db.session.scalars(
        Contract.scoped(current_user).options(joinedload(Contract.client)).order_by(Contract.number)
    ).all()


@bp.get("/")
@roles_required(*ALL)
def index():
    filters = DocumentFilter.from_args(request.args, current_user)
    # A vendor's contracts are the chosen client's (bounded: portal.choices), checked before the query.
    scope = choices.scope_choices(current_user, filters.client, None, filters.contract, sites=False, contracts=True)
    filters.client, filters.contract = scope.client, scope.contract
    page = paginate(listed(filters.apply(Document.scoped(current_user))), NEWEST)
    return render(
        "documents/index.html",
        fragment="documents/_table.html",
        page=page,
        filters=filters,
        kinds=list(Kind),
        languages=list(Language),
        models=visible_models(),
        scope=scope,
        scope_oob=is_htmx(),
    )


# ---------------------------------------------------------------- publishing (vendor staff)


def details_form(cls, **kwargs):
    models = db.session.scalars(
        sa.select(EquipmentModel).order_by(EquipmentModel.manufacturer, EquipmentModel.model_number)
    ).all()
    return cls(models=models, contracts=visible_contracts(), **kwargs)


def checked_upload(form):
    """The form's file checked by content, or None with the reason on the field."""
    upload = request.files.get(form.file.name)
    try:
        return check(upload or _NoFile(), DOCUMENTS, current_app.config["DOCUMENT_MAX_BYTES"])
    except UploadRefused as refused:
        form.file.errors = [*form.file.errors, refused.message]
        return None


class _NoFile:
    filename = ""


def choose_again(form):
    """A browser does not keep a chosen file when a form comes back with errors: say so on the file field."""
    if form.is_submitted() and not form.file.errors and request.files.get(form.file.name):
        form.file.errors = [_("Choose the file again: a browser does not keep files between sends.")]


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*VENDOR)
def new():
    form = details_form(DocumentForm)
    if not form.is_submitted():
        form.target.data = (
            Target.MODEL.value
            if request.args.get("model")
            else (Target.CONTRACT.value if request.args.get("contract") else Target.GENERAL.value)
        )
        form.model.data = request.args.get("model", type=db_id)
        form.contract.data = request.args.get("contract", type=db_id)
        form.language.data = Language.ZH.value
        form.label.data = "V1.0"
    if form.is_submitted():
        fields_ok = form.validate()
        checked = checked_upload(form)
        if fields_ok and checked:
            model_id, contract_id = form.target_ids()
            document = services.publish(
                current_user,
                kind=form.kind.data,
                title_zh=form.title_zh.data,
                title_en=form.title_en.data,
                language=form.language.data,
                description=form.description.data,
                model_id=model_id,
                contract_id=contract_id,
                label=form.label.data,
                note=form.note.data,
                file=services.store(checked),
            )
            db.session.commit()  # the file is kept only now
            flash(_("“%(title)s” is published.", title=document.title), "success")
            return redirect(url_for("documents.show", document_id=document.id))
        choose_again(form)
    return render_template("documents/new.html", form=form)


# ---------------------------------------------------------------- a document


def load(document_id):
    return db.first_or_404(
        Document.scoped(current_user, Document.id == document_id).options(
            joinedload(Document.model),
            joinedload(Document.contract).joinedload(Contract.client),
            joinedload(Document.current),
            selectinload(Document.versions).joinedload(DocumentVersion.uploaded_by),
        )
    )


def download_stats(document):
    """For vendor staff: downloads by client, and the latest downloads with who, when and which version."""
    by_client = db.session.execute(
        sa.select(Client, sa.func.count(DocumentDownload.id))
        .select_from(DocumentDownload)
        .join(User, DocumentDownload.user_id == User.id)
        .join(Client, User.client_id == Client.id)
        .where(DocumentDownload.document_id == document.id)
        .group_by(Client.id)
        .order_by(sa.func.count(DocumentDownload.id).desc(), Client.id)
    ).all()
    recent = db.session.scalars(
        sa.select(DocumentDownload)
        .where(DocumentDownload.document_id == document.id)
        .options(joinedload(DocumentDownload.user).joinedload(User.client), joinedload(DocumentDownload.version))
        .order_by(DocumentDownload.at.desc(), DocumentDownload.id.desc())
        .limit(RECENT_DOWNLOADS)
    ).all()
    return {"by_client": by_client, "recent": recent}


def document_page(document, status=200, version_form=None):
    vendor = current_user.is_vendor
    return render_template(
        "documents/show.html",
        document=document,
        version_form=version_form or VersionForm(formdata=None),
        stats=download_stats(document) if vendor else None,
    ), status


@bp.get("/<int:document_id>")
@roles_required(*ALL)
def show(document_id):
    return document_page(load(document_id))


@bp.route("/<int:document_id>/edit", methods=["GET", "POST"])
@roles_required(*VENDOR)
def edit(document_id):
    document = load(document_id)
    form = details_form(DetailsForm, obj=document)
    if not form.is_submitted():
        form.target.data = document.target.value
        form.model.data, form.contract.data = document.model_id, document.contract_id
    if form.validate_on_submit():
        for name in ("kind", "title_zh", "title_en", "language", "description"):
            setattr(document, name, getattr(form, name).data or "")
        document.model_id, document.contract_id = form.target_ids()
        db.session.commit()
        flash(_("The document's details are saved."), "success")
        return redirect(url_for("documents.show", document_id=document.id))
    return render_template("documents/edit.html", form=form, document=document)


@bp.post("/<int:document_id>/versions")
@roles_required(*VENDOR)
def add_version(document_id):
    document = load(document_id)
    form = VersionForm()
    fields_ok = form.validate()
    checked = checked_upload(form)
    if fields_ok and checked:
        try:
            version = services.add_version(
                document, current_user, label=form.label.data, note=form.note.data, file=services.store(checked)
            )
            db.session.commit()  # the file is kept only now
        except services.VersionRefused as refused:
            db.session.rollback()  # the staged file goes with it
            form.label.errors = [refused.message]
            return document_page(load(document_id), version_form=form)
        flash(_("Version %(label)s is published and offered first.", label=version.label), "success")
        return redirect(url_for("documents.show", document_id=document.id))
    choose_again(form)
    return document_page(document, version_form=form)


@bp.post("/<int:document_id>/withdraw")
@roles_required(*VENDOR)
def withdraw(document_id):
    document = load(document_id)
    if not WithdrawForm().validate_on_submit():
        abort(400)
    document.withdrawn = request.form.get("withdrawn") == "1"
    db.session.commit()
    flash(
        _("The document is withdrawn: clients no longer see it.")
        if document.withdrawn
        else _("The document is published again."),
        "success",
    )
    return redirect(url_for("documents.show", document_id=document.id))


# ---------------------------------------------------------------- downloads


def send(document, version):
    def record():
        if request.method == "GET":
            services.record_download(document, version, current_user)
            db.session.commit()

    fallback = f"document-{version.document_id}-{version.seq}.{version.file_type}"
    return serve(
        File(
            key=version.storage_key,
            content_type=version.content_type,
            filename=version.filename,
            fallback=fallback,
            size=version.size,
            sha256=version.sha256,
        ),
        label=f"document {document.id} version {version.id}",
        record=record,
    )


@bp.get("/<int:document_id>/download")
@records_on_get  # the download is recorded: the one write of a GET
@roles_required(*ALL)
def download(document_id):
    """The newest version: the link that lists and unit pages give."""
    document = Document.get_or_404(document_id, current_user)
    version = db.session.get(DocumentVersion, document.current_id) if document.current_id else None
    if version is None:
        abort(404)
    return send(document, version)


@bp.get("/<int:document_id>/versions/<int:version_id>/download")
@records_on_get  # the download is recorded: the one write of a GET
@roles_required(*ALL)
def download_version(document_id, version_id):
    document = Document.get_or_404(document_id, current_user)
    version = db.first_or_404(
        sa.select(DocumentVersion).where(DocumentVersion.id == version_id, DocumentVersion.document_id == document.id)
    )
    return send(document, version)


# ---------------------------------------------------------------- for other pages


def for_unit(unit, user):
    """The documents of a unit's model and of its contract that ``user`` may see: manuals first, then the reader's
    language first, then the newest."""
    chinese = is_chinese()
    mine = [Language.BOTH.value, Language.ZH.value if chinese else Language.EN.value]
    query = (
        Document.scoped(
            user,
            Document.withdrawn.is_(False),
            sa.or_(Document.model_id == unit.model_id, Document.contract_id == unit.contract_id),
        )
        .options(joinedload(Document.current))
        .order_by(
            sa.case((Document.kind.in_([k.value for k in MANUALS]), 0), else_=1),
            sa.case((Document.language.in_(mine), 0), else_=1),
            Document.updated_at.desc(),
            Document.id.desc(),
        )
    )
    return db.session.scalars(query.limit(UNIT_DOCUMENTS)).all()


def for_contract(contract, user):
    query = (
        Document.scoped(user, Document.withdrawn.is_(False), Document.contract_id == contract.id)
        .options(joinedload(Document.current))
        .order_by(Document.updated_at.desc(), Document.id.desc())
    )
    return db.session.scalars(query.limit(UNIT_DOCUMENTS)).all()
