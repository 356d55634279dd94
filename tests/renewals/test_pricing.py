"""Renewal prices (8% a year, discounts, annual ceilings, rounding) and amounts in capital numerals."""

from decimal import Decimal as D

import pytest

from portal.renewals.pricing import indicative_price, line_price, rmb_upper


class TestLinePrice:
    def test_the_bids_rate(self):
        # 8% of a 2,860,000 yuan system, per year.
        assert line_price(D("2860000"), D("0.08"), 1).amount == D("228800.00")
        assert line_price(D("2860000"), D("0.08"), 3).amount == D("686400.00")

    def test_discount_then_ceiling(self):
        price = line_price(D("2860000"), D("0.08"), 2, discount=D("0.10"))
        assert price.amount == D("411840.00") and not price.capped
        capped = line_price(D("2860000"), D("0.08"), 2, discount=D("0.10"), ceiling=D("200000"))
        assert capped.amount == D("400000.00") and capped.capped
        assert not line_price(D("1000"), D("0.08"), 1, ceiling=D("80")).capped  # equal is not above

    def test_rounded_half_up_once_at_the_line_total(self):
        # 0.0625 a year: rounding each year first would give 0.06 × 3 = 0.18; once at the end, 0.1875 → 0.19.
        assert line_price(D("0.125"), D("0.5"), 3).amount == D("0.19")
        assert line_price(D("0.125"), D("0.5"), 1).amount == D("0.06")
        assert line_price(D("12345.67"), D("0.08"), 1).amount == D("987.65")  # 987.6536
        assert line_price(D("0.3125"), D("0.08"), 1).amount == D("0.03")  # 0.025 → 0.03, half-up
        assert isinstance(line_price(D("1"), D("0.08"), 1).amount, D)

    @pytest.mark.parametrize("years", [0, 4, -1])
    def test_one_to_three_years(self, years):
        with pytest.raises(ValueError):
            line_price(D("1000"), D("0.08"), years)

    @pytest.mark.parametrize(
        ("basis", "rate", "discount"), [("-1", "0.08", "0"), ("1", "-0.08", "0"), ("1", "0.08", "1")]
    )
    def test_refuses_nonsense(self, basis, rate, discount):
        with pytest.raises(ValueError):
            line_price(D(basis), D(rate), 1, discount=D(discount))

    def test_indicative_price_is_the_same_computation(self):
        assert indicative_price(D("23800"), D("0.08"), 2) == line_price(D("23800"), D("0.08"), 2).amount
        assert indicative_price(None, D("0.08")) is None


@pytest.mark.parametrize(
    ("amount", "upper"),
    [
        ("0", "零元整"),
        ("0.05", "伍分"),
        ("0.50", "伍角"),
        ("0.55", "伍角伍分"),
        ("1.05", "壹元零伍分"),
        ("10", "壹拾元整"),
        ("1010", "壹仟零壹拾元整"),
        ("12000", "壹万贰仟元整"),
        ("10005.30", "壹万零伍元叁角"),
        ("20000.07", "贰万元零柒分"),
        ("100100", "壹拾万零壹佰元整"),
        ("110000", "壹拾壹万元整"),
        ("1000000", "壹佰万元整"),
        ("100000000", "壹亿元整"),
        ("100010000", "壹亿零壹万元整"),
        ("100000001", "壹亿零壹元整"),
        ("123456789.12", "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元壹角贰分"),
        ("686400.00", "陆拾捌万陆仟肆佰元整"),
    ],
)
def test_capital_numerals(amount, upper):
    assert rmb_upper(D(amount)) == upper
