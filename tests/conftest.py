"""Session-wide fixtures shared by every test folder: the servers the tests start themselves.

Each server is started once per test session and only when a test asks for it.
"""

from __future__ import annotations

from tests.emulators.cosmos import cosmos_server

__all__ = ["cosmos_server"]
