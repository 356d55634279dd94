"""The bell, the list of one's notifications, and one's preferences."""
from . import bp  # noqa: F401
