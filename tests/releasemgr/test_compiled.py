"""SQL compiled once a database, run with other values: the values land in the stand-ins'
places and nowhere else, and one person's ids never answer for another's."""

import pytest

from releasemgr import roles
from releasemgr.db import MARK, Template, once_a_database
from tests.factories import make_train
from trains import access

pytestmark = pytest.mark.django_db


def test_a_template_binds_each_value_in_every_place_of_its_stand_in():
    sql = "a=%s b=%s c=%s d=%s"
    template = Template.of((sql, [MARK, 7, MARK + 1, MARK]), (MARK, MARK + 1), each=True)
    assert template.slots == ((0, 3), (2,))
    assert template.bind(5, 6) == (sql, [5, 7, 6, 5])
    with pytest.raises(TypeError, match="2 values wanted, 1 given"):
        template.bind(5)


def test_a_stand_in_missing_from_the_sql_is_refused_only_where_each_must_be_there():
    with pytest.raises(ValueError, match="not a parameter"):
        Template.of(("x=%s", [MARK + 1]), (MARK, MARK + 1), each=True)
    assert Template.of(("x=%s", [MARK + 1]), (MARK, MARK + 1), each=False).bind(1, 2) == (
        "x=%s",
        [2],
    )


def test_made_once_a_database_and_key():
    made = []

    def make():
        made.append(1)
        return len(made)

    key = ("test_compiled", object())
    assert once_a_database(key, make) == once_a_database(key, make) == 1
    assert once_a_database((*key, "other"), make) == 2


def test_the_compiled_rule_binds_each_persons_own_ids(manager, other_manager, qa):
    """Two people of the same shape (roles, number of groups) share the compiled SQL;
    each sees their own trains through it, and a group's grant reaches its members."""
    mine = make_train(manager, viewer_groups=())
    theirs = make_train(other_manager, viewer_groups=())
    shared = make_train(other_manager, viewer_groups=[roles.QA])
    for by_row in (False, True):
        assert set(access.trains_for(manager, access.VIEW, by_row=by_row)) == {mine}
        assert set(access.trains_for(other_manager, access.VIEW, by_row=by_row)) == {
            theirs,
            shared,
        }
        assert set(access.trains_for(qa, access.VIEW, by_row=by_row)) == {shared}
