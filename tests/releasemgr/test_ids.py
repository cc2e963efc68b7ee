"""Ids from outside: whole numbers a primary key can hold, or a refusal before any query."""

import pytest
from django.core.exceptions import ValidationError

from releasemgr.ids import INVALID_ID, MAX_ID, parse_id


@pytest.mark.parametrize(
    ("value", "expected"), [("1", 1), (" 42 ", 42), ("007", 7), (17, 17), (str(MAX_ID), MAX_ID)]
)
def test_an_id_a_row_can_have_is_taken(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "99999999999999999999",
        str(MAX_ID + 1),
        "-99999999999999999999",
        "0",
        "-1",
        0,
        2**64,
        "\u00b2",
        "\u0661",
        "1.5",
        "1e3",
        "abc",
        "",
        "9" * 5000,
        True,
        1.0,
        None,
        ["1"],
    ],
)
def test_what_no_row_can_have_is_refused_with_the_reason(value):
    with pytest.raises(ValidationError) as refused:
        parse_id(value)
    assert refused.value.messages == [INVALID_ID]
