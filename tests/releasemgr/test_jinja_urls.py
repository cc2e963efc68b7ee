"""Links in the Jinja2 bodies (releasemgr/jinja2.py): reversed once and remembered, with
the request's script prefix read once a render."""

from django.urls import get_script_prefix, set_script_prefix

from releasemgr.jinja2 import url, url_for_render


def test_a_render_links_under_the_script_prefix_it_began_with():
    before = get_script_prefix()
    try:
        set_script_prefix("/releases/")
        bound = url_for_render()
        assert bound("train_detail", 5) == "/releases/trains/5/"
        assert url("train_detail", 5) == "/releases/trains/5/"
        set_script_prefix("/")
        assert url("train_detail", 5) == "/trains/5/"  # remembered per prefix
        assert url_for_render()("train_detail", 5) == "/trains/5/"
        assert bound("train_detail", 5) == "/releases/trains/5/"
        assert url("freeze_list") == "/freezes/"
    finally:
        set_script_prefix(before)
