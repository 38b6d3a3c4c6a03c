"""The clock-rule benchmark's shifted replies wrap on the 12-hour dial."""

import pytest

from research.clock_rule import shifted


@pytest.mark.parametrize("ref, minutes, reply", [("04:00", -1, "3:59"), ("12:00", -1, "11:59"), ("11:59", 1, "12:00"),
                                                 ("04:00", 59, "4:59"), ("00:30", 0, "12:30")])
def test_shifted(ref, minutes, reply):
    assert shifted(ref, minutes) == reply
