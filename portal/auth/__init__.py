from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import second_step, views  # noqa: E402,F401  the sign-in pages; the second factor at sign-in
