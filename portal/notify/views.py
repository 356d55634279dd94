"""The bell, the list of one's notifications, and one's preferences. Everyone signed in has them; nobody ever sees
another user's notification (404)."""

import sqlalchemy as sa
from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError

from ..extensions import db
from ..htmx import is_htmx, render
from ..pagination import Order, paginate
from ..roles import ALL
from ..scoping import roles_required
from . import bp, services
from .forms import MODE_LABELS, field_name, preferences_form
from .kinds import GROUPS, KINDS, kinds_for
from .models import Mode, Notification, Preference

ORDER = Order("new", (Notification.id,), desc=True)

SHOW = ("all", "unread")


def unread_notifications():
    """The bell's count, one indexed query per request (``ix_notification_user_read``); None when the database
    cannot answer (the error pages still render)."""
    if "unread_notifications" not in g:
        try:
            g.unread_notifications = services.unread_count(current_user)
        except sa.exc.SQLAlchemyError:
            db.session.rollback()
            g.unread_notifications = None
    return g.unread_notifications


@bp.record_once
def _register(state):
    state.app.jinja_env.globals.update(unread_notifications=unread_notifications)


def own(notification_id):
    """The signed-in user's notification, or 404 (another user's is as good as absent)."""
    note = db.session.scalar(
        sa.select(Notification).where(Notification.id == notification_id, services.mine(current_user))
    )
    if note is None:
        abort(404)
    return note


def target(note):
    """The page of the notification's object (the list itself if the kind of object has no page any more)."""
    try:
        return services.link(note.subject_type, note.subject_id)
    except (KeyError, BuildError):
        return url_for("notify.index")


def shown(note):
    return {
        "note": note,
        "text": services.message(note.kind, note.params),
        "url": target(note),
        "action": services.action(note, current_user),
    }


def list_args():
    show = request.args.get("show", "all")
    return show if show in SHOW else "all"


@bp.get("/")
@roles_required(*ALL)
def index():
    show = list_args()
    query = sa.select(Notification).where(services.mine(current_user))
    if show == "unread":
        query = query.where(Notification.read_at.is_(None))
    page = paginate(query.order_by(Notification.id.desc()), ORDER)
    services.preload_links(page.items)
    items = [shown(note) for note in page.items]
    return render(
        "notify/index.html",
        fragment="notify/_list.html",
        page=page,
        items=items,
        show=show,
        kinds=KINDS,
        filters={"show": show} if show != "all" else {},
    )


@bp.get("/bell")
@roles_required(*ALL)
def bell():
    """The bell alone: htmx fetches it every minute; a browser that asks for it as a page gets the list."""
    if not is_htmx():
        return redirect(url_for("notify.index"))
    response = make_response(render_template("notify/_bell.html"))
    response.headers["Cache-Control"] = "no-store"
    return response


def back_to_list():
    show = request.form.get("show", "all")
    return url_for("notify.index", show=show) if show in SHOW and show != "all" else url_for("notify.index")


@bp.post("/<int:notification_id>/read")
@roles_required(*ALL)
def read(notification_id):
    note = own(notification_id)
    services.mark_read(current_user, [note.id])
    db.session.commit()
    if is_htmx():  # the item, now read, and the bell out of band
        db.session.refresh(note)
        return render_template("notify/_read.html", item=shown(note), kinds=KINDS, show=request.form.get("show"))
    flash(_("The notification is marked as read."), "success")
    return redirect(back_to_list(), 303)


@bp.post("/read-all")
@roles_required(*ALL)
def read_all():
    count = services.mark_read(current_user)
    db.session.commit()
    flash(
        _("All your notifications are marked as read.") if count else _("You have no unread notifications."), "success"
    )
    return redirect(back_to_list(), 303)


@bp.post("/<int:notification_id>/open")
@roles_required(*ALL)
def follow(notification_id):
    """Mark the notification read and go to its object (htmx follows ``HX-Redirect``)."""
    note = own(notification_id)
    services.mark_read(current_user, [note.id])
    url = target(note)
    db.session.commit()
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)


def saved_preferences():
    return {p.kind: p for p in db.session.scalars(sa.select(Preference).where(Preference.user_id == current_user.id))}


def save_preferences(form):
    saved = saved_preferences()
    for kind in form.kinds:
        mode = form[field_name(kind)].data
        if mode == Mode.INSTANT.value:  # the default needs no row
            if kind.name in saved:
                db.session.delete(saved[kind.name])
        elif kind.name in saved:
            saved[kind.name].mode = mode
        else:
            db.session.add(Preference(user_id=current_user.id, kind=kind.name, mode=mode))


@bp.route("/preferences", methods=["GET", "POST"])
@roles_required(*ALL)
def preferences():
    form = preferences_form(current_user, {kind: p.mode for kind, p in saved_preferences().items()})
    if form.validate_on_submit():
        try:
            with db.session.begin_nested():  # a savepoint: the request's form token stays claimed
                save_preferences(form)
        except sa.exc.IntegrityError:  # the same user saving in two tabs at once: the later choice wins
            with db.session.begin_nested():
                save_preferences(form)
        db.session.commit()
        flash(_("Your notification preferences are saved."), "success")
        return redirect(url_for("notify.preferences"), 303)
    kinds = kinds_for(current_user.role)
    groups = [(label, [kind for kind in kinds if kind.group == name]) for name, label in GROUPS.items()]
    status = 400 if form.errors else 200
    return render_template(
        "notify/preferences.html",
        form=form,
        groups=[(label, kinds) for label, kinds in groups if kinds],
        field_name=field_name,
        modes=list(MODE_LABELS.items()),
    ), status
