from flask import Blueprint

bp = Blueprint("inspections", __name__, url_prefix="/inspections")

from . import views  # noqa: E402,F401
