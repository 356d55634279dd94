from flask import Blueprint

bp = Blueprint("tickets", __name__, url_prefix="/tickets")

from . import views  # noqa: E402,F401
