from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import views  # noqa: E402,F401
from . import second_step  # noqa: E402,F401  the second factor at sign-in
