"""The vendor's own details and its published service team (vendor manager only)."""
from datetime import date

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..bounds import query_date, whole_number
from ..extensions import db
from ..orgs.forms import TeamMemberForm, VendorForm
from ..orgs.models import TeamMember, Vendor
from ..i18n import local_today
from ..roles import Role
from ..sla.forms import CALENDAR_YEARS, CalendarDayForm
from ..sla.models import CalendarDay, CalendarYear
from ..scoping import roles_required
from . import bp


def saved_vendor():
    vendor = Vendor.current()
    if vendor.id is None:
        db.session.add(vendor)
        db.session.flush()
    return vendor


@bp.route("/", methods=["GET", "POST"])
@roles_required(Role.VENDOR_MANAGER)
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
@roles_required(Role.VENDOR_MANAGER)
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
@roles_required(Role.VENDOR_MANAGER)
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
@roles_required(Role.VENDOR_MANAGER)
def team_delete(member_id):
    member = db.get_or_404(TeamMember, member_id)
    db.session.delete(member)
    db.session.commit()
    flash(_("%(name)s is removed from the service team.", name=member.name), "success")
    return redirect(url_for("settings.index"))


# ---------------------------------------------------------------- the holiday calendar of the SLA clocks


def calendar_page(year, form=None):
    today = local_today()
    year = year if CALENDAR_YEARS[0] <= year <= CALENDAR_YEARS[1] else today.year  # e.g. a refused day's year
    years = list(range(today.year - 1, today.year + 2))
    if year not in years:
        years = sorted({*years, year})
    days = db.session.scalars(
        sa.select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .options(joinedload(CalendarDay.updated_by)).order_by(CalendarDay.day)
    ).all()
    confirmed = set(db.session.scalars(sa.select(CalendarYear.year).where(CalendarYear.confirmed.is_(True))))
    state = db.session.get(CalendarYear, year)
    unconfirmed = [y for y in (today.year, today.year + 1) if y not in confirmed]
    return render_template("settings/calendar.html", year=year, years=years, days=days, state=state,
                           unconfirmed=unconfirmed, form=form or CalendarDayForm(data={"day": date(year, 1, 1)}))


@bp.get("/calendar")
@roles_required(Role.VENDOR_MANAGER)
def calendar():
    year = request.args.get("year", type=whole_number) or local_today().year
    if not CALENDAR_YEARS[0] <= year <= CALENDAR_YEARS[1]:
        abort(404)
    return calendar_page(year)


@bp.post("/calendar/days")
@roles_required(Role.VENDOR_MANAGER)
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


@bp.post("/calendar/days/<day>/delete")
@roles_required(Role.VENDOR_MANAGER)
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
@roles_required(Role.VENDOR_MANAGER)
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
