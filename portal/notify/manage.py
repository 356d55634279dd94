"""The vendor manager's side of notifications: the group robots (WeCom, DingTalk) and the deliveries that failed,
with a resend. A robot's webhook URL carries its token and its secret signs its messages: once saved, neither is
ever shown again (the pages show the webhook's host only)."""

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..auth.models import User
from ..extensions import db
from ..forms import Form, MaxLength, Optional, Required, SelectChoice, optional_id
from ..htmx import render
from ..i18n import LANGUAGES, _l
from ..orgs.models import Client
from ..pagination import Order, paginate
from ..roles import ORGANISATION_ADMINS, Role
from ..scoping import roles_required
from . import bp
from .delivery import DIGEST, ERRORS, FAILED, resend
from .kinds import KINDS
from .models import Delivery, DeliveryState, Notification, Platform, Robot
from .robots import TEST
from .services import message

ORDER = Order("new", (Delivery.id,), desc=True)

PLATFORMS = {Platform.WECOM.value: _l("WeCom (企业微信)"), Platform.DINGTALK.value: _l("DingTalk (钉钉)")}
LANGUAGE_NAMES = {LANGUAGES["zh"]: "中文", LANGUAGES["en"]: "English"}
CHANNELS = {"email": _l("E-mail"), **PLATFORMS}
STATES = {
    DeliveryState.PENDING.value: _l("Waiting"),
    DeliveryState.SENDING.value: _l("Sending"),
    DeliveryState.SENT.value: _l("Sent"),
    DeliveryState.FAILED.value: _l("Failed"),
}
STATE_TONES = {"pending": "info", "sending": "info", "sent": "success", "failed": "danger"}


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def webhook(form, field):
    """An http(s) address with a host. Any host: a company network may reach the platform through its own proxy."""
    if not field.data:
        return
    parts = urlsplit(field.data)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in field.data):
        raise ValidationError(_l("Enter the robot's webhook address, starting with https://."))


class RobotForm(Form):
    name = StringField(
        _l("Name"),
        validators=[Required(), MaxLength(100)],
        description=_l("Which group it posts to, e.g. “Service team on duty”."),
    )
    platform = SelectField(_l("Platform"), validators=[Required()])
    webhook_url = StringField(
        _l("Webhook address"),
        validators=[MaxLength(500), webhook],
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "url"},
    )
    secret = PasswordField(
        _l("Signing secret (DingTalk 加签)"),
        validators=[Optional(), MaxLength(200)],
        render_kw={"autocomplete": "new-password"},
    )
    forget_secret = BooleanField(_l("Remove the saved signing secret"))
    kinds = CheckboxesField(_l("What it posts"), validate_choice=False)
    client = SelectField(_l("Group of"), coerce=optional_id, validate_choice=False)
    locale = SelectField(_l("Language of its messages"))
    active = BooleanField(_l("On"), default=True)

    def __init__(self, *args, robot=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.robot = robot
        self.platform.choices = [SelectChoice(value, label) for value, label in PLATFORMS.items()]
        self.locale.choices = [SelectChoice(value, label) for value, label in LANGUAGE_NAMES.items()]
        self.kinds.choices = [SelectChoice(k.name, k.label) for k in KINDS.values() if k.robot]
        clients = db.session.scalars(sa.select(Client).order_by(Client.name_zh))
        self.client.choices = [SelectChoice("", _l("The vendor's own service group"))] + [
            SelectChoice(c.id, c.name) for c in clients
        ]
        if robot is None:
            self.webhook_url.validators = [Required(), *self.webhook_url.validators]
            del self.forget_secret
        else:
            self.webhook_url.description = _l("Saved: leave empty to keep it.")
            if robot.secret:
                self.secret.description = _l("Saved: leave empty to keep it.")
            else:
                del self.forget_secret

    def validate_kinds(self, field):
        allowed = {k.name for k in KINDS.values() if k.robot}
        if not field.data or any(k not in allowed for k in field.data):
            raise ValidationError(_l("Choose what the robot posts."))

    def validate_client(self, field):
        if field.data is not None and db.session.get(Client, field.data) is None:
            raise ValidationError(_l("Choose a client from the list."))

    def save(self, robot):
        robot.name, robot.platform, robot.locale = self.name.data, self.platform.data, self.locale.data
        robot.kinds = ",".join(k for k in KINDS if k in self.kinds.data)
        robot.client_id, robot.active = self.client.data, self.active.data
        if self.webhook_url.data:
            robot.webhook_url = self.webhook_url.data
        if self.secret.data:
            robot.secret = self.secret.data
        elif "forget_secret" in self and self.forget_secret.data:
            robot.secret = ""  # nosec B105  # clearing a robot's signing secret


def form_for(robot=None):
    if robot is None or request.method == "POST":
        return RobotForm(robot=robot)
    # Never the saved webhook address nor the secret: only what the form may show again.
    return RobotForm(
        robot=robot,
        data={
            "name": robot.name,
            "platform": robot.platform,
            "kinds": robot.kind_list,
            "client": robot.client_id,
            "locale": robot.locale,
            "active": robot.active,
        },
    )


@bp.get("/robots")
@roles_required(*ORGANISATION_ADMINS)
def robots():
    rows = db.session.scalars(sa.select(Robot).options(joinedload(Robot.client)).order_by(Robot.name, Robot.id)).all()
    return render_template(
        "notify/robots.html",
        robots=rows,
        platforms=PLATFORMS,
        kinds=KINDS,
        languages=LANGUAGE_NAMES,
        host=lambda r: urlsplit(r.webhook_url).hostname or "",
    )


@bp.route("/robots/new", methods=["GET", "POST"])
@roles_required(*ORGANISATION_ADMINS)
def robot_new():
    form = form_for()
    if form.validate_on_submit():
        robot = Robot()
        form.save(robot)
        db.session.add(robot)
        db.session.commit()
        flash(_("The robot %(name)s is saved. Send it a test message to check it.", name=robot.name), "success")
        return redirect(url_for("notify.robots"))
    return render_template("notify/robot_form.html", form=form, robot=None, host=None)


@bp.route("/robots/<int:robot_id>/edit", methods=["GET", "POST"])
@roles_required(*ORGANISATION_ADMINS)
def robot_edit(robot_id):
    robot = db.get_or_404(Robot, robot_id)
    form = form_for(robot)
    if form.validate_on_submit():
        form.save(robot)
        db.session.commit()
        flash(_("The robot %(name)s is saved.", name=robot.name), "success")
        return redirect(url_for("notify.robots"))
    return render_template(
        "notify/robot_form.html", form=form, robot=robot, host=urlsplit(robot.webhook_url).hostname or ""
    )


@bp.post("/robots/<int:robot_id>/test")
@roles_required(*ORGANISATION_ADMINS)
def robot_test(robot_id):
    """A test message, through the outbox like any other: the deliveries page shows whether it went out."""
    robot = db.get_or_404(Robot, robot_id)
    db.session.add(
        Delivery(
            channel=robot.platform, robot_id=robot.id, kind=TEST, subject_type="robot", subject_id=robot.id, params={}
        )
    )
    db.session.info["notify_kick"] = True
    db.session.commit()
    flash(
        _("A test message to %(name)s is on its way; its result shows on the deliveries page.", name=robot.name),
        "success",
    )
    return redirect(url_for("notify.robots"))


@bp.post("/robots/<int:robot_id>/delete")
@roles_required(*ORGANISATION_ADMINS)
def robot_delete(robot_id):
    robot = db.get_or_404(Robot, robot_id)
    db.session.execute(sa.delete(Delivery).where(Delivery.robot_id == robot.id))  # its messages go with it
    db.session.delete(robot)
    db.session.commit()
    flash(_("The robot %(name)s is removed.", name=robot.name), "success")
    return redirect(url_for("notify.robots"))


# ---------------------------------------------------------------- deliveries


def describe(delivery, digest_users):
    """(to whom, what) of a delivery, in the manager's language."""
    if delivery.robot is not None:
        return delivery.robot.name, (
            _("Test message") if delivery.kind == TEST else message(delivery.kind, delivery.params)
        )
    if delivery.kind == DIGEST:
        user = digest_users.get(delivery.params.get("user_id"))
        count = len(delivery.params.get("ids", ()))
        return user, _("Daily digest (%(count)s notifications)", count=count)
    note = delivery.notification
    return (note.user if note else None), (message(note.kind, note.params) if note else "")


@bp.get("/deliveries")
@roles_required(Role.VENDOR_MANAGER)
def deliveries():
    state = request.args.get("state", FAILED)
    state = state if state in (*STATES, "all") else FAILED
    query = sa.select(Delivery).options(
        joinedload(Delivery.notification).joinedload(Notification.user), joinedload(Delivery.robot)
    )
    if state != "all":
        query = query.where(Delivery.state == state)
    page = paginate(query.order_by(Delivery.id.desc()), ORDER)
    wanted = {d.params.get("user_id") for d in page.items if d.kind == DIGEST and d.robot_id is None}
    digest_users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(wanted)))} if wanted else {}
    rows = [(d, *describe(d, digest_users), _(d.error) if d.error in ERRORS else d.error) for d in page.items]
    return render(
        "notify/deliveries.html",
        fragment="notify/_deliveries.html",
        page=page,
        rows=rows,
        state=state,
        states=STATES,
        tones=STATE_TONES,
        channels=CHANNELS,
    )


@bp.post("/deliveries/<int:delivery_id>/resend")
@roles_required(Role.VENDOR_MANAGER)
def resend_delivery(delivery_id):
    delivery = db.get_or_404(Delivery, delivery_id)
    if resend(delivery.id):
        db.session.commit()
        flash(_("It is back in the outbox and goes out in a moment."), "success")
    else:
        flash(_("Only a failed delivery can be resent; this one is not failed (any more)."), "warning")
    return redirect(url_for("notify.deliveries"))
