from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from . import two_factor, views  # noqa: E402,F401  the pages; one's own second factor
