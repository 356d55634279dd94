"""The schedule a plan promises: each frequency on the 15th, phone and return visits, the end-of-life
inspection, and the service period's boundaries."""

from datetime import date

from portal.inspections import schedule


def kinds(dues, kind):
    return [d.due_on for d in dues if d.kind == kind]


def test_service_period_runs_from_acceptance_to_the_warranty_s_last_day():
    from portal.equipment.warranty import warranty_end

    assert schedule.service_period(date(2024, 3, 20), 36) == (date(2024, 3, 20), date(2027, 3, 20))
    assert schedule.service_period(date(2024, 1, 31), 1) == (date(2024, 1, 31), date(2024, 2, 29))
    for accepted, months in ((date(2024, 3, 20), 36), (date(2024, 1, 31), 1), (date(2023, 2, 28), 12)):
        assert schedule.service_period(accepted, months)[1] == warranty_end(accepted, months)  # one rule
    assert schedule.service_period(None, 36) is None


def test_quarterly_inspections_are_mid_march_june_september_december_within_the_period():
    dates = schedule.inspection_dates(schedule.FREQUENCY_MONTHS["quarterly"], date(2025, 3, 16), date(2026, 3, 15))
    assert dates == [date(2025, 6, 15), date(2025, 9, 15), date(2025, 12, 15), date(2026, 3, 15)]


def test_half_yearly_inspections_are_mid_january_and_july():
    dates = schedule.inspection_dates(schedule.FREQUENCY_MONTHS["half_yearly"], date(2025, 1, 15), date(2026, 7, 14))
    assert dates == [date(2025, 1, 15), date(2025, 7, 15), date(2026, 1, 15)]


def test_monthly_inspections_every_month_and_chosen_months_override_the_frequency():
    dates = schedule.inspection_dates(schedule.FREQUENCY_MONTHS["monthly"], date(2025, 11, 20), date(2026, 2, 28))
    assert dates == [date(2025, 12, 15), date(2026, 1, 15), date(2026, 2, 15)]
    dues = schedule.plan_dates(
        frequency="quarterly",
        months=[4, 10],
        phone_visits=0,
        return_visits=False,
        end_of_life=False,
        start=date(2025, 1, 1),
        end=date(2025, 12, 31),
    )
    assert kinds(dues, "inspection") == [date(2025, 4, 15), date(2025, 10, 15)]


def test_four_phone_visits_a_year_and_return_visits_quarterly_from_one_month_after_handover():
    start, end = schedule.service_period(date(2025, 1, 10), 12)
    assert schedule.phone_visit_dates(4, start, end) == [
        date(2025, 4, 10),
        date(2025, 7, 10),
        date(2025, 10, 10),
        date(2026, 1, 10),
    ]  # four in the year, the last on its day
    three_years = schedule.phone_visit_dates(4, *schedule.service_period(date(2025, 1, 10), 36))
    assert len(three_years) == 12  # four in each year of service
    for year in range(3):
        first, last = date(2025 + year, 1, 10), date(2026 + year, 1, 10)
        assert len([d for d in three_years if first < d <= last]) == 4
    assert len(schedule.phone_visit_dates(5, start, end)) == 5 and len(schedule.phone_visit_dates(12, start, end)) == 12
    assert schedule.return_visit_dates(start, end) == [
        date(2025, 2, 10),
        date(2025, 5, 10),
        date(2025, 8, 10),
        date(2025, 11, 10),
    ]
    assert schedule.phone_visit_dates(0, start, end) == []


def test_the_end_of_life_inspection_is_due_at_the_end_with_a_three_month_window():
    dues = schedule.plan_dates(
        frequency="none",
        months=[],
        phone_visits=0,
        return_visits=False,
        end_of_life=True,
        start=date(2024, 3, 20),
        end=date(2027, 3, 20),
    )
    assert [(d.kind, d.due_on, d.window_start) for d in dues] == [
        ("end_of_life", date(2027, 3, 20), date(2026, 12, 20))
    ]  # the warranty's last day, and 3 months before


def test_a_whole_plan_is_in_date_order_and_inside_the_period():
    start, end = date(2024, 3, 20), date(2027, 3, 19)
    dues = schedule.plan_dates(
        frequency="quarterly", months=[], phone_visits=4, return_visits=True, end_of_life=True, start=start, end=end
    )
    assert [d.due_on for d in dues] == sorted(d.due_on for d in dues)
    assert all(start <= d.due_on <= end for d in dues)
    assert len(kinds(dues, "inspection")) == 12 and kinds(dues, "inspection")[0] == date(2024, 6, 15)
    assert kinds(dues, "inspection")[-1] == date(2027, 3, 15)  # four days before the end: still inside
    shorter = schedule.plan_dates(
        frequency="quarterly",
        months=[],
        phone_visits=0,
        return_visits=False,
        end_of_life=False,
        start=start,
        end=date(2027, 3, 14),
    )
    assert kinds(shorter, "inspection")[-1] == date(2026, 12, 15)  # the day after the end is outside
    assert all(d.window_start <= d.due_on for d in dues)
