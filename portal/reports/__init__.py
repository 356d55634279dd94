"""Issued documents (PDF): the evidence pack of a contract and period (履约证据包) and a school's warranty
certificate (质保证明), each with its SHA-256 kept so that ``/verify/<hash>`` can confirm it (see ``verify``)."""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from . import jobs, views  # noqa: E402,F401  (jobs: the worker knows the task)
