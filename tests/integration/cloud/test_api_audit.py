"""The audit log on a real database: the database itself refuses UPDATE and DELETE, and verify finds an
entry altered in the middle, entries deleted from the end, and a head that no longer matches an anchor.

Tampering needs the triggers out of the way first, as someone with DDL rights on the database would do.
"""

from __future__ import annotations

import pytest

from cloud_api.db.engine import is_sqlite
from cloud_api.domain.audit.schemas import ActorType
from cloud_api.domain.audit.tables import AuditEntry, AuditHead
from tests.integration.cloud.support import CloudApp

_DROP_TRIGGERS = {
    True: (
        "DROP TRIGGER audit_log_no_update",
        "DROP TRIGGER audit_log_no_delete",
        "DROP TRIGGER audit_head_forward_only",
        "DROP TRIGGER audit_head_no_delete",
    ),
    False: (
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
        "ALTER TABLE audit_head DISABLE TRIGGER USER",
    ),
}


def _append(cloud: CloudApp, n: int) -> None:
    async def append() -> None:
        for i in range(n):
            await cloud.runtime.audit.log_action(
                "note", ActorType.SYSTEM, "test", claim_id=None, before={"i": i}, after={"i": i + 1}
            )

    cloud.call(append)


def _sql(cloud: CloudApp, *statements: str) -> None:
    async def run() -> None:
        for statement in statements:
            await AuditEntry.raw(statement).run()

    cloud.call(run)


def _drop_triggers(cloud: CloudApp) -> None:
    _sql(cloud, *_DROP_TRIGGERS[is_sqlite()])


def verify(cloud: CloudApp, headers: dict[str, str], **params: object) -> dict:
    response = cloud.client.get("/audit/verify", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor_id = 'mallory' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 3",
        "UPDATE audit_head SET seq = 1 WHERE id = 1",
        "DELETE FROM audit_head",
    ],
)
def test_the_database_refuses_to_change_the_log(cloud: CloudApp, statement: str) -> None:
    headers = cloud.headers("read")  # entry 1: the key's creation
    _append(cloud, 2)
    with pytest.raises(Exception, match="append-only|forward|cannot be deleted"):
        _sql(cloud, statement)
    assert verify(cloud, headers) | {"head_hash": ""} == {
        "ok": True,
        "entries": 3,
        "first_broken": None,
        "reason": None,
        "head_seq": 3,
        "head_hash": "",
        "anchor_ok": None,
    }


def test_verify_finds_an_altered_entry_and_a_cut_off_end(cloud: CloudApp) -> None:
    headers = cloud.headers("read")  # entry 1
    _append(cloud, 4)
    _drop_triggers(cloud)
    _sql(cloud, "DELETE FROM audit_log WHERE seq >= 4")  # the newest two entries vanish
    cut = verify(cloud, headers)
    assert (cut["ok"], cut["reason"], cut["first_broken"], cut["entries"], cut["head_seq"]) == (
        False,
        "truncated",
        4,
        3,
        5,
    )
    _sql(cloud, "UPDATE audit_log SET actor_id = 'mallory' WHERE seq = 2")
    altered = verify(cloud, headers)
    assert (altered["ok"], altered["reason"], altered["first_broken"]) == (False, "altered", 2)


def test_an_anchor_kept_by_an_outsider_catches_a_rewritten_log(cloud: CloudApp) -> None:
    headers = cloud.headers("read")  # entry 1
    _append(cloud, 2)
    receipt = verify(cloud, headers)
    anchor = {"anchor_seq": receipt["head_seq"], "anchor_hash": receipt["head_hash"]}
    assert verify(cloud, headers, **anchor)["anchor_ok"] is True
    _append(cloud, 2)  # the log grows: the anchor is still in it
    assert verify(cloud, headers, **anchor) | {"head_hash": ""} == {
        "ok": True,
        "entries": 5,
        "first_broken": None,
        "reason": None,
        "head_seq": 5,
        "head_hash": "",
        "anchor_ok": True,
    }
    forged = {"anchor_seq": 2, "anchor_hash": "f" * 64}
    mismatch = verify(cloud, headers, **forged)
    assert (mismatch["ok"], mismatch["reason"], mismatch["anchor_ok"]) == (False, "anchor_mismatch", False)
    beyond = verify(cloud, headers, anchor_seq=99, anchor_hash=receipt["head_hash"])
    assert beyond["anchor_ok"] is False and beyond["ok"] is False
    bad = cloud.client.get("/audit/verify", params={"anchor_seq": 2}, headers=headers)
    assert bad.status_code == 422


def test_the_head_moves_with_every_append(cloud: CloudApp) -> None:
    _append(cloud, 2)  # the first two entries: no key was made yet

    async def head_and_last() -> tuple[dict, dict]:
        head = await AuditHead.select().where(AuditHead.id == 1).first().run()
        last = await AuditEntry.select().order_by(AuditEntry.seq, ascending=False).first().run()
        return head, last

    head, last = cloud.call(head_and_last)
    assert (head["seq"], head["hash"]) == (last["seq"], last["hash"]) == (2, last["hash"])
