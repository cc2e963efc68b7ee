"""Hostile input for the fuzz and escaping tests, and how to tell it got through."""

from __future__ import annotations

from datetime import date

from hypothesis import strategies as st

# Markup a page must never hand back as markup: each contains a tell-tale below.
MARKUP = [
    "<script>alert('xss')</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    "</textarea><script>alert(2)</script>",
    '<a href="javascript:alert(3)">click</a>',
    "<iframe src=//evil.example></iframe>",
    "<style>body{display:none}</style>",
]
TELLTALES = (
    "<script>alert",
    "<img src=x onerror",
    "<svg/onload",
    'href="javascript:',
    "<iframe src=//evil",
    "<style>body{display",
)
OTHER_HOSTILE = [
    "' OR '1'='1",
    "'; DROP TABLE trains_releasetrain; --",
    "1; SELECT pg_sleep(5)",
    "{{ 7*7 }}{% debug %}",
    "${7*7}#{7*7}",
    "%s%n%x",
    '=HYPERLINK("http://evil.example")',
    "+cmd|' /C calc'!A0",
    "../../etc/passwd",
    "\u202egnp.exe",
    "Zoë Ωμέγα 東京 😀🚂",
    "\x00nul",
    "\r\nSet-Cookie: pwned=1",
    "   ",
    "",
]
HOSTILE = MARKUP + OTHER_HOSTILE


def texts(max_size: int = 200) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=max_size),
        st.sampled_from(HOSTILE),
        st.builds(
            lambda a, h, b: a + h + b,
            st.text(max_size=15),
            st.sampled_from(HOSTILE),
            st.text(max_size=15),
        ),
        st.text(alphabet="ab<>\"'&", min_size=2_000, max_size=120_000).filter(bool),
    )


def dates() -> st.SearchStrategy[str]:
    return st.one_of(
        st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
        st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)).map(date.isoformat),
        st.sampled_from(
            ["0000-00-00", "0001-01-01", "9999-12-31", "2026-02-30", "2026-13-01", "yesterday"]
        ),
        st.text(max_size=12),
    )


# Ids no row can have, the largest beyond what SQLite can bind (releasemgr.ids).
HUGE_IDS = [
    "99999999999999999999",
    "-99999999999999999999",
    str(2**63),
    "0",
    "\u00b2",  # a digit to str.isdigit(), not to int()
    "9" * 5000,
]


def numbers_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.sampled_from(HUGE_IDS),
        st.sampled_from(["0", "-1", "1e9", "NaN", "0x10", " 7 ", "1.5"]),
        st.text(max_size=10),
    )


def choices(values) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(list(values)), texts(30))


def json_values() -> st.SearchStrategy:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        texts(100),
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=6,
    )


def found_markup(body: str) -> list[str]:
    return [t for t in TELLTALES if t in body]
