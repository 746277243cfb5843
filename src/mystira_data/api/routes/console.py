"""The operator console's routes (`mystira_data.api.console`), mounted like the others."""

from __future__ import annotations

from mystira_data.api.console.routes import routers

__all__ = ["routers"]
