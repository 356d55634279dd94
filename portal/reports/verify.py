"""``/verify``: anyone (no sign-in) checks whether a PDF was issued by this portal, by its SHA-256 or by uploading
it. The answer names the document (kind, number, client, contract or school, period, when and by which
organisation), or says plainly that no document with this hash was issued here."""

from flask import Blueprint, current_app, render_template, request

from .. import uploads
from ..i18n import _l
from . import services
from .forms import VerifyForm

bp = Blueprint("verify", __name__, url_prefix="/verify")
MAX_BYTES = 50 * 1024 * 1024


@bp.route("/", methods=["GET", "POST"])
def index():
    form = VerifyForm()
    checked = None
    if form.validate_on_submit():
        upload = form.file.data
        if upload is None or not getattr(upload, "filename", ""):
            form.file.errors.append(_l("Choose a file."))
        else:
            try:
                file = uploads.check(upload, ("pdf",), min(MAX_BYTES, current_app.config["MAX_CONTENT_LENGTH"]))
            except uploads.UploadRefused as refused:
                form.file.errors.append(refused.message)
            else:
                sha256 = services.digest(file.read())
                checked = (sha256, services.find_issued(sha256))
    number = request.args.get("number", "")[:20]
    status = 200 if checked is None or checked[1] is not None else 404
    return render_template("reports/verify.html", form=form, checked=checked, number=number), status


@bp.get("/<sha256>")
def by_hash(sha256):
    doc = services.find_issued(sha256)
    shown = sha256[:64] if services.SHA256.fullmatch((sha256 or "").lower()) else ""
    return render_template("reports/verified.html", doc=doc, sha256=shown.lower()), (200 if doc else 404)
