from flask import Blueprint

bp = Blueprint("catalog", __name__, url_prefix="/models")

from . import views  # noqa: E402,F401
