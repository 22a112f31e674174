"""Benchmark the scoring API against two references, in one run, on loopback.

Servers (each alone while measured, one uvicorn worker, on 127.0.0.1):
  api        ``uvicorn serving.main:app`` over a nightly snapshot: GET /v1/accounts/{id}
             (reasons and offers included) and POST /v1/scores with 100 ids;
  minimal    ``bench/minimal_app.py``: FastAPI calling the LightGBM booster on one row
             (no auth, no reasons): the ceiling for "FastAPI + model";
  mlflow     ``mlflow models serve`` of the same champion version (one row per request).
Load comes from a second process: ``wrk`` (20 connections = 20 concurrent clients, 2
threads, fixed duration) when installed, else a bounded asyncio httpx generator.

The demo workdir (3,000 accounts, trained champion, nightly snapshot) is built once under
``bench/.cache/serving-demo``. Run on demand::

    .venv/bin/python bench/bench_serving.py --duration 10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pandas as pd
import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
KEY = "bench-key"


def prepare(workdir: Path) -> None:
    """demo data -> train (registers the champion) -> nightly, via the real CLI."""
    if (workdir / "nightly").is_dir() and any((workdir / "nightly").glob("20*")):
        return
    workdir.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}"}
    for args in (
        ["demo-data", "--out", "data", "--accounts", "3000", "--seed", "7"],
        ["train", "--data", "data"],
        ["nightly", "--data", "data", "--out", "nightly"],
    ):
        subprocess.run([str(BIN / "kam-ml"), *args], cwd=workdir, env=env, check=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(
    command: list[str], env: dict, url: str, cwd: Path, timeout: float = 180
) -> subprocess.Popen:
    log = open(tempfile.mktemp(prefix="bench-server-", suffix=".log"), "w")  # noqa: SIM115
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited; see {log.name}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise RuntimeError(f"{command} did not come up; see {log.name}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


# each wrk thread runs its own copy of the script: without a start of its own, every thread
# sends the same sequence, and two clients post the same history at the same moment
_LUA = """
local bodies = {BODIES}
local paths = {PATHS}
local threads = 0
setup = function(thread)
  thread:set("start", threads * 7919)
  threads = threads + 1
end
i = 0
init = function(args)
  i = start or 0
end
request = function()
  i = i + 1
  local k = (i % #paths) + 1
  local body = bodies[(i % #bodies) + 1]
  if body == "" then body = nil end
  return wrk.format("{METHOD}", paths[k], {["X-API-Key"] = "{KEY}",
    ["Content-Type"] = "application/json"}, body)
end
"""


def _lua_list(values: list[str]) -> str:
    return "{" + ",".join(json.dumps(v) for v in values) + "}"


def start_load(
    url: str, method: str, paths: list[str], bodies: list[str], duration: int, clients: int = 20
) -> Callable[[], dict]:
    """Start a load generator (``clients`` concurrent connections for ``duration`` s) in a
    child process; returns the call that waits for it and gives its figures. Two started
    together load the server at once (lookups measured while histories are scored)."""
    check = httpx.request(
        method,
        url + paths[0],
        content=(bodies or [""])[0] or None,
        timeout=60,
        headers={"X-API-Key": KEY, "Content-Type": "application/json"},
    )
    if check.status_code != 200:
        raise RuntimeError(f"{method} {paths[0]} answered {check.status_code}: {check.text[:300]}")
    if shutil.which("wrk"):
        return _start_wrk(url, method, paths, bodies, duration, clients)
    return _start_asyncio(url, method, paths, bodies, duration, clients)


def load(url: str, method: str, paths: list[str], bodies: list[str], duration: int) -> dict:
    return start_load(url, method, paths, bodies, duration)()


def _start_wrk(
    url: str, method: str, paths: list[str], bodies: list[str], duration: int, clients: int
) -> Callable[[], dict]:
    script = Path(tempfile.mktemp(suffix=".lua"))
    script.write_text(
        _LUA.replace("{BODIES}", _lua_list(bodies or [""]))
        .replace("{PATHS}", _lua_list(paths))
        .replace("{METHOD}", method)
        .replace("{KEY}", KEY)
    )
    threads = min(2, clients)
    process = subprocess.Popen(
        [
            "wrk",
            f"-t{threads}",
            f"-c{clients}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )

    def figures() -> dict:
        output = process.communicate()[0]
        script.unlink()
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
        latency = {
            p: _ms(v, unit)
            for p, v, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)", output, re.M)
        }
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        socket_errors = re.search(r"Socket errors: (.*)", output)
        return {
            "clients": clients,
            "requests_per_s": rate,
            "p50_ms": latency.get("50"),
            "p99_ms": latency.get("99"),
            "non_2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else None,
        }

    return figures


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def _start_asyncio(
    url: str,
    method: str,
    paths: list[str],
    bodies: list[str],
    duration: int,
    clients: int,
    rate: float | None = None,
) -> Callable[[], dict]:
    """``clients`` concurrent httpx clients, in a child process: the fallback generator
    without wrk, and a paced one (``rate`` requests/s in all) for traffic that must not
    saturate the server (lookups measured beside the history load)."""
    pause = 0.0 if rate is None else clients / rate
    requests = Path(tempfile.mktemp(suffix=".json"))
    requests.write_text(json.dumps({"paths": paths, "bodies": bodies or [""]}))
    code = f"""
import asyncio, json, random, time, httpx
given = json.load(open({str(requests)!r}))
paths, bodies = given["paths"], given["bodies"]
async def client(http, stop, lat, errors):
    i = 0
    while time.monotonic() < stop:
        i += 1
        await asyncio.sleep({pause} * (1 + random.random() - 0.5))
        t = time.perf_counter()
        r = await http.request({method!r}, paths[i % len(paths)], content=bodies[i % len(bodies)],
            headers={{"X-API-Key": {KEY!r}, "Content-Type": "application/json"}})
        lat.append(time.perf_counter() - t)
        errors.append(r.status_code >= 300)
async def main():
    lat, errors = [], []
    async with httpx.AsyncClient(base_url={url!r}, timeout=60,
            limits=httpx.Limits(max_connections={clients})) as http:
        stop = time.monotonic() + {duration}
        start = time.monotonic()
        await asyncio.gather(*(client(http, stop, lat, errors) for _ in range({clients})))
        wall = time.monotonic() - start
    lat.sort()
    print(json.dumps({{"clients": {clients}, "requests_per_s": len(lat) / wall,
        "p50_ms": lat[len(lat)//2]*1e3, "p99_ms": lat[int(len(lat)*0.99)]*1e3,
        "non_2xx": sum(errors), "socket_errors": None}}))
asyncio.run(main())
"""
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)

    def figures() -> dict:
        output, _ = process.communicate()
        requests.unlink()
        if process.returncode:
            raise RuntimeError("the load generator failed")
        return json.loads(output)

    return figures


def history_bodies(data: Path, ids: list[str]) -> list[str]:
    """The from-history request body of each account in ``ids`` (its rows in the book)."""
    tables = ("accounts", "orders", "interactions")
    raw = {n: pd.read_parquet(data / f"{n}.parquet") for n in tables}
    by_account = {n: dict(tuple(f.groupby("account_id", observed=True))) for n, f in raw.items()}

    def rows(name: str, account_id: str) -> list[dict]:
        frame = by_account[name].get(account_id)
        if frame is None:
            return []
        text = frame.drop(columns="account_id").to_json(
            orient="records", date_format="iso", double_precision=15
        )
        return json.loads(text)

    bodies = []
    for account_id in ids:
        account = by_account["accounts"][account_id].iloc[0]
        body = {
            "account": {
                "account_id": account_id,
                "signup_date": str(pd.Timestamp(account["signup_date"]).date()),
                "manager": account["manager"],
                "region": account["region"],
                "segment": account["segment"],
            },
            "orders": rows("orders", account_id),
            "interactions": rows("interactions", account_id),
        }
        bodies.append(json.dumps(body))
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=HERE / ".cache" / "serving-demo")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument(
        "--history-only",
        action="store_true",
        help="only the from-history runs (alone and beside lookups), not the references",
    )
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    prepare(workdir)
    from kam_ml.nightly.snapshot import night_directories, read_snapshot

    nightly = workdir / "nightly"
    night = read_snapshot(night_directories(nightly)[-1])
    ids = night.explained(columns=["account_id"])["account_id"].tolist()
    rng = random.Random(0)
    tracking = f"sqlite:///{workdir / 'mlflow.db'}"
    env = os.environ | {
        "KAM_API_KEYS": KEY,
        "KAM_NIGHTLY_DIR": str(nightly),
        "MLFLOW_TRACKING_URI": tracking,
        "KAM_MODELS_DIR": str(workdir / "models"),
        "KAM_RELOAD_INTERVAL_SECONDS": "30",
        "PYTHONPATH": str(ROOT),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # mlflow execs uvicorn
    }
    results: dict = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count()}}
    results["load_generator"] = "wrk -t2 -c20" if shutil.which("wrk") else "asyncio httpx x20"

    port = free_port()
    api = start(
        [
            str(BIN / "uvicorn"),
            "serving.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env,
        f"http://127.0.0.1:{port}/ready",
        ROOT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        one = [f"/v1/accounts/{rng.choice(ids)}" for _ in range(500)]
        if not args.history_only:
            results["api_single"] = load(base, "GET", one, [], args.duration)
            batches = [json.dumps({"account_ids": rng.sample(ids, 100)}) for _ in range(50)]
            results["api_batch_100"] = load(base, "POST", ["/v1/scores"], batches, args.duration)
        histories = history_bodies(workdir / "data", rng.sample(ids, 200))
        path = ["/v1/scores/from-history"]
        load(base, "POST", path, histories, 2)  # the worker process started and warm
        before = cpu_seconds(api.pid)
        results["api_from_history"] = load(base, "POST", path, histories, args.duration)
        results["api_from_history"] |= cpu_per_request(
            before, cpu_seconds(api.pid), results["api_from_history"], args.duration
        )
        # the same history load, and a CRM's lookups (10 clients, 200 requests/s in all,
        # paced: a closed-loop flood of lookups would measure the lookups' own saturation)
        scoring = start_load(base, "POST", path, histories, args.duration)
        looking = _start_asyncio(base, "GET", one, [], args.duration, clients=10, rate=200)
        results["api_from_history_with_lookups"] = scoring()
        results["api_single_during_from_history"] = looking()
    finally:
        stop(api)
    if args.history_only:
        _report(results)
        return

    from kam_ml.features import build_features  # noqa: F401  (import cost outside timings)
    from kam_ml.registry.bundle import BundleTrust, load_bundle

    features = night.features()
    own = BundleTrust(trusted_root=workdir / "models", allow_unverified=True)  # trained above
    bundle = load_bundle(workdir / "models" / "kam-churn", trust=own)
    X = bundle.model._prepare(features[bundle.feature_names].head(200))
    rows = X.assign(**{c: X[c].cat.codes for c in X.select_dtypes("category")}).to_numpy(float)
    port = free_port()
    minimal = start(
        [
            str(BIN / "uvicorn"),
            "minimal_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env
        | {
            "KAM_BENCH_BUNDLE": str(workdir / "models" / "kam-churn"),
            "PYTHONPATH": f"{HERE}:{ROOT}",
        },
        f"http://127.0.0.1:{port}/docs",
        HERE,
    )
    try:
        bodies = [json.dumps({"features": [None if v != v else v for v in r]}) for r in rows]
        results["minimal_fastapi_lightgbm"] = load(
            f"http://127.0.0.1:{port}", "POST", ["/predict"], bodies, args.duration
        )
    finally:
        stop(minimal)

    if not args.skip_mlflow:
        port = free_port()
        version = night.manifest["model_versions"]["churn"]
        server = start(
            [
                str(BIN / "mlflow"),
                "models",
                "serve",
                "-m",
                f"models:/kam-churn/{version}",
                "--env-manager",
                "local",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env,
            f"http://127.0.0.1:{port}/ping",
            workdir,
            timeout=300,
        )
        try:
            raw = (
                features[bundle.feature_names]
                .head(200)
                .astype({c: str for c in ("region", "segment")})
            )
            bodies = [
                json.dumps({"dataframe_split": json.loads(raw.iloc[[i]].to_json(orient="split"))})
                for i in range(len(raw))
            ]
            check = httpx.post(
                f"http://127.0.0.1:{port}/invocations",
                content=bodies[0],
                headers={"Content-Type": "application/json"},
                timeout=30,
            )
            check.raise_for_status()
            results["mlflow_models_serve"] = load(
                f"http://127.0.0.1:{port}", "POST", ["/invocations"], bodies, args.duration
            )
        finally:
            stop(server)

    single = results["api_single"]["requests_per_s"]
    results["ratios"] = {
        "api_vs_minimal": single / results["minimal_fastapi_lightgbm"]["requests_per_s"],
        "lookups_per_from_history": single / results["api_from_history"]["requests_per_s"],
        "lookup_p99_during_from_history_vs_alone": (
            results["api_single_during_from_history"]["p99_ms"] / results["api_single"]["p99_ms"]
        ),
    }
    if "mlflow_models_serve" in results:
        results["ratios"]["api_vs_mlflow_serve"] = (
            single / results["mlflow_models_serve"]["requests_per_s"]
        )
    _report(results)


def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) of the server process and of its children (the
    history worker), read from outside: figures the neighbours on the machine do not move
    the way they move requests/s."""
    server = psutil.Process(pid)
    children = server.children(recursive=True)

    def used(process: psutil.Process) -> float:
        times = process.cpu_times()
        return times.user + times.system

    return {"server": used(server), "worker": sum(used(c) for c in children)}


def cpu_per_request(
    before: dict[str, float], after: dict[str, float], run: dict, duration: int
) -> dict[str, float]:
    requests = run["requests_per_s"] * duration
    return {
        f"{part}_cpu_ms_per_request": 1000 * (after[part] - before[part]) / requests
        for part in before
    }


def _report(results: dict) -> None:
    print(json.dumps(results, indent=2))
    out = HERE / "results" / f"serving-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
