"""The operator console at ``/console``: server-rendered pages over the admin API.

routes.py     the pages, sign-in/sign-out, the live fragment and the static files
sessions.py   session cookies (hashes in ``_console_sessions``) and their CSRF tokens
view.py       what the page shows, gathered from the same sources as the admin API
numbers.py    latency quantiles, error and consistency rates from the metrics registry
render.py     the Jinja2 templates (``templates/``) and their filters
static/       console.css and console.js (no build step)
"""
