"""The security administrator's pages (安全管理员): the password and sign-in policy, and the accounts' sign-in state
(second factor, password age) with a second-factor reset and a required password change. No business data."""

from flask import Blueprint

bp = Blueprint("security_admin", __name__, url_prefix="/security")

from . import views  # noqa: E402,F401
