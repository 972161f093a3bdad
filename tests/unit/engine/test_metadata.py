"""The terse metadata keys: typed on the way in and out, stored as upstream."""

from __future__ import annotations

from hotmesh.engine.metadata import ADDRESS_KEYS, Address, ParentRef


def test_an_address_round_trips_with_upstream_keys() -> None:
    md = {"jid": "j1", "gid": "g1", "dad": ",0,1", "aid": "a1"}
    address = Address.from_metadata(md)
    assert (address.job_id, address.gid, address.activity_id, address.dad) == (
        "j1",
        "g1",
        "a1",
        ",0,1",
    )
    assert address.to_metadata() == md
    assert tuple(address.to_metadata()) == ADDRESS_KEYS


def test_a_parent_reference_round_trips_and_names_the_await() -> None:
    md = {"pj": "p1", "pg": "g", "pd": ",0", "pa": "call", "px": False}
    ref = ParentRef.from_metadata(md)
    assert ref.to_metadata() == md  # no join keys unless set
    assert ref.address.to_metadata() == {
        "jid": "p1",
        "gid": "g",
        "dad": ",0",
        "aid": "call",
    }
    joined = ParentRef("p1", "g", ",0", "call", True, "done.topic", "k1")
    assert joined.to_metadata()["jt"] == "done.topic"
    assert ParentRef.from_metadata(joined.to_metadata()) == joined


def test_missing_keys_read_as_none() -> None:
    assert Address.from_metadata({}).to_metadata() == dict.fromkeys(ADDRESS_KEYS)
    assert ParentRef.from_metadata({"pj": "p"}).address.job_id == "p"
