from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from . import views  # noqa: E402,F401
from . import two_factor  # noqa: E402,F401  one's own second factor
