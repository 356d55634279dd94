from flask import Blueprint

bp = Blueprint("parts", __name__, url_prefix="/parts")

from . import views  # noqa: E402,F401
