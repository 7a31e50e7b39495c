"""Field-work rules: pure, no I/O.

How visits move their order (documented for the desk and the engineers' app):

- Planning a visit gives the order to the visit's engineer when nobody is working on it yet: a new or
  assigned order is (re)assigned, and a held order resumes as assigned (the engineer accepts it again).
  An order someone has accepted keeps its engineer: plan the visit for them, or reassign first.
- Checking in moves an accepted or en_route order to on_site (an order already on_site or in_progress
  stays where it is). An order that is still only assigned must be accepted first.
- Checking out with the outcome ``fixed`` moves an on_site order to in_progress (the work is done and
  waits for completion; in_progress stays). Any other outcome puts the order on hold with the fitting
  reason (``HOLD_REASON_FOR_OUTCOME``), e.g. needs_parts -> waiting_parts; planning the next visit
  resumes it.
- Completing an order that had a visit needs every required checklist item done and the customer's
  signature, or the recorded reason none could be taken, after the last check-in (the database checks).

Uploads are checked here too (size, allowed type per kind, the bytes really being that type), and the
money: labour at ``LABOUR_RATE_PER_HOUR`` plus parts, and what the customer pays given the coverage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from service_core.errors import Conflict, FleetcareError, Unprocessable
from service_core.fieldwork.models import Contract
from service_core.workorders.states import Status

S = Status

HOLD_REASON_FOR_OUTCOME: dict[str, str] = {
    "needs_parts": "waiting_parts",
    "no_access": "waiting_customer",
    "needs_follow_up": "other",
    "not_fixed": "other",
}
OUTCOMES: frozenset[str] = frozenset(HOLD_REASON_FOR_OUTCOME) | {"fixed"}

_NOT_YET_WORKED_ON = frozenset({S.NEW, S.ASSIGNED, S.ON_HOLD})
_BEING_WORKED_ON = frozenset({S.ACCEPTED, S.EN_ROUTE, S.ON_SITE, S.IN_PROGRESS})


def assignment_for_visit(status: Status | str, *, order_engineer: int | None, visit_engineer: int) -> bool:
    """Whether planning this visit (re)assigns the order to the visit's engineer; Conflict when it cannot be."""
    status = Status(status)
    if status in _NOT_YET_WORKED_ON:
        return status != S.ASSIGNED or order_engineer != visit_engineer
    if status in _BEING_WORKED_ON:
        if order_engineer != visit_engineer:
            raise Conflict(
                f"the order is {status.value!r} with engineer {order_engineer}: plan the visit for them,"
                f" or put the order on hold and plan it for engineer {visit_engineer}"
            )
        return False
    raise Conflict(f"the order is {status.value!r}: no visit can be planned (reopen it first if it was finished)")


def status_at_check_in(status: Status | str) -> Status | None:
    """Where checking in moves the order (None: it stays); Conflict when nobody should be on site yet."""
    status = Status(status)
    if status in (S.ACCEPTED, S.EN_ROUTE):
        return S.ON_SITE
    if status in (S.ON_SITE, S.IN_PROGRESS):
        return None
    if status == S.ASSIGNED:
        raise Conflict("the order is still only 'assigned': the engineer accepts it before checking in")
    raise Conflict(f"the order is {status.value!r}: nobody can check in on it")


def move_at_check_out(status: Status | str, outcome: str) -> tuple[Status, str | None] | None:
    """The order's move (target, hold reason) when a visit ends with ``outcome``; None when it stays."""
    status = Status(status)
    if status not in (S.ON_SITE, S.IN_PROGRESS):
        return None  # the desk moved it meanwhile (held, say): the visit ends without moving it again
    if outcome == "fixed":
        return (S.IN_PROGRESS, None) if status == S.ON_SITE else None
    return S.ON_HOLD, HOLD_REASON_FOR_OUTCOME[outcome]


# --- uploads -------------------------------------------------------------------------------------------

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

AttachmentKind = Literal["photo", "file", "signature"]

ALLOWED_TYPES: dict[str, frozenset[str]] = {
    "photo": frozenset({"image/jpeg", "image/png", "image/webp"}),
    "file": frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf", "text/plain", "text/csv"}),
    "signature": frozenset({"image/png", "image/jpeg"}),
}
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/pdf": (b"%PDF-",),
}
_UNKNOWN_TYPES = frozenset({"", "application/octet-stream"})


class UploadTooLarge(FleetcareError):
    """More bytes than an attachment may hold."""

    status_code = 413


class UnsupportedUpload(FleetcareError):
    """A type this kind of attachment does not take, or bytes that are not what they claim to be."""

    status_code = 415


def sniff(content: bytes) -> str | None:
    """The binary type the bytes start like, if any we know."""
    for content_type, prefixes in _MAGIC.items():
        if content.startswith(prefixes):
            return content_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_upload(kind: str, *, filename: str, declared_type: str | None, content: bytes) -> str:
    """The content type to store for this upload, or the 4xx that says what is wrong with it."""
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise UploadTooLarge(
            f"{filename!r} is larger than the limit of {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB for an attachment"
        )
    if not content:
        raise Unprocessable(f"{filename!r} is empty")
    allowed = ALLOWED_TYPES[kind]
    declared = (declared_type or "").split(";")[0].strip().lower()
    sniffed = sniff(content)
    content_type = sniffed if declared in _UNKNOWN_TYPES else declared
    if content_type not in allowed:
        raise UnsupportedUpload(
            f"a {kind} must be one of {', '.join(sorted(allowed))}; {filename!r} is {content_type or 'of unknown type'}"
        )
    if content_type.startswith("text/"):
        if sniffed is not None or b"\x00" in content:
            raise UnsupportedUpload(f"{filename!r} claims to be {content_type} but holds binary data")
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            raise UnsupportedUpload(f"{filename!r} claims to be {content_type} but is not UTF-8 text") from None
    elif sniffed != content_type:
        raise UnsupportedUpload(
            f"{filename!r} claims to be {content_type} but its bytes are {sniffed or 'not a format we know'}"
        )
    return content_type


# --- billing and cost ----------------------------------------------------------------------------------

LABOUR_RATE_PER_HOUR = Decimal("90.00")
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the customer does not pay for."""

    labour: bool
    parts: bool


def coverage(billing: str | None, contract: Contract | None) -> Coverage:
    """Warranty covers everything; a contract what it says (a contract order without one found: labour,
    the contracts' default); billable, or not decided yet, nothing."""
    if billing == "warranty":
        return Coverage(labour=True, parts=True)
    if billing == "contract":
        if contract is None:
            return Coverage(labour=True, parts=False)
        return Coverage(labour=contract.covers_labour, parts=contract.covers_parts)
    return Coverage(labour=False, parts=False)


@dataclass(frozen=True, slots=True)
class Cost:
    labour_minutes: int
    labour_rate_per_hour: Decimal
    labour: Decimal
    parts: Decimal
    total: Decimal
    covered: Decimal
    customer_pays: Decimal


def cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def cost(
    *,
    labour_minutes: int,
    parts: Iterable[tuple[Decimal, Decimal]],
    covered: Coverage,
    rate_per_hour: Decimal = LABOUR_RATE_PER_HOUR,
) -> Cost:
    """Labour (minutes at the hourly rate) plus parts (quantity x unit cost, each line to the cent), and
    the customer's share after ``covered``."""
    labour = cents(Decimal(labour_minutes) * rate_per_hour / 60)
    parts_total = sum((cents(quantity * unit_cost) for quantity, unit_cost in parts), Decimal("0.00"))
    total = labour + parts_total
    zero = Decimal("0.00")
    covered_amount = (labour if covered.labour else zero) + (parts_total if covered.parts else zero)
    return Cost(
        labour_minutes=labour_minutes,
        labour_rate_per_hour=rate_per_hour,
        labour=labour,
        parts=parts_total,
        total=total,
        covered=covered_amount,
        customer_pays=total - covered_amount,
    )
