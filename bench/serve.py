"""Load on `opsbook serve`: /health and /api/v1/checks while many checks run.

Starts a loopback HTTP target for the checks, writes an opsbook.yaml with `--checks` HTTP checks
against it (when this build has checks), starts `opsbook serve` as its own process on SQLite,
lets the checks warm up, then drives each endpoint with wrk (Debian's `wrk`) and prints requests
per second and latency percentiles as a Markdown table.

    .venv/bin/python bench/serve.py [--checks 1000] [--duration 15] [--connections 16]

Everything runs on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from opsbook.config.model import OpsbookConfig

TARGET_THRESHOLD = (1500.0, 50.0)  # requests/s at least, p99 ms at most


class _Target(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def start_target() -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Target)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def write_config(folder: Path, checks: int, target: str) -> Path:
    lines = [f"data_dir: {folder / 'data'}", "server:", "  port: 0"]
    if checks and "checks" in OpsbookConfig.model_fields:
        lines.append("checks:")
        for n in range(checks):
            lines += [
                f"  - name: target-{n:04d}",
                "    type: http",
                f"    url: {target}/c/{n}",
                "    interval: 30s",
                "    timeout: 5s",
                f"    group: group-{n % 10}",
            ]
    path = folder / "opsbook.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def opsbook(*args: str) -> list[str]:
    return [sys.executable, "-m", "opsbook", *args]


def start_server(config: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        opsbook("serve", "--config", str(config), "--port", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        found = re.search(r"serving (http://\S+)", line)
        if found:
            threading.Thread(target=process.stdout.read, daemon=True).start()  # drain
            return process, found.group(1)
    process.kill()
    raise SystemExit("opsbook serve did not start within 60 s")


def wrk(url: str, token: str | None, duration: int, connections: int) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for pct in ("50", "90", "99"):
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        result[f"p{pct}"] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = float(errors.group(1)) if errors else 0.0
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument(
        "--keep", action="store_true", help="Leave the server running (for profiling)."
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    target, target_url = start_target()
    folder = Path(tempfile.mkdtemp(prefix="opsbook-bench-"))
    config = write_config(folder, args.checks, target_url)
    has_checks = "checks" in OpsbookConfig.model_fields
    env_note = f"{args.checks} checks" if has_checks else "no checks (this build has none)"
    token = (
        subprocess.run(
            opsbook("token", "create", "bench", "--config", str(config)),
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    process, url = start_server(config)
    try:
        time.sleep(args.warmup)
        if args.keep:
            print(f"serving {url} pid {process.pid}; token {token}", flush=True)
            process.wait()
        print(f"opsbook serve with {env_note}; wrk -t2 -c{args.connections} -d{args.duration}s")
        print("| endpoint | requests/s | p50 ms | p90 ms | p99 ms | non-2xx |")
        print("|---|---|---|---|---|---|")
        endpoints = [("/health", None), ("/api/v1/checks", token)]
        for path, auth in endpoints:
            r = wrk(url + path, auth, args.duration, args.connections)
            print(
                f"| `{path}` | {r['rps']:.0f} | {r['p50']:.1f} | {r['p90']:.1f} | "
                f"{r['p99']:.1f} | {r['errors']:.0f} |"
            )
    finally:
        process.terminate()
        process.wait(timeout=30)
        target.shutdown()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"machine: {os.cpu_count()} cores; target: >= {TARGET_THRESHOLD[0]:.0f}/s, p99 < "
        f"{TARGET_THRESHOLD[1]:.0f} ms"
    )


if __name__ == "__main__":
    main()
