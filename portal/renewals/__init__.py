from flask import Blueprint

bp = Blueprint("renewals", __name__, url_prefix="/renewals")

from . import views  # noqa: E402,F401
