"""Base classes of every area's API shapes."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator


class RequestSchema(BaseModel):
    """Requests: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class ReadSchema(BaseModel):
    """Responses: built from rows, which may hold more than the API shows."""

    model_config = ConfigDict(from_attributes=True)


class PatchSchema(RequestSchema):
    """A partial update: fields left out stay as they are; ``not_null`` fields cannot be cleared."""

    not_null: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _not_cleared(self) -> Self:
        cleared = sorted(f for f in self.model_fields_set & self.not_null if getattr(self, f) is None)
        if cleared:
            raise ValueError(f"cannot be null: {', '.join(cleared)}")
        return self
