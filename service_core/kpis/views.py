"""Routes for the service KPIs."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["kpis"])
