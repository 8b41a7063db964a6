"""Start and stop the local emulators (Elasticsearch, OpenSearch, moto) as loopback processes.

Each ``start_*`` function returns a :class:`RunningServer` and an idempotent
``stop()``. Servers are separate processes (moto too, so its in-memory state
cannot be reset or intercepted by an in-process ``mock_aws`` in some test), their
output goes to log files (pipes could fill up and block the server), and a
failed start is retried on a new port because ``free_port`` cannot fully rule
out another process grabbing the port first.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "Launch",
    "RunningServer",
    "free_port",
    "start_elasticsearch_emulator",
    "start_server",
    "start_moto",
    "start_opensearch_emulator",
    "wait_until_ready",
]

HOST = "127.0.0.1"
START_ATTEMPTS = 3
STOP_GRACE_S = 5.0
LOG_TAIL_CHARS = 4000

# Never send loopback health checks through an HTTP(S)_PROXY from the environment.
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class RunningServer:
    name: str  # "elasticsearch" | "opensearch" | "moto"
    url: str  # e.g. "http://127.0.0.1:41234"


@dataclass(frozen=True)
class Launch:
    """How to start one attempt of a server: its command, and what else the process needs."""

    args: Sequence[str]
    env: dict[str, str] | None = None  # None: this process's environment
    cwd: Path | None = None
    # A launcher that forks the server (Elasticsearch 8+, OpenSearch) is stopped as a whole group.
    own_process_group: bool = False
    ready_path: str = "/"  # polled until it answers 200
    stop_grace_s: float = STOP_GRACE_S


def free_port() -> int:
    """Return a loopback port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _executable(path: Path) -> str:
    # Wheels do not always preserve the executable bit of bundled binaries.
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o755)
    return str(path)


def _log_tail(log_path: Path | None) -> str:
    if log_path is None or not log_path.exists():
        return "<no log>"
    text = log_path.read_text(errors="replace").strip()
    return text[-LOG_TAIL_CHARS:] if text else "<empty log>"


def _get_status(url: str, timeout_s: float) -> int | None:
    try:
        with _NO_PROXY_OPENER.open(url, timeout=timeout_s) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):  # refused, reset, timed out: not up yet
        return None


class _EarlyExit(RuntimeError):
    """The server process exited before becoming ready (often: port taken)."""


def wait_until_ready(
    url: str,
    timeout_s: float = 30.0,
    process: subprocess.Popen | None = None,
    *,
    name: str | None = None,
    log_path: Path | None = None,
) -> None:
    """Poll ``GET url`` until it returns 200.

    Raises RuntimeError (naming the server, the url and the log tail) if
    ``process`` exits first or the server is not ready within ``timeout_s``.
    """
    label = name or (Path(str(process.args[0])).name if process is not None else "server")
    deadline = time.monotonic() + timeout_s
    status: int | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise _EarlyExit(
                f"{label} at {url} exited with code {process.returncode} before becoming ready; "
                f"log tail:\n{_log_tail(log_path)}"
            )
        status = _get_status(url, timeout_s=2.0)
        if status == 200:
            return
        time.sleep(0.1)
    raise RuntimeError(
        f"{label} at {url} not ready after {timeout_s:.0f}s (last HTTP status: {status}); "
        f"log tail:\n{_log_tail(log_path)}"
    )


def _make_stop(process: subprocess.Popen, log_file: BinaryIO, launch: Launch) -> Callable[[], None]:
    lock = threading.Lock()
    stopped = False

    def signal_all(signum: int) -> None:
        if launch.own_process_group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signum)
        elif process.poll() is None:
            process.send_signal(signum)

    def stop() -> None:
        nonlocal stopped
        with lock:
            if stopped:
                return
            stopped = True
            atexit.unregister(stop)
            signal_all(signal.SIGTERM)
            try:
                process.wait(timeout=launch.stop_grace_s)
            except subprocess.TimeoutExpired:
                pass
            signal_all(signal.SIGKILL)  # the group's stragglers too, even when the leader has exited
            process.wait()
            log_file.close()

    # Safety net if pytest dies before fixture teardown runs.
    atexit.register(stop)
    return stop


def start_server(
    name: str,
    command_for_port: Callable[[int, int], Sequence[str] | Launch],
    log_dir: Path | None,
    timeout_s: float,
) -> tuple[RunningServer, Callable[[], None]]:
    """Launch ``command_for_port(port, attempt)`` until one attempt becomes ready."""
    logs = log_dir or Path(tempfile.mkdtemp(prefix=f"es-assets-{name}-"))
    logs.mkdir(parents=True, exist_ok=True)
    last_error: RuntimeError | None = None
    for attempt in range(1, START_ATTEMPTS + 1):
        port = free_port()
        url = f"http://{HOST}:{port}"
        log_path = logs / f"{name}-{port}.log"
        launch = command_for_port(port, attempt)
        if not isinstance(launch, Launch):
            launch = Launch(args=launch)
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            list(launch.args),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=launch.env,
            cwd=launch.cwd,
            start_new_session=launch.own_process_group,
        )
        stop = _make_stop(process, log_file, launch)
        try:
            wait_until_ready(url + launch.ready_path, timeout_s, process, name=name, log_path=log_path)
        except _EarlyExit as exc:  # most likely lost the port race: try another port
            stop()
            last_error = exc
            continue
        except BaseException:
            stop()
            raise
        return RunningServer(name=name, url=url), stop
    raise RuntimeError(f"{name} failed to start after {START_ATTEMPTS} attempts") from last_error


def start_elasticsearch_emulator(
    data_dir: Path, *, log_dir: Path | None = None, timeout_s: float = 30.0
) -> tuple[RunningServer, Callable[[], None]]:
    """Start the noida-db Elasticsearch 8 emulator with its data under ``data_dir``."""
    binary = _executable(Path(str(files("noida_db") / "noida-db")))

    def command(port: int, attempt: int) -> list[str]:
        # A fresh data dir per attempt, so a failed start leaves no stale control file behind.
        attempt_dir = Path(data_dir) / f"noida-{attempt}"
        attempt_dir.mkdir(parents=True, exist_ok=True)
        return [binary, "start", "--only", "elasticsearch",
                "--elasticsearch-port", str(port), "--data-dir", str(attempt_dir)]  # fmt: skip

    return start_server("elasticsearch", command, log_dir, timeout_s)


def start_opensearch_emulator(
    *, log_dir: Path | None = None, timeout_s: float = 30.0
) -> tuple[RunningServer, Callable[[], None]]:
    """Start the osmem OpenSearch 3 emulator; it also exits if this process dies."""
    binary = _executable(Path(str(files("osmem_server") / "bin" / "osmem-server")))

    def command(port: int, attempt: int) -> list[str]:
        return [binary, "-addr", f"{HOST}:{port}", "-no-stdin-watch", "-parent-pid", str(os.getpid())]

    return start_server("opensearch", command, log_dir, timeout_s)


def start_moto(
    *, log_dir: Path | None = None, timeout_s: float = 30.0
) -> tuple[RunningServer, Callable[[], None]]:
    """Start moto's server (S3, Glue, Athena, ...) with the current interpreter."""

    def command(port: int, attempt: int) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]

    return start_server("moto", command, log_dir, timeout_s)
