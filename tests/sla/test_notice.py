"""Reading the State Council's holiday notice, pasted as text: the real 2025 and 2026 notices give exactly the days
of the official schedule (the chinesecalendar library's), and a line that cannot be read is reported, never dropped."""

from datetime import date

import pytest

from portal.sla.holidays import NAMES_ZH, library_schedule
from portal.sla.notice import english_name, notice_year, parse_notice

# 国务院办公厅关于2025年部分节假日安排的通知（国办发明电〔2024〕12号）, as published.
NOTICE_2025 = """国务院办公厅关于2025年部分节假日安排的通知
各省、自治区、直辖市人民政府，国务院各部委、各直属机构：
经国务院批准，现将2025年元旦、春节、清明节、劳动节、端午节、中秋节和国庆节放假调休日期的具体安排通知如下。
一、元旦：1月1日（周三）放假1天，不调休。
二、春节：1月28日（农历除夕、周二）至2月4日（农历正月初七、周二）放假调休，共8天。1月26日（周日）、2月8日（周六）上班。
三、清明节：4月4日（周五）至6日（周日）放假，共3天。
四、劳动节：5月1日（周四）至5日（周一）放假调休，共5天。4月27日（周日）上班。
五、端午节：5月31日（周六）至6月2日（周一）放假，共3天。
六、国庆节、中秋节：10月1日（周三）至8日（周三）放假调休，共8天。9月28日（周日）、10月11日（周六）上班。
节假日期间，各地区、各部门要妥善安排好值班和安全、保卫等工作，遇有重大突发事件，要按规定及时报告并妥善处置，确保人民群众祥和平安度过节日假期。
国务院办公厅
2024年11月12日
"""

# 国务院办公厅关于2026年部分节假日安排的通知（国办发明电〔2025〕7号）: the items, as published.
NOTICE_2026 = """国务院办公厅关于2026年部分节假日安排的通知
一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
三、清明节：4月4日（周六）至6日（周一）放假，共3天。
四、劳动节：5月1日（周五）至5日（周二）放假调休，共5天。5月9日（周六）上班。
五、端午节：6月19日（周五）至21日（周日）放假，共3天。
六、中秋节：9月25日（周五）至27日（周日）放假，共3天。
七、国庆节：10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。
"""


def days_of(notice):
    holidays = {d: item.name_en for item in notice.items for d in item.days_off}
    workdays = {d: item.name_en for item in notice.items for d in item.workdays}
    return holidays, workdays


@pytest.mark.parametrize("year, text", [(2025, NOTICE_2025), (2026, NOTICE_2026)])
def test_the_real_notices_give_the_official_schedule(year, text):
    notice = parse_notice(text, 1999)  # the title's year wins over the form's
    assert notice.year == year and notice.ok and notice.problems == []
    holidays, workdays = days_of(notice)
    official_holidays, official_workdays, _ = library_schedule(year)
    official_holidays = {d: n for d, n in official_holidays.items() if d.year == year}
    official_workdays = {d: n for d, n in official_workdays.items() if d.year == year}
    assert set(holidays) == set(official_holidays) and set(workdays) == set(official_workdays)
    for day, name in {**holidays, **workdays}.items():  # a joint item (国庆节、中秋节) names both
        official = official_holidays.get(day) or official_workdays[day]
        assert official in name.split(", "), day
    for item in notice.items:
        assert item.name_en == ", ".join(english_name(n) for n in item.name_zh.split("、"))
        assert all(NAMES_ZH[english_name(n)] == n for n in item.name_zh.split("、"))


def test_what_is_not_an_item_is_skipped_and_shown():
    notice = parse_notice(NOTICE_2025, 2025)
    skipped = [text for _, text in notice.skipped]
    assert skipped[0].startswith("各省、自治区") and skipped[-2:] == ["国务院办公厅", "2024年11月12日"]
    assert any(text.startswith("节假日期间") for text in skipped)
    assert len(notice.items) == 6


def test_the_year_comes_from_the_text_or_the_form():
    assert notice_year("国务院办公厅关于2027年部分节假日安排的通知") == 2027
    assert notice_year("一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。") is None
    notice = parse_notice("一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。", 2027)
    assert notice.year == 2027 and notice.items[0].days_off == [date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)]


def test_forms_of_earlier_notices():
    text = """一、元旦：2018年12月30日至2019年1月1日放假调休，共3天。2018年12月29日（星期六）上班。
二、春节：2月10日至17日放假调休，共8天。2月4日（星期日）、18日（星期日）上班。鼓励各单位结合带薪年休假等制度落实，安排职工在除夕（2月9日）休息。
三、元旦：1月1日放假，与周末连休。
四、劳动节：4月30日至5月4日放假调休，共5天。"""
    notice = parse_notice(text, 2024)
    assert notice.problems == []
    new_year, spring, single, labour = notice.items
    assert new_year.days_off == [date(2018, 12, 30), date(2018, 12, 31), date(2019, 1, 1)]
    assert new_year.workdays == [date(2018, 12, 29)]
    assert spring.workdays == [date(2024, 2, 4), date(2024, 2, 18)] and len(spring.days_off) == 8
    assert spring.notes == ["鼓励各单位结合带薪年休假等制度落实,安排职工在除夕(2月9日)休息"]
    assert single.days_off == [date(2024, 1, 1)] and single.workdays == []
    assert labour.days_off[0] == date(2024, 4, 30) and labour.days_off[-1] == date(2024, 5, 4)  # across a month end


def test_half_width_and_full_width_input():
    notice = parse_notice(
        "二、春节: ２月１５日(周日)至２３日(周一)放假调休, 共９天。 2月14日(周六)、2月28日(周六)上班。", 2026
    )
    assert notice.problems == [] and len(notice.items[0].days_off) == 9 and len(notice.items[0].workdays) == 2


@pytest.mark.parametrize(
    "line, code",
    [
        ("一、元旦：1月1日（周四）至3日（周日）放假调休，共3天。", "weekday"),  # 1 January 2027 is a Friday
        ("二、春节：2月15日至23日放假调休，共8天。", "count"),  # 9 days, not 8
        ("三、清明节：4月6日至4日放假，共3天。", "ends_before"),
        ("四、劳动节：5月1日至6月5日放假。", "too_long"),
        ("五、端午节：6月31日放假。", "no_date"),
        ("六、国庆节：10月1日至7日放假调休，共7天。10月3日（周日）上班。", "both"),
        ("七、国庆节：10月1日至7日放假调休，共7天。9月26日上班，10月9日上班。", "unreadable"),
        ("八、中秋节：九月十五日放假。", "line"),  # numbered, no date it can read
        ("中秋节：9月15日休息三天", "unreadable"),  # not "放假"
        ("九、国庆节：10月1日至7日放假调休，共7天。20日（周日）上班。", "no_date"),  # a working day without its month
        ("十、春节 2月15日至23日放假", "line"),  # no colon
        ("元旦：1月1日放假；1月4日上班。", "unreadable"),
    ],
)
def test_malformed_lines_are_reported_with_the_reason(line, code):
    notice = parse_notice("\n".join(["一、元旦：1月1日（周五）放假1天。", line]), 2027)
    assert [(p.line, p.code) for p in notice.problems] == [(2, code)]
    assert notice.problems[0].text == line
    assert not notice.ok and [i.name_zh for i in notice.items] == ["元旦"]


def test_a_day_in_two_items_is_reported():
    notice = parse_notice("一、元旦：1月1日至3日放假。\n二、春节：1月3日至4日放假。", 2027)
    assert [(p.line, p.code, p.params["other"]) for p in notice.problems] == [(2, "twice", 1)]


def test_problems_read_in_both_languages(app):
    notice = parse_notice("一、元旦：1月1日（周四）至3日（周日）放假调休，共3天。", 2027)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert notice.problems[0].message == (
            "January 1, 2027 is a Friday, but the notice says 周四: check the year and the date."
        )
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert notice.problems[0].message == "2027年1月1日是星期五，但通知写的是周四：请核对年份和日期。"


def test_nothing_to_read():
    notice = parse_notice("", 2027)
    assert not notice.ok and notice.items == [] and notice.problems == []
