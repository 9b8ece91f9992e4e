"""The official `anthropic` Python SDK's Models API (`client.models`) against the running gateway.

The gateway serves the catalog embedded from `src/models.json`; the expected order (newest
`created_at` first, equal times by id) is worked out here from that file, independently of the
gateway's own code.
"""

import json
from datetime import datetime
from pathlib import Path

import anthropic
import pytest

CATALOG = json.loads((Path(__file__).resolve().parents[2] / "src" / "models.json").read_text())["models"]


def _created(model: dict) -> datetime:
    return datetime.fromisoformat(model["created_at"].replace("Z", "+00:00"))


def _newest_first() -> list:
    by_id = sorted(CATALOG, key=lambda m: m["id"])
    return sorted(by_id, key=_created, reverse=True)


EXPECTED = [m["id"] for m in _newest_first()]


def test_auto_pagination_yields_every_catalog_model_once_in_order(client):
    assert len(EXPECTED) > 3, "the catalog is too small to need several pages"
    assert [m.id for m in client.models.list(limit=3)] == EXPECTED
    assert [m.id for m in client.models.list()] == EXPECTED


def test_a_page_carries_cursor_fields_and_links_to_the_next(client):
    page = client.models.list(limit=2)
    assert [m.id for m in page.data] == EXPECTED[:2]
    assert page.has_more is True
    assert (page.first_id, page.last_id) == (EXPECTED[0], EXPECTED[1])
    assert page.has_next_page()
    following = page.get_next_page()
    assert [m.id for m in following.data] == EXPECTED[2:4]
    assert following.first_id == EXPECTED[2]


def test_before_id_pages_backwards_to_the_newest(client):
    oldest = EXPECTED[-1]
    first = client.models.list(limit=2, before_id=oldest)
    assert [m.id for m in first.data] == EXPECTED[-3:-1]
    # The SDK follows `first_id` backwards until `has_more` is false.
    seen = [m.id for m in client.models.list(limit=2, before_id=oldest)]
    assert sorted(seen) == sorted(EXPECTED[:-1])
    assert len(seen) == len(set(seen))


def test_list_items_are_model_objects(client):
    by_id = {m["id"]: m for m in CATALOG}
    for model in client.models.list(limit=1000):
        assert model.type == "model"
        assert model.display_name == by_id[model.id]["display_name"]
        assert model.created_at == _created(by_id[model.id])


@pytest.mark.parametrize("pick", ["id", "alias"])
def test_retrieve_by_id_or_alias_returns_the_canonical_model(client, pick):
    spec = next(m for m in CATALOG if m.get("aliases"))
    name = spec["id"] if pick == "id" else spec["aliases"][0]
    model = client.models.retrieve(name)
    assert model.id == spec["id"]
    assert model.type == "model"
    assert model.display_name == spec["display_name"]
    assert model.created_at == _created(spec)


def test_retrieving_an_unknown_model_raises_not_found(client):
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.models.retrieve("claude-imaginary-9")
    err = caught.value
    assert err.status_code == 404
    assert err.body["error"]["type"] == "not_found_error"
    assert err.request_id and err.request_id == err.body["request_id"]


def test_an_out_of_range_limit_raises_bad_request(client):
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.models.list(limit=0)
    assert "limit" in caught.value.body["error"]["message"]
