"""The vendor's own details and its published service team (vendor manager only)."""

from datetime import date

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..bounds import query_date, whole_number
from ..extensions import db
from ..i18n import local_today
from ..orgs.forms import TeamMemberForm, VendorForm
from ..orgs.models import TeamMember, Vendor
from ..roles import ORGANISATION_ADMINS
from ..scoping import roles_required
from ..sla.forms import CALENDAR_YEARS, CalendarDayForm, HolidayRangeForm, NoticeForm
from ..sla.holidays import replacements, save_holidays
from ..sla.models import CalendarDay, CalendarYear
from ..sla.notice import english_name, parse_notice
from . import bp


def saved_vendor():
    vendor = Vendor.current()
    if vendor.id is None:
        db.session.add(vendor)
        db.session.flush()
    return vendor


@bp.route("/", methods=["GET", "POST"])
@roles_required(*ORGANISATION_ADMINS)
def index():
    vendor = Vendor.current()
    form = VendorForm(obj=vendor)
    if form.validate_on_submit():
        vendor = saved_vendor()
        form.populate_obj(vendor)
        db.session.commit()
        flash(_("The vendor's details are saved."), "success")
        return redirect(url_for("settings.index"))
    team = db.session.scalars(sa.select(TeamMember).order_by(TeamMember.position, TeamMember.id)).all()
    return render_template("settings/index.html", form=form, team=team)


@bp.route("/team/new", methods=["GET", "POST"])
@roles_required(*ORGANISATION_ADMINS)
def team_new():
    form = TeamMemberForm()
    if form.validate_on_submit():
        member = TeamMember(vendor_id=saved_vendor().id)
        form.populate_obj(member)
        member.position = member.position or 0
        db.session.add(member)
        db.session.commit()
        flash(_("%(name)s is added to the service team.", name=member.name), "success")
        return redirect(url_for("settings.index"))
    return render_template("settings/team_form.html", form=form, member=None)


@bp.route("/team/<int:member_id>/edit", methods=["GET", "POST"])
@roles_required(*ORGANISATION_ADMINS)
def team_edit(member_id):
    member = db.get_or_404(TeamMember, member_id)
    form = TeamMemberForm(obj=member)
    if form.validate_on_submit():
        form.populate_obj(member)
        member.position = member.position or 0
        db.session.commit()
        flash(_("%(name)s is saved.", name=member.name), "success")
        return redirect(url_for("settings.index"))
    return render_template("settings/team_form.html", form=form, member=member)


@bp.post("/team/<int:member_id>/delete")
@roles_required(*ORGANISATION_ADMINS)
def team_delete(member_id):
    member = db.get_or_404(TeamMember, member_id)
    db.session.delete(member)
    db.session.commit()
    flash(_("%(name)s is removed from the service team.", name=member.name), "success")
    return redirect(url_for("settings.index"))


# ---------------------------------------------------------------- the holiday calendar of the SLA clocks


def calendar_page(year, form=None, range_form=None, notice_form=None, notice=None):
    """The year's days, with the forms (each as sent when it was refused) and a notice's preview if there is one."""
    today = local_today()
    year = year if CALENDAR_YEARS[0] <= year <= CALENDAR_YEARS[1] else today.year  # e.g. a refused day's year
    years = list(range(today.year - 1, today.year + 2))
    if year not in years:
        years = sorted({*years, year})
    days = db.session.scalars(
        sa.select(CalendarDay)
        .where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .options(joinedload(CalendarDay.updated_by))
        .order_by(CalendarDay.day)
    ).all()
    confirmed = set(db.session.scalars(sa.select(CalendarYear.year).where(CalendarYear.confirmed.is_(True))))
    state = db.session.get(CalendarYear, year)
    unconfirmed = [y for y in (today.year, today.year + 1) if y not in confirmed]
    removed = replacements([(i.name_zh, i.days_off, i.workdays) for i in notice.items]) if notice else []
    return render_template(
        "settings/calendar.html",
        year=year,
        years=years,
        days=days,
        state=state,
        unconfirmed=unconfirmed,
        form=form or CalendarDayForm(data={"day": date(year, 1, 1)}),
        range_form=range_form or HolidayRangeForm(prefix="range"),
        notice_form=notice_form or NoticeForm(prefix="notice", data={"year": today.year + 1}),
        notice=notice,
        removed=removed,
    )


@bp.get("/calendar")
@roles_required(*ORGANISATION_ADMINS)
def calendar():
    year = request.args.get("year", type=whole_number) or local_today().year
    if not CALENDAR_YEARS[0] <= year <= CALENDAR_YEARS[1]:
        abort(404)
    return calendar_page(year)


@bp.post("/calendar/days")
@roles_required(*ORGANISATION_ADMINS)
def calendar_day():
    form = CalendarDayForm()
    if not form.validate_on_submit():
        return calendar_page(form.day.data.year if form.day.data else local_today().year, form=form)
    day = db.session.get(CalendarDay, form.day.data) or CalendarDay(day=form.day.data)
    day.kind, day.name_zh, day.name_en = form.kind.data, form.name_zh.data, form.name_en.data or ""
    day.source, day.updated_by_id = "manual", current_user.id
    db.session.add(day)
    db.session.commit()
    flash(_("%(date)s is saved in the calendar.", date=format_date(day.day, "long")), "success")
    return redirect(url_for("settings.calendar", year=day.day.year))


@bp.post("/calendar/holidays")
@roles_required(*ORGANISATION_ADMINS)
def calendar_holiday():
    """A holiday's days off (first to last) and its swapped working days, saved at once."""
    form = HolidayRangeForm(prefix="range")
    if not form.validate_on_submit():
        return calendar_page(form.first.data.year if form.first.data else local_today().year, range_form=form)
    name_en = form.name_en.data or english_name(form.name_zh.data)
    save_holidays([(form.name_zh.data, name_en, form.days_off, form.workday_dates)], current_user.id)
    db.session.commit()
    flash(
        _(
            "%(name)s is saved: %(off)d days off and %(worked)d swapped working days. Confirm the year when its "
            "schedule is complete.",
            name=form.name_zh.data,
            off=len(form.days_off),
            worked=len(form.workday_dates),
        ),
        "success",
    )
    return redirect(url_for("settings.calendar", year=form.first.data.year))


@bp.post("/calendar/import")
@roles_required(*ORGANISATION_ADMINS)
def calendar_import():
    """The State Council's notice as text: a preview of the days it gives (and of the lines it cannot read), then,
    sent again with ``confirmed``, those days saved."""
    form = NoticeForm(prefix="notice")
    if not form.validate_on_submit():
        return calendar_page(local_today().year + 1, notice_form=form)
    notice = parse_notice(form.text.data, form.year.data)
    if form.confirmed.data != "1" or not notice.ok:
        if form.confirmed.data == "1":
            flash(_("Nothing was saved: correct the lines shown and preview again."), "danger")
        form.confirmed.data = ""
        return calendar_page(notice.year, notice_form=form, notice=notice)
    save_holidays([(i.name_zh, i.name_en, i.days_off, i.workdays) for i in notice.items], current_user.id)
    db.session.commit()
    flash(
        _(
            "The notice's %(count)d holidays are saved for %(year)d. Confirm the year when its schedule is complete.",
            count=len(notice.items),
            year=notice.year,
        ),
        "success",
    )
    return redirect(url_for("settings.calendar", year=notice.year))


@bp.post("/calendar/days/<day>/delete")
@roles_required(*ORGANISATION_ADMINS)
def calendar_day_delete(day):
    day = query_date(day)
    found = db.session.get(CalendarDay, day) if day else None
    if found is None:
        abort(404)
    db.session.delete(found)
    db.session.commit()
    flash(_("%(date)s is an ordinary day again.", date=format_date(found.day, "long")), "success")
    return redirect(url_for("settings.calendar", year=found.day.year))


@bp.post("/calendar/<int:year>/confirm")
@roles_required(*ORGANISATION_ADMINS)
def calendar_confirm(year):
    if not CALENDAR_YEARS[0] <= year <= CALENDAR_YEARS[1]:
        abort(404)
    state = db.session.get(CalendarYear, year) or CalendarYear(year=year)
    state.confirmed = request.form.get("confirmed") == "1"
    state.source, state.updated_by_id = "manual", current_user.id
    db.session.add(state)
    db.session.commit()
    if state.confirmed:
        flash(_("The %(year)d schedule is confirmed.", year=year), "success")
    else:
        flash(_("The %(year)d schedule is marked as not confirmed.", year=year), "warning")
    return redirect(url_for("settings.calendar", year=year))
