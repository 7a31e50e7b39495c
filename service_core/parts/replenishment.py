"""Replenishment suggestions from reorder points: pure rules, fed by the service's rows.

A location's position in a part is what it has available (on hand less reserved) plus what is on its way
(transfers to it that are requested, approved or in transit). Below the reorder point it should get at
least the reorder quantity, and enough to be back at the reorder point. The stock comes from a location
that has all of it available, preferring the one the location is replenished from (a van's branch), then
one in the same region, then the one with the most; vans never supply other locations. When no location
has it, the suggestion is to purchase.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Position:
    location_id: int
    kind: str
    region: str | None
    replenished_from_id: int | None
    part_number: str
    available: Decimal
    incoming: Decimal
    reorder_point: Decimal
    reorder_quantity: Decimal

    @property
    def position(self) -> Decimal:
        return self.available + self.incoming


@dataclass(frozen=True, slots=True)
class Source:
    location_id: int
    kind: str
    region: str | None
    part_number: str
    available: Decimal


@dataclass(frozen=True, slots=True)
class Suggestion:
    location_id: int
    part_number: str
    available: Decimal
    incoming: Decimal
    reorder_point: Decimal
    quantity: Decimal
    action: str  # transfer, purchase
    source_location_id: int | None
    source_available: Decimal | None


def quantity_for(position: Position) -> Decimal:
    """What to order: zero at or above the reorder point, else the reorder quantity or the shortfall if larger.

    >>> p = Position(1, "van", None, None, "BRG-6204", Decimal(1), Decimal(0), Decimal(2), Decimal(4))
    >>> quantity_for(p)
    Decimal('4')
    >>> quantity_for(Position(1, "van", None, None, "BRG-6204", Decimal(-1), Decimal(0), Decimal(8), Decimal(4)))
    Decimal('9')
    """
    if position.position >= position.reorder_point:
        return Decimal(0)
    return max(position.reorder_quantity, position.reorder_point - position.position)


def suggest(positions: Iterable[Position], sources: Iterable[Source]) -> list[Suggestion]:
    """One suggestion per location and part below its reorder point, in location and part order.

    Stock promised to one suggestion is not offered to the next, so the suggestions can all be carried out.
    """
    left: dict[tuple[int, str], Decimal] = {}
    meta: dict[int, Source] = {}
    for s in sources:
        if s.kind != "van":
            left[(s.location_id, s.part_number)] = s.available
            meta[s.location_id] = s
    out = []
    for p in sorted(positions, key=lambda p: (p.location_id, p.part_number)):
        quantity = quantity_for(p)
        if quantity <= 0:
            continue
        candidates = [
            (loc, avail)
            for (loc, part), avail in left.items()
            if part == p.part_number and loc != p.location_id and avail >= quantity
        ]
        candidates.sort(
            key=lambda c: (
                c[0] != p.replenished_from_id,
                p.region is None or meta[c[0]].region != p.region,
                -c[1],
                c[0],
            )
        )
        if candidates:
            source, avail = candidates[0]
            left[(source, p.part_number)] = avail - quantity
            out.append(Suggestion(p.location_id, p.part_number, p.available, p.incoming, p.reorder_point, quantity,
                                  "transfer", source, avail))
        else:
            out.append(Suggestion(p.location_id, p.part_number, p.available, p.incoming, p.reorder_point, quantity,
                                  "purchase", None, None))
    return out
