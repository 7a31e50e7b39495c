"""The pure field-work rules: how visits move the order, upload checks, coverage and cost."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service_core.errors import Conflict, Unprocessable
from service_core.fieldwork import rules
from service_core.fieldwork.models import Contract
from service_core.fieldwork.rules import Coverage, UnsupportedUpload, UploadTooLarge
from service_core.workorders.states import TRANSITIONS, Status
from tests.service_core.fieldwork_builders import JPEG, png


def test_check_in_puts_an_accepted_or_en_route_order_on_site() -> None:
    assert rules.status_at_check_in("accepted") is Status.ON_SITE
    assert rules.status_at_check_in("en_route") is Status.ON_SITE
    assert rules.status_at_check_in("on_site") is None and rules.status_at_check_in("in_progress") is None
    with pytest.raises(Conflict, match="accepts it before checking in"):
        rules.status_at_check_in("assigned")
    for status in ("new", "on_hold", "completed", "closed", "cancelled"):
        with pytest.raises(Conflict, match=f"the order is '{status}'"):
            rules.status_at_check_in(status)


def test_check_out_holds_the_order_with_the_fitting_reason() -> None:
    assert rules.move_at_check_out("on_site", "needs_parts") == (Status.ON_HOLD, "waiting_parts")
    assert rules.move_at_check_out("in_progress", "no_access") == (Status.ON_HOLD, "waiting_customer")
    assert rules.move_at_check_out("on_site", "not_fixed") == (Status.ON_HOLD, "other")
    assert rules.move_at_check_out("on_site", "fixed") == (Status.IN_PROGRESS, None)
    assert rules.move_at_check_out("in_progress", "fixed") is None
    assert rules.move_at_check_out("on_hold", "needs_parts") is None  # the desk held it meanwhile


@given(st.sampled_from(Status), st.sampled_from(sorted(rules.OUTCOMES)))
def test_every_move_a_visit_makes_is_a_legal_transition(status: Status, outcome: str) -> None:
    try:
        target = rules.status_at_check_in(status)
    except Conflict:
        target = None
    assert target is None or target in TRANSITIONS[status]
    move = rules.move_at_check_out(status, outcome)
    assert move is None or move[0] in TRANSITIONS[status]


def test_planning_a_visit_assigns_only_orders_nobody_works_on() -> None:
    assert rules.assignment_for_visit("new", order_engineer=None, visit_engineer=1) is True
    assert rules.assignment_for_visit("on_hold", order_engineer=1, visit_engineer=1) is True  # resumes
    assert rules.assignment_for_visit("assigned", order_engineer=1, visit_engineer=1) is False
    assert rules.assignment_for_visit("assigned", order_engineer=1, visit_engineer=2) is True
    assert rules.assignment_for_visit("in_progress", order_engineer=1, visit_engineer=1) is False
    with pytest.raises(Conflict, match="plan the visit for them"):
        rules.assignment_for_visit("accepted", order_engineer=1, visit_engineer=2)
    with pytest.raises(Conflict, match="reopen it first"):
        rules.assignment_for_visit("completed", order_engineer=1, visit_engineer=1)


def test_uploads_are_what_they_say() -> None:
    assert rules.check_upload("photo", filename="a.png", declared_type="image/png", content=png()) == "image/png"
    assert rules.check_upload("signature", filename="s", declared_type="image/jpeg; q=1", content=JPEG) == "image/jpeg"
    # a client that does not know the type: the bytes decide
    assert (
        rules.check_upload("file", filename="r.pdf", declared_type="application/octet-stream", content=b"%PDF-1.7 ...")
        == "application/pdf"
    )
    assert rules.check_upload("file", filename="n.txt", declared_type="text/plain", content="ok ✓".encode()) == (
        "text/plain"
    )
    with pytest.raises(UnsupportedUpload, match=r"'a.png' claims to be image/png but its bytes are image/jpeg"):
        rules.check_upload("photo", filename="a.png", declared_type="image/png", content=JPEG)
    with pytest.raises(UnsupportedUpload, match="a photo must be one of image/jpeg, image/png, image/webp"):
        rules.check_upload("photo", filename="r.pdf", declared_type="application/pdf", content=b"%PDF-1.7")
    with pytest.raises(UnsupportedUpload, match="a signature must be one of image/jpeg, image/png"):
        rules.check_upload("signature", filename="x", declared_type=None, content=b"MZ\x90\x00")
    with pytest.raises(UnsupportedUpload, match="holds binary data"):
        rules.check_upload("file", filename="x.txt", declared_type="text/plain", content=b"a\x00b")
    with pytest.raises(Unprocessable, match="empty"):
        rules.check_upload("photo", filename="e.png", declared_type="image/png", content=b"")
    too_big = b"\x89PNG\r\n\x1a\n" + bytes(rules.MAX_ATTACHMENT_BYTES)
    with pytest.raises(UploadTooLarge, match="larger than the limit of 10 MiB") as raised:
        rules.check_upload("photo", filename="big.png", declared_type="image/png", content=too_big)
    assert raised.value.status_code == 413


def _contract(labour: bool, parts: bool) -> Contract:
    return Contract(1, 1, "c", "standard", date(2025, 1, 1), date(2025, 12, 31), labour, parts)


def test_coverage_follows_billing_and_the_contract() -> None:
    assert rules.coverage("warranty", None) == Coverage(labour=True, parts=True)
    assert rules.coverage("contract", _contract(False, True)) == Coverage(labour=False, parts=True)
    assert rules.coverage("contract", None) == Coverage(labour=True, parts=False)
    assert rules.coverage("billable", _contract(True, True)) == Coverage(labour=False, parts=False)
    assert rules.coverage(None, None) == Coverage(labour=False, parts=False)


def test_cost_by_hand() -> None:
    # 50 min at 90/h = 75.00; 3 x 0.335 = 1.005 -> 1.01 (half up, per line); 2 x 12.50 = 25.00
    cost = rules.cost(
        labour_minutes=50,
        parts=[(Decimal("3"), Decimal("0.335")), (Decimal("2"), Decimal("12.50"))],
        covered=Coverage(labour=False, parts=True),
    )
    assert (cost.labour, cost.parts, cost.total, cost.covered, cost.customer_pays) == (
        Decimal("75.00"),
        Decimal("26.01"),
        Decimal("101.01"),
        Decimal("26.01"),
        Decimal("75.00"),
    )
    # 7 min at 90/h = 10.50 exactly; 1 min = 1.50
    assert rules.cost(labour_minutes=7, parts=[], covered=Coverage(False, False)).customer_pays == Decimal("10.50")
    free = rules.cost(labour_minutes=0, parts=[], covered=Coverage(True, True))
    assert (free.total, free.customer_pays) == (Decimal("0.00"), Decimal("0.00"))
