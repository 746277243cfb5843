"""The HTTP service (`mystira serve`): game data API, admin API, auth, problem+json errors.

app.py         create_app(settings): the factory
lifespan.py    opens/closes the platform (bootstrap.open_platform) for the app's life
state.py       ApiState, what routes read (the polyglot layer, auth, limits)
problems.py    one error shape; the platform's typed errors → HTTP statuses
auth/          API keys (hashed), OIDC tokens, roles, the Caller/Operator/Admin deps
scoping.py     what a player key may see (its account's data; shared content read-only)
listing.py     declared list filters from the query string
limits.py      body size; ratelimit.py: a token bucket per key
routes/        the routers, mounted from the registry in routes/__init__.py
"""
