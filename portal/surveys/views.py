"""The public survey page (``/survey/<token>``, no sign-in: the token is the key to its one survey) and the list of
surveys and answers (``/surveys/``, in the user's scope).

The public page shows nothing of the portal but the survey: its own minimal layout (no menu, no name of the
vendor's other clients, no link into the portal), in the survey's language unless ``?lang=`` chooses the other, and
its own pages for every refusal (unknown token 404, expired 410, answered, too many requests 429, expired form 400).
"""

from dataclasses import dataclass

import sqlalchemy as sa
from flask import g, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import HTTPException

from .. import errors
from ..bounds import db_id
from ..database import records_on_get
from ..extensions import db
from ..htmx import render
from ..i18n import COOKIE, DEFAULT, LANGUAGES, _l
from ..orgs.models import Client
from ..pagination import Order, paginate
from ..roles import ALL
from ..scoping import roles_required
from ..types import utcnow
from . import bp, services
from .forms import SurveyForm
from .models import Survey
from .services import State

PUBLIC = "surveys.answer"


# ---------------------------------------------------------------- the public page


def survey_locale(survey=None):
    """The page's language: ``?lang=`` if given (then remembered by the cookie), else the reader's own choice (a
    signed-in user's language, or the cookie), else the survey's."""
    if g.get("lang_choice"):
        return g.lang_choice
    if request.args.get("lang") in LANGUAGES:  # also before i18n has read it (a refused form: the CSRF check is first)
        return LANGUAGES[request.args["lang"]]
    # A choice the reader made before (signed in with a language, or the language cookie) wins over the survey's.
    if current_user.is_authenticated and current_user.locale in LANGUAGES.values():
        return current_user.locale
    if request.cookies.get(COOKIE) in LANGUAGES.values():
        return request.cookies[COOKIE]
    if survey is not None:
        return LANGUAGES.get(survey.language, DEFAULT)
    return None  # the request's own choice (cookie, browser)


def public_page(template, status=200, survey=None, **context):
    locale = survey_locale(survey)
    if locale is None:
        return render_template(template, survey=survey, **context), status
    with force_locale(locale):
        return render_template(template, survey=survey, lang_code="en" if locale == "en" else "zh", **context), status


def subject_of(survey):
    """What the survey asks about, in the active language: (heading, details)."""
    if survey.ticket is not None:
        return survey.ticket.number, survey.ticket.title
    visit = survey.visit
    return visit.kind_enum.label, visit.done_on or visit.due_on


@bp.before_request
def throttle():
    """Every request to the public page counts against its address (committed at once: a refused or failing request
    counts too). Above the limit: 429 with a page of its own."""
    if request.endpoint != PUBLIC:
        return None
    over = services.limited(request.remote_addr)
    db.session.commit()
    if over:
        response = public_page(
            "surveys/public_message.html",
            429,
            title=_l("Too many requests"),
            text=_l(
                "Too many requests came from your network in the last minute. Please wait a "
                "minute and open the link again."
            ),
        )
        return response[0], 429, {"Retry-After": "60"}
    return None


@bp.after_request
def private(response):
    """A survey's page (its answer included) is for the holder of its link: kept in no shared cache, and its
    address (the token) sent to no other site."""
    if request.endpoint == PUBLIC:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.errorhandler(CSRFError)
@bp.errorhandler(HTTPException)
def public_error(error):
    """The public page's refusals in its own layout; the list's errors as everywhere else."""
    if request.endpoint != PUBLIC:
        return errors.handle_http(error)
    if isinstance(error, CSRFError):
        return public_page(
            "surveys/public_message.html",
            400,
            title=_l("Form expired"),
            text=_l("The form was open too long. Open the link again and send your answer."),
        )
    title, text = errors.MESSAGES.get(error.code, (error.name, error.description))
    return public_page("surveys/public_message.html", error.code, title=title, text=text)


@bp.route("/survey/<token>", methods=["GET", "POST"])
@records_on_get  # the throttle's counter: the one write of this GET
def answer(token):
    survey = services.find(token)
    if survey is None:
        return public_page(
            "surveys/public_message.html",
            404,
            title=_l("Survey not found"),
            text=_l("This survey link is not valid. Check that the whole link was copied."),
        )
    locale = survey_locale(survey)
    with force_locale(locale):  # the form's messages in the page's language
        form = SurveyForm()
        state = services.state_of(survey)
        if state is State.ANSWERED:
            return public_page(
                "surveys/public.html",
                survey=survey,
                state=state,
                form=None,
                token=token,
                subject=subject_of(survey),
                just_answered=request.args.get("thanks") == "1",
            )
        if state is State.EXPIRED:
            return public_page(
                "surveys/public.html",
                410,
                survey=survey,
                state=state,
                form=None,
                token=token,
                subject=subject_of(survey),
            )
        if form.validate_on_submit():
            if services.answer(survey, form.rating.data, form.comment.data):
                db.session.commit()
                return redirect(url_for(PUBLIC, token=token, thanks=1, lang=request.args.get("lang") or None), 303)
            db.session.rollback()  # answered (or expired) meanwhile, by another request: show what counts
            survey = db.session.scalar(
                sa.select(Survey).where(Survey.id == survey.id).execution_options(populate_existing=True)
            )
            state = services.state_of(survey)
            return public_page(
                "surveys/public.html",
                409,
                survey=survey,
                state=state,
                form=None,
                token=token,
                subject=subject_of(survey),
            )
        status = 400 if form.is_submitted() else 200
        return public_page(
            "surveys/public.html",
            status,
            survey=survey,
            state=state,
            form=form,
            token=token,
            subject=subject_of(survey),
        )


# ---------------------------------------------------------------- the list


NEWEST = Order("created", (Survey.created_at, Survey.id), desc=True)
STATES = tuple(State)


@dataclass
class SurveyFilter:
    state: str = ""
    client: int | None = None

    @classmethod
    def from_args(cls, args, user):
        state = args.get("state", "")
        client = args.get("client", type=db_id) if user.is_vendor else None
        return cls(state=state if state in {s.value for s in State} else "", client=client)

    def apply(self, query, now):
        if self.client:
            query = query.where(Survey.client_id == self.client)
        if self.state == State.ANSWERED:
            query = query.where(Survey.answered_at.is_not(None))
        elif self.state == State.SENT:
            query = query.where(Survey.answered_at.is_(None), Survey.expires_at > now)
        elif self.state == State.EXPIRED:
            query = query.where(Survey.answered_at.is_(None), Survey.expires_at <= now)
        return query

    def args(self):
        return {k: v for k, v in (("state", self.state), ("client", self.client)) if v}


@bp.get("/surveys/")
@roles_required(*ALL)
def index():
    """Every survey in the user's scope, newest first: the vendor's staff every client's (filter by client), a
    client's administrator and IT staff their client's, a school administrator their school's."""
    now = utcnow()
    filters = SurveyFilter.from_args(request.args, current_user)
    scoped = Survey.scoped(current_user)
    if filters.client:
        scoped = scoped.where(Survey.client_id == filters.client)
    totals = services.counts(scoped)
    query = filters.apply(Survey.scoped(current_user), now).options(
        joinedload(Survey.client), joinedload(Survey.site), joinedload(Survey.ticket), joinedload(Survey.visit)
    )
    page = paginate(query, NEWEST)
    clients = db.session.scalars(sa.select(Client).order_by(Client.name_zh)).all() if current_user.is_vendor else []
    return render(
        "surveys/index.html",
        fragment="surveys/_table.html",
        page=page,
        filters=filters,
        now=now,
        totals=totals,
        clients=clients,
        states=STATES,
        state_of=services.state_of,
    )


# ---------------------------------------------------------------- on a ticket's or a visit's page


def panel(ticket=None, visit=None):
    """What the ticket's or visit's page shows of its survey: None before there is one; for the vendor's staff its
    state, link and QR code (to pass on to a contact without an account), for the client its answer."""
    survey = services.for_subject(ticket=ticket, visit=visit)
    if survey is None:
        return None
    state = services.state_of(survey)
    url = qr = None
    if current_user.is_vendor and state is State.SENT:
        url = services.url_of(survey)
        from ..equipment.views import qr_markup  # here: the equipment pages import the tickets', which import these

        qr = qr_markup(url, 3)
    return {"survey": survey, "state": state, "url": url, "qr": qr}
