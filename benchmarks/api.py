"""The HTTP service against the floor FastAPI itself sets, and game-flow write throughput.

    uv run python benchmarks/api.py [--stores embedded,postgres] [--reads 2000] [--rounds 5]
                                    [--clients 32] [--seconds 10] [--workers 1]

For each store set (``embedded``: SQLite document + SQLite relational stores, memory cache;
``postgres``: the SQLite document store beside PostgreSQL + Redis, the play containers
PostgresOnly) this script seeds a small world and starts two servers in subprocesses
(uvicorn): the service (``mystira serve``) and a bare FastAPI app whose one route returns
the same stored JSON of a mid-story game session. A separate load process (httpx) then:

  read   GETs the session through the API (``/api/v1/game-sessions/{id}``, a player key:
         auth, rate limit, scoping, the polyglot read, ETag) and from the bare route,
         sequentially, interleaved in ``--rounds``; prints mean/p50/p99 and the ratio
         API ÷ bare of the means (goal ≤ 1.5)
  write  ``--clients`` concurrent players, each with its own account and key, play for
         ``--seconds``: start a session, 20 choices, complete (score + badges), again;
         prints writes/s and p50/p99 latency (goals: ≥ 1,000/s at p99 ≤ 50 ms)

PostgreSQL and Redis come from ``benchmarks/_servers.py`` (the test variables, the local
defaults, or private instances). Nothing here asserts speed; it prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
CHOICES_PER_SESSION = 20
LOOP = "Follow the fox"
AXES = ("honesty", "empathy", "courage", "curiosity")


# --- the world -------------------------------------------------------------------------------


def scenario_doc(scenario_id: str) -> dict[str, Any]:
    """A story whose one scene loops, so a session can take any number of choices; each
    branch carries an echo and a compass move (the realistic per-choice write)."""
    from mystira_data.domain.codec import codec_for
    from mystira_data.domain.content import Branch, CompassChange, EchoLog, Scenario, Scene

    branches = [
        Branch(
            choice=f"{LOOP} {axis}" if i else LOOP,
            next_scene_id="woods",
            echo_log=EchoLog(echo_type="honesty", description=f"a {axis} moment", strength=0.4),
            compass_change=CompassChange(axis=axis, delta=0.5 if i % 2 else -0.25),
        )
        for i, axis in enumerate(AXES)
    ]
    scene = Scene(id="woods", title="The whispering woods", branches=branches)
    return codec_for(Scenario).encode(Scenario(id=scenario_id, title="Woods", scenes=[scene]))


@dataclass
class World:
    scenario: str
    players: list[dict[str, str]]  # key, account, profile
    read_key: str
    read_session: str


async def seed(settings: Any, players: int) -> World:
    from mystira_data.api.auth.keys import KeyStore
    from mystira_data.api.auth.roles import Role
    from mystira_data.bootstrap import open_platform
    from mystira_data.play import PlayService

    scenario = f"woods-{uuid.uuid4().hex[:6]}"
    async with open_platform(settings, provision=True, cache=True) as poly:
        repo, keys = poly.repository, KeyStore(poly.raw_relational)
        await repo.upsert("Scenarios", scenario_doc(scenario))
        made = []
        for n in range(players + 1):
            account, profile = str(uuid.uuid4()), str(uuid.uuid4())
            await repo.upsert(
                "Accounts",
                {"id": account, "email": f"{account}@bench.example", "externalUserId": account},
            )
            await repo.upsert(
                "UserProfiles", {"id": profile, "name": f"Kid {n}", "accountId": account}
            )
            key = (await keys.create(Role.PLAYER, account))[1]
            made.append({"key": key, "account": account, "profile": profile})
        reader = made.pop()
        play = PlayService(repo)
        session = await play.start(reader["account"], reader["profile"], scenario, ["Ava"])
        for i in range(12):  # mid-story: a dozen choices, four axes, echoes, totals
            text = f"{LOOP} {AXES[i % 4]}" if i % 4 else LOOP
            await play.choose(reader["account"], session["id"], text)
    return World(scenario, made, reader["key"], session["id"])


# --- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(args: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    import httpx

    proc = subprocess.Popen(
        [sys.executable, *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None:
                raise RuntimeError(f"server {args} exited with {proc.returncode}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bare_app(json_file: str) -> Any:
    """The floor: FastAPI returning the stored JSON (parsed once, encoded per request)."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    doc = json.loads(Path(json_file).read_text())
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/api/v1/game-sessions/{id}")
    async def session(id: str) -> JSONResponse:
        return JSONResponse(doc, headers={"ETag": '"1"'})

    return app


def serve_bare(port: int, json_file: str) -> None:
    import uvicorn

    uvicorn.run(bare_app(json_file), host="127.0.0.1", port=port, log_level="warning")


# --- the load process ------------------------------------------------------------------------


async def load_reads(spec: dict[str, Any]) -> dict[str, list[float]]:
    import httpx

    path = f"/api/v1/game-sessions/{spec['session']}"
    headers = {"Authorization": f"Bearer {spec['key']}"}
    samples: dict[str, list[float]] = {"api": [], "bare": []}
    async with (
        httpx.AsyncClient(base_url=spec["api"], headers=headers) as api,
        httpx.AsyncClient(base_url=spec["bare"]) as bare,
    ):
        clients = {"api": api, "bare": bare}
        for _ in range(spec["rounds"]):
            for name, client in clients.items():
                for i in range(spec["reads"] // spec["rounds"] + 50):
                    started = time.perf_counter()
                    r = await client.get(path)
                    took = time.perf_counter() - started
                    if r.status_code != 200:
                        raise RuntimeError(f"{name} read answered {r.status_code}: {r.text}")
                    if i >= 50:  # the first few of each round warm the connection
                        samples[name].append(took)
    return samples


async def play(
    client: Any, player: dict[str, str], spec: dict[str, Any], out: dict[str, Any]
) -> None:
    headers = {"Authorization": f"Bearer {player['key']}"}
    stop = spec["stop"]
    while time.perf_counter() < stop:
        body = {"profileId": player["profile"], "scenarioId": spec["scenario"]}
        session = await timed(client, "start", "/api/v1/play/sessions", body, headers, out)
        url = f"/api/v1/play/sessions/{session['id']}"
        for i in range(CHOICES_PER_SESSION):
            if time.perf_counter() >= stop:
                return
            text = f"{LOOP} {AXES[i % 4]}" if i % 4 else LOOP
            await timed(client, "choice", f"{url}/choices", {"choiceText": text}, headers, out)
        await timed(client, "complete", f"{url}/complete", None, headers, out)


async def timed(
    client: Any, kind: str, url: str, body: Any, headers: dict[str, str], out: dict[str, Any]
) -> Any:
    started = time.perf_counter()
    r = await client.post(url, json=body, headers=headers)
    took = time.perf_counter() - started
    if r.status_code >= 300:
        out["errors"][str(r.status_code)] = out["errors"].get(str(r.status_code), 0) + 1
        raise RuntimeError(f"{kind} answered {r.status_code}: {r.text[:200]}")
    if started >= out["from"]:  # after the warm-up
        out["samples"].setdefault(kind, []).append(took)
    return r.json()


async def load_writes(spec: dict[str, Any]) -> dict[str, Any]:
    import httpx

    now = time.perf_counter()
    spec["stop"] = now + spec["warmup"] + spec["seconds"]
    out: dict[str, Any] = {"samples": {}, "errors": {}, "from": now + spec["warmup"]}
    limits = httpx.Limits(max_connections=len(spec["players"]))
    async with httpx.AsyncClient(base_url=spec["api"], limits=limits, timeout=30) as client:
        await asyncio.gather(*(play(client, p, spec, out) for p in spec["players"]))
    out["seconds"] = time.perf_counter() - out["from"]
    return out


def run_load(mode: str, spec: dict[str, Any]) -> Any:
    """Run the load in its own process (so the client's CPU is not the servers')."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    try:
        done = subprocess.run(
            [sys.executable, str(HERE), f"--load-{mode}", f.name],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(f.name)
    return json.loads(done.stdout)


# --- one store set ---------------------------------------------------------------------------


def settings_for(stores: str, data: Path, pg_url: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        # The per-key limit protects a real service; here it would only measure refusals.
        "Api": {"RateLimitPerSecond": 1_000_000, "RateLimitBurst": 1_000_000},
    }
    if stores == "postgres":
        from _servers import redis_url

        values["ConnectionStrings"] = {"PostgreSql": pg_url, "Redis": redis_url()}
        values["Caching"] = {"KeyPrefix": f"bench-{uuid.uuid4().hex[:8]}:"}
        play = ("Accounts", "UserProfiles", "GameSessions", "PlayerScenarioScores")
        values["PolyglotPersistence"] = {"Containers": dict.fromkeys(play, "PostgresOnly")}
    return values


@contextlib.contextmanager
def database(stores: str) -> Iterator[str | None]:
    if stores != "postgres":
        yield None
        return
    from _servers import fresh_database, postgres_url

    from mystira_data.relational import migrate

    with fresh_database(postgres_url(), prefix="mystira_apibench_") as url:
        asyncio.run(migrate.upgrade(url))
        yield url


def measure(stores: str, args: argparse.Namespace) -> dict[str, Any]:
    from mystira_data.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp, database(stores) as pg_url:
        data, config = Path(tmp) / "data", Path(tmp) / "appsettings.json"
        values = settings_for(stores, data, pg_url)
        config.write_text(json.dumps(values))
        world = asyncio.run(seed(load_settings(config, data_dir=data), args.clients))
        api_port, bare_port = free_port(), free_port()
        serve = ["-m", "mystira_data", "--config", str(config), "--data-dir", str(data)]
        serve += ["serve", "--port", str(api_port), "--workers", str(args.workers)]
        with server(serve, api_port) as api:
            stored = Path(tmp) / "session.json"
            stored.write_text(stored_session(api, world))
            bare = [str(HERE), "--bare", str(bare_port), str(stored)]
            with server(bare, bare_port) as bare_url:
                read_spec = {"api": api, "bare": bare_url, "session": world.read_session}
                read_spec |= {"key": world.read_key, "reads": args.reads, "rounds": args.rounds}
                reads = run_load("read", read_spec)
            write_spec = {"api": api, "scenario": world.scenario, "players": world.players}
            write_spec |= {"seconds": args.seconds, "warmup": args.warmup}
            writes = run_load("write", write_spec)
    return {"reads": reads, "writes": writes}


def stored_session(api: str, world: World) -> str:
    import httpx

    headers = {"Authorization": f"Bearer {world.read_key}"}
    r = httpx.get(f"{api}/api/v1/game-sessions/{world.read_session}", headers=headers)
    r.raise_for_status()
    return r.text


# --- the table -------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(stores: str, found: dict[str, Any]) -> None:
    reads = found["reads"]
    api, bare = reads["api"], reads["bare"]
    ratio = statistics.fmean(api) / statistics.fmean(bare)
    print(f"\n[{stores}] read of a 12-choice game session, {len(api)} each (ms)")
    print(f"  {'route':<8}{'mean':>8}{'p50':>8}{'p99':>8}")
    for name, s in (("api", api), ("bare", bare)):
        print(f"  {name:<8}{ms(statistics.fmean(s)):>8}{ms(p(s, 0.5)):>8}{ms(p(s, 0.99)):>8}")
    print(f"  API / bare (means): {ratio:.2f}   goal <= 1.5")
    writes = found["writes"]
    every = [t for s in writes["samples"].values() for t in s]
    rate = len(every) / writes["seconds"]
    print(f"[{stores}] game-flow writes over {writes['seconds']:.1f} s (ms)")
    print(f"  {'kind':<9}{'count':>7}{'p50':>8}{'p99':>8}")
    for kind, s in sorted(writes["samples"].items()):
        print(f"  {kind:<9}{len(s):>7}{ms(p(s, 0.5)):>8}{ms(p(s, 0.99)):>8}")
    print(f"  all      {len(every):>7}{ms(p(every, 0.5)):>8}{ms(p(every, 0.99)):>8}")
    print(f"  writes/s: {rate:.0f}   goal >= 1000 at p99 <= 50 ms   errors: {writes['errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", default="embedded,postgres")
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    for stores in args.stores.split(","):
        report(stores, measure(stores, args))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--bare":
        serve_bare(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] in ("--load-read", "--load-write"):
        spec = json.loads(Path(sys.argv[2]).read_text())
        load = load_reads if sys.argv[1] == "--load-read" else load_writes
        print(json.dumps(asyncio.run(load(spec))))
    else:
        main()
