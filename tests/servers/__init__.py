"""The servers tests start, one module each, all in one shape.

* `postgres` — the session's PostgreSQL (shared or private), fresh databases, `PrivateServer`
* `redis` — the session's Redis (shared or private), `RedisServer` for fault tests
* `cosmos` — the Cosmos DB API server (``@vercel/cosmosdb-server`` from ``tests/emulators``)
* `azurite` — Azure Blob Storage's emulator (from ``tests/emulators``)
* `faultproxy` — a loopback TCP proxy that passes or cuts connections
* `ports`, `processes` — what they share: `free_port`, waiting for a server, ending one
* `fixtures` — the session fixtures over them, registered once by ``tests/conftest.py``

A server that lives for the whole session is reached through a fixture (``cosmos_server``,
``azurite``, ``pg_server_url``, ``redis_url``); each is started on first request and stopped
at the end. Helpers that need a server outside a fixture (collection-time parameters, child
processes) call the module's function instead: `postgres.server_url`, `redis.shared_redis_url`.
The npm packages of the Node servers stay in ``tests/emulators`` (CI runs ``npm ci`` there).
"""
