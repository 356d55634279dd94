from flask import Blueprint

bp = Blueprint("warranty", __name__, url_prefix="/warranty")

from . import views  # noqa: E402,F401
