"""API shapes of knowledge articles, searches, suggestions and promotions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, StringConstraints

from service_core.schemas import PatchSchema, ReadSchema, RequestSchema
from service_core.workorders.schemas import Actor, FailureMode, FaultCode

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Prose = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20000)]
Fix = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
AssetModel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$")
]


def _distinct(values: list[str]) -> list[str]:
    """Each value once, in the order first given."""
    return list(dict.fromkeys(values))


AssetModels = Annotated[list[AssetModel], Field(max_length=50), AfterValidator(_distinct)]
FaultCodes = Annotated[list[FaultCode], Field(max_length=50), AfterValidator(_distinct)]
FailureModes = Annotated[list[FailureMode], Field(max_length=50), AfterValidator(_distinct)]
Tags = Annotated[list[Tag], Field(max_length=50), AfterValidator(_distinct)]


class ArticleCreate(RequestSchema):
    title: Title
    problem: Prose = ""
    cause: Prose = ""
    fix: Fix
    asset_models: AssetModels = Field(default_factory=list, description="Asset models it applies to (CP-200…)")
    fault_codes: FaultCodes = Field(default_factory=list)
    failure_modes: FailureModes = Field(default_factory=list)
    tags: Tags = Field(default_factory=list)
    author: Actor


class ArticleUpdate(PatchSchema):
    """Fields left out stay; lists given replace the old ones."""

    not_null: ClassVar[frozenset[str]] = frozenset(
        {"title", "problem", "cause", "fix", "asset_models", "fault_codes", "failure_modes", "tags"}
    )

    title: Title | None = None
    problem: Prose | None = None
    cause: Prose | None = None
    fix: Fix | None = None
    asset_models: AssetModels | None = None
    fault_codes: FaultCodes | None = None
    failure_modes: FailureModes | None = None
    tags: Tags | None = None
    actor: Actor


class ArticleRead(ReadSchema):
    id: int
    title: str
    problem: str
    cause: str
    fix: str
    asset_models: list[str]
    fault_codes: list[str]
    failure_modes: list[str]
    tags: list[str]
    author: str
    source_work_order_id: int | None
    created_at: datetime
    updated_at: datetime


class ArticleHitRead(ArticleRead):
    rank: float | None = Field(description="Full-text relevance (ts_rank_cd); null when no query was given")
    headline: str | None = Field(description="Where the query matched in problem, cause and fix, <mark>ed")


class SuggestionRead(ReadSchema):
    article: ArticleRead
    score: float = Field(description="fault code 4 + asset model 2 + failure mode 2 + text relevance 0..3")
    reasons: list[str] = Field(description="Why the article is suggested for this order")
    matched_words: list[str]


class PromoteRequest(RequestSchema):
    title: Title | None = Field(default=None, description="The article's title; the order's title when left out")
    actor: Actor
