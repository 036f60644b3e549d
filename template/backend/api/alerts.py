"""``GET /api/alerts``: every alert rule of dashboard.yaml with its state (signed in)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from .dependencies import RuntimeDep, require_sign_in
from .problems import problems

router = APIRouter(dependencies=[Depends(require_sign_in)], responses=problems(401))


@router.get("/api/alerts")
def alerts(runtime: RuntimeDep) -> list[dict[str, Any]]:
    """One object per rule: ``name``, ``state`` (ok or firing), ``since``, ``value`` (what decided it),
    ``entity``, ``kind``, ``when`` and ``history`` (its latest state changes, oldest first)."""
    return runtime.alerts.snapshot()
