"""The service's routers. To add routes, add a module here with a ``routers()`` function
returning its `APIRouter`s, and name it in `ROUTER_MODULES` (the app mounts them in order)."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

ROUTER_MODULES: tuple[str, ...] = (
    "health",
    "documents",
    "admin",
    "admin_jobs",
    "runs",
    "keys",
    "play",
    "reports",
    "media",
    "audit",
    "controls",
    "console",
    "placement",
)


def all_routers() -> list[APIRouter]:
    found: list[APIRouter] = []
    for name in ROUTER_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        found.extend(module.routers())
    return found
