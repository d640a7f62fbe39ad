"""Refusals in the site's layout: a member who may not delete a run's outputs reads why (403),
and a stranger's 404 says where to go next without saying whether the run exists."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.factories import make_run
from training.models import Membership, RunStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(workspace, alice):
    return make_run(workspace, alice, status=RunStatus.SUCCEEDED)


def test_a_member_who_may_not_delete_reads_why_with_the_site_around_it(client, bob, run):
    Membership.objects.create(user=bob, workspace=run.workspace, role=Membership.Role.MEMBER)
    client.force_login(bob)
    response = client.get(reverse("training:run_delete_outputs", args=[run.pk]))
    html = response.content.decode()
    assert response.status_code == 403
    assert "Only an owner of the workspace can delete a run&#x27;s outputs." in html
    assert f'href="{reverse("training:home")}"' in html and 'class="top"' in html


def test_a_stranger_gets_a_404_page_with_the_site_around_it(bob_client, run):
    for url in (reverse("training:run", args=[run.pk]), reverse("training:run", args=[run.pk + 1000])):
        response = bob_client.get(url)
        html = response.content.decode()
        assert response.status_code == 404
        assert "Not found" in html and f'href="{reverse("training:home")}"' in html and 'class="top"' in html
        assert "No such run" not in html
