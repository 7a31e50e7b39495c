"""Rows of the knowledge area, as read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Article:
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


@dataclass(frozen=True, slots=True)
class ArticleHit:
    """An article found by a search: its rank and a snippet with the matching words marked."""

    article: Article
    rank: float | None
    headline: str | None


@dataclass(frozen=True, slots=True)
class Suggestion:
    """An article suggested for a work order, with what it has in common with the order."""

    article: Article
    score: float
    asset_model: str | None  # the order's asset model, when the article covers it
    fault_code: str | None
    failure_mode: str | None
    matched_words: list[str]  # lexemes the order's title/description share with the article
    text_rank: float

    def reasons(self) -> list[str]:
        """Why it is suggested, in words a desk understands."""
        reasons = []
        if self.fault_code:
            reasons.append(f"same fault code {self.fault_code}")
        if self.asset_model:
            reasons.append(f"covers asset model {self.asset_model}")
        if self.failure_mode:
            reasons.append(f"same failure mode {self.failure_mode}")
        if self.matched_words:
            reasons.append(f"text matches: {', '.join(self.matched_words)}")
        return reasons
