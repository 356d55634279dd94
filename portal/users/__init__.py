from flask import Blueprint

bp = Blueprint("users", __name__, url_prefix="/users")

from . import views  # noqa: E402,F401
