"""The satisfaction survey by link (满意度调查): the public page a token opens, and the list of answers."""

from flask import Blueprint

bp = Blueprint("surveys", __name__)

from . import views  # noqa: E402,F401
