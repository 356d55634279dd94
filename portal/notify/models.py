"""The outbox: a notification per recipient, written in the transaction of the change it tells about, and a
delivery per channel, which the job worker sends (and retries) after the commit."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..extensions import db
from ..orgs.models import Client
from ..types import UTCDateTime, utcnow


class Mode(StrEnum):
    """How a user wants one kind of notification: at once (bell and e-mail), in a daily digest, or not at all."""

    INSTANT = "instant"
    DIGEST = "digest"
    OFF = "off"


class DeliveryState(StrEnum):
    PENDING = "pending"  # due at ``due_at`` (a retry waits here with its back-off)
    SENDING = "sending"  # claimed by one worker until ``lease_until``
    SENT = "sent"
    FAILED = "failed"  # retries exhausted (or a worker stopped mid-send): the manager can resend


class Platform(StrEnum):
    WECOM = "wecom"  # 企业微信 group robot
    DINGTALK = "dingtalk"  # 钉钉 group robot


CHANNELS = ("email", Platform.WECOM.value, Platform.DINGTALK.value)


class Notification(db.Model):
    """One thing one user is told. ``key`` (when set) makes it once per user: a sweep that runs twice, or on two
    workers at once, tells each user once."""

    __tablename__ = "notification"
    __table_args__ = (
        # The key first: a sweep asks "was this told already?" by key alone.
        sa.UniqueConstraint("key", "user_id", name="uq_notification_key_user"),
        sa.Index("ix_notification_user_read", "user_id", "read_at", "id"),  # the bell's count, the unread list
        sa.Index("ix_notification_user", "user_id", "id"),  # the whole list, newest first
        sa.Index("ix_notification_digest", "digest_due", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject_type: Mapped[str] = mapped_column(sa.String(20))  # ticket, complaint, quote, visit, service_log, warranty
    subject_id: Mapped[int | None] = mapped_column()
    client_id: Mapped[int | None] = mapped_column(sa.ForeignKey("client.id", ondelete="CASCADE"))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # the values the message is written with
    key: Mapped[str | None] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    digest_due: Mapped[bool] = mapped_column(default=False)  # waits for the user's daily digest e-mail

    user: Mapped[User] = relationship()


class Delivery(db.Model):
    """One sending of a notification on one channel: an e-mail to its user, or a message to a group robot. Unique
    per notification and channel (and per robot and key), so a notification goes out at most once per channel."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        sa.UniqueConstraint("notification_id", "channel", name="uq_delivery_notification_channel"),
        sa.UniqueConstraint("robot_id", "key", name="uq_delivery_robot_key"),
        sa.CheckConstraint("state IN ({})".format(", ".join(f"'{s.value}'" for s in DeliveryState)), name="state"),
        sa.CheckConstraint("channel IN ({})".format(", ".join(f"'{c}'" for c in CHANNELS)), name="channel"),
        sa.Index("ix_delivery_state_due", "state", "due_at"),
        sa.Index("ix_delivery_robot", "robot_id"),
        # A user's daily digest (kind "digest", key "digest:<user>:<day>"): at most one per user and day.
        sa.Index(
            "ix_delivery_digest_once",
            "key",
            unique=True,
            sqlite_where=sa.text("kind = 'digest'"),
            postgresql_where=sa.text("kind = 'digest'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    notification_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notification.id", ondelete="CASCADE"))
    robot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("robot.id", ondelete="CASCADE"))
    # A robot's message has no notification: it carries what it tells itself.
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject_type: Mapped[str] = mapped_column(sa.String(20))
    subject_id: Mapped[int | None] = mapped_column()
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    key: Mapped[str | None] = mapped_column(sa.String(120))
    state: Mapped[str] = mapped_column(sa.String(10), default=DeliveryState.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    notification: Mapped[Notification | None] = relationship()
    robot: Mapped["Robot | None"] = relationship()


class Robot(db.Model):
    """A group robot (WeCom or DingTalk) the vendor manager set up: for the vendor's own service group
    (``client_id`` None) or for one client's group. The webhook URL and the signing secret are never shown again."""

    __tablename__ = "robot"
    __table_args__ = (
        sa.CheckConstraint("platform IN ({})".format(", ".join(f"'{p.value}'" for p in Platform)), name="platform"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    platform: Mapped[str] = mapped_column(sa.String(10))
    client_id: Mapped[int | None] = mapped_column(sa.ForeignKey("client.id", ondelete="CASCADE"), index=True)
    webhook_url: Mapped[str] = mapped_column(sa.String(500))
    secret: Mapped[str] = mapped_column(sa.String(200), default="")  # DingTalk's 加签 secret
    kinds: Mapped[str] = mapped_column(sa.String(500), default="")  # the kinds it posts, comma-separated
    locale: Mapped[str] = mapped_column(sa.String(16), default="zh_Hans_CN")  # the group's language
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client | None] = relationship()

    @property
    def kind_list(self):
        return [k for k in self.kinds.split(",") if k]


class Preference(db.Model):
    """A user's choice for one kind; a kind with no row is sent at once."""

    __tablename__ = "notification_preference"
    __table_args__ = (sa.CheckConstraint("mode IN ({})".format(", ".join(f"'{m.value}'" for m in Mode)), name="mode"),)

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    mode: Mapped[str] = mapped_column(sa.String(10))
