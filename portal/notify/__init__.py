"""Notifications: who is told what, in the portal (the bell), by e-mail and in the vendor's group chats."""

from flask import Blueprint

bp = Blueprint("notify", __name__, url_prefix="/notifications")

from . import manage, views  # noqa: E402,F401
