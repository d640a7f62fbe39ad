"""The API tokens page: the name's help text sits under the field and is the text its
aria-describedby names; times are relative with the exact time on hover, like every page."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_name_help_is_under_the_field_and_described_by_it(alice_client):
    page = alice_client.get("/settings/tokens/").content.decode()
    assert 'aria-describedby="id_name_helptext"' in page
    assert 'id="id_name_helptext"' in page
    assert page.index('id="id_name_helptext"') < page.index("Create token</button>")


def test_token_times_are_relative_with_the_exact_time_on_hover(alice_client):
    alice_client.post("/settings/tokens/", {"name": "laptop"})
    page = alice_client.get("/settings/tokens/").content.decode()
    row = page[page.index("<td>laptop</td>") :]
    row = row[: row.index("</tr>")]
    assert "data-relative" in row and "just now" in row


def test_a_reload_that_resends_the_form_makes_no_second_token(alice_client, alice):
    from training.models.tokens import ApiToken

    page = alice_client.get("/settings/tokens/").content.decode()
    once = page.split('name="once" value="', 1)[1].split('"', 1)[0]
    first = alice_client.post("/settings/tokens/", {"name": "laptop", "once": once})
    assert first.context["new_token"]
    again = alice_client.post("/settings/tokens/", {"name": "laptop", "once": once})  # the browser's resend
    assert again.context["new_token"] is None and "This form was sent before" in again.content.decode()
    assert ApiToken.objects.filter(user=alice).count() == 1


def test_the_tables_of_the_new_pages_scroll_inside_their_frame_on_a_narrow_screen(alice_client, workspace):
    # (a table wider than a phone scrolls in its wrapper instead of widening the page)
    for url in ("/settings/tokens/", "/queue/", "/fleet/"):
        page = alice_client.get(url).content.decode()
        assert page.count("<table") == page.count('<div class="table-wrap"><table'), url
