"""Real Elasticsearch and OpenSearch servers from their official distributions, for tests and benchmarks.

Both vendors publish an *integration-test* zip of every release on Maven Central: the real server,
without a bundled JDK or the commercial plugins. :func:`start_distribution` fetches one with Maven
(``~/.m2`` caches the download), unpacks it once into a per-user cache, picks a JDK the version
runs on from ``/usr/lib/jvm`` and starts a single node on loopback, its config, data and logs in
a fresh temporary directory. Elasticsearch refuses to run as root, so as root the node runs as
``nobody`` through ``setpriv``.

This is tooling for ``es_assets_tests/`` and ``benchmarks/``, not part of the product.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from es_assets.demo.emulators import Launch, RunningServer, free_port, start_server

__all__ = ["DISTRIBUTIONS", "Distribution", "DistributionError", "start_distribution"]

JVM_DIR = Path("/usr/lib/jvm")
HEAP = "-Xms512m -Xmx512m"
START_TIMEOUT_S = 180.0  # a JVM node on a busy 2-core machine
STOP_GRACE_S = 30.0


class DistributionError(RuntimeError):
    """A distribution could not be fetched, or no JDK on this machine can run it."""


@dataclasses.dataclass(frozen=True)
class Distribution:
    product: str  # "elasticsearch" | "opensearch"
    version: str
    java: tuple[int, int]  # the Java feature releases it runs on, inclusive

    @property
    def key(self) -> str:
        return f"{self.product}-{self.version}"

    @property
    def artifact(self) -> str:
        group = "org.elasticsearch" if self.product == "elasticsearch" else "org.opensearch"
        return f"{group}.distribution.integ-test-zip:{self.product}:{self.version}:zip"

    @property
    def env_prefix(self) -> str:
        return "ES" if self.product == "elasticsearch" else "OPENSEARCH"


# The newest patch releases Maven Central serves. Java: 9.x and OpenSearch 3 need 21+; the older
# ones still install a security manager, which Java 24 removed.
DISTRIBUTIONS = {
    d.key: d
    for d in [
        Distribution("elasticsearch", "7.17.29", (17, 21)),
        Distribution("elasticsearch", "8.19.21", (17, 21)),
        Distribution("elasticsearch", "9.5.4", (21, 99)),
        Distribution("opensearch", "2.19.6", (17, 21)),
        Distribution("opensearch", "3.8.0", (21, 99)),
    ]
}


def cache_dir() -> Path:
    """``$ES_ASSETS_CACHE_DIR``, else a per-user cache the server's user can read.

    Root's home is not readable by ``nobody``, who runs the node when we are root.
    """
    if configured := os.environ.get("ES_ASSETS_CACHE_DIR"):
        return Path(configured)
    if os.geteuid() == 0:
        return Path("/var/cache/es_assets/distributions")
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "es_assets" / "distributions"


def installed(distribution: Distribution) -> Path:
    """The unpacked distribution, fetched and unpacked on first use.

    The tree is unpacked beside its final place and renamed into it, so concurrent test sessions
    never see half a tree: the first rename wins, the others drop their copy.
    """
    root = cache_dir()
    home = root / distribution.key
    if (home / "bin").is_dir():
        return home
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    zip_path = _fetched_zip(distribution, root)
    staging = Path(tempfile.mkdtemp(prefix=f".{distribution.key}-", dir=root))
    try:
        _unzip(zip_path, staging)
        try:
            (staging / distribution.key).rename(home)
        except OSError:
            if not (home / "bin").is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return home


def _fetched_zip(distribution: Distribution, root: Path) -> Path:
    zip_path = root / f"{distribution.key}.zip"
    if zip_path.exists():
        return zip_path
    if shutil.which("mvn") is None:
        raise DistributionError(f"{distribution.key} is not cached in {root} and Maven (mvn) is not installed")
    download = Path(tempfile.mkdtemp(prefix=".download-", dir=root))
    try:
        command = ["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={distribution.artifact}",
                   f"-DoutputDirectory={download}"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
        fetched = list(download.glob("*.zip"))
        if result.returncode != 0 or len(fetched) != 1:
            raise DistributionError(f"{' '.join(command)} failed (exit {result.returncode}):\n"
                                    f"{(result.stdout + result.stderr)[-4000:]}")
        fetched[0].replace(zip_path)  # atomic: a reader sees no zip or the whole zip
    finally:
        shutil.rmtree(download, ignore_errors=True)
    return zip_path


def _unzip(zip_path: Path, target: Path) -> None:
    """Extract keeping the executable bits (``zipfile`` alone drops them: ``bin/`` would not run)."""
    with zipfile.ZipFile(zip_path) as archive:
        for member in archive.infolist():
            path = Path(archive.extract(member, target))
            mode = (member.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode | 0o444 | (0o111 if path.is_dir() else 0))
            elif path.is_dir():
                path.chmod(0o755)


def java_home(distribution: Distribution, jvm_dir: Path = JVM_DIR) -> Path:
    """The newest JDK under ``jvm_dir`` whose feature release the distribution runs on."""
    found: dict[int, Path] = {}
    for release in sorted(jvm_dir.glob("*/release")):
        match = re.search(r'^JAVA_VERSION="(\d+)', release.read_text(errors="replace"), re.MULTILINE)
        if match and (release.parent / "bin" / "java").exists():
            found.setdefault(int(match.group(1)), release.parent.resolve())
    fitting = [feature for feature in found if distribution.java[0] <= feature <= distribution.java[1]]
    if not fitting:
        low, high = distribution.java
        wanted = f"Java {low}+" if high >= 99 else f"Java {low} to {high}"
        have = ", ".join(f"Java {f} ({p})" for f, p in sorted(found.items())) or "none"
        raise DistributionError(f"{distribution.key} needs {wanted}; JDKs in {jvm_dir}: {have}")
    return found[max(fitting)]


def _run_as_nobody() -> list[str]:
    """The command prefix and the need to chown: Elasticsearch refuses to run as root."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        raise DistributionError("running as root needs setpriv (util-linux) to start the server as nobody")
    # --pdeathsig: the node is stopped by the kernel if the test session dies without stopping it.
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--pdeathsig=TERM"]


def _chown_to_nobody(path: Path) -> None:
    for directory, _, names in os.walk(path):
        shutil.chown(directory, "nobody", "nogroup")
        for name in names:
            shutil.chown(Path(directory) / name, "nobody", "nogroup")


def _point_jvm_files_at(node_dir: Path) -> None:
    """7.17's jvm.options writes the GC log and heap dumps relative to the (read-only) install."""
    options = node_dir / "config" / "jvm.options"
    text = re.sub(r"(?<=[=:])logs/", f"{node_dir}/logs/", options.read_text())
    options.write_text(re.sub(r"(?<==)data$", f"{node_dir}/data", text, flags=re.MULTILINE))


def start_distribution(
    key: str, *, log_dir: Path | None = None, settings: dict[str, str] | None = None,
    timeout_s: float = START_TIMEOUT_S,
) -> tuple[RunningServer, Callable[[], None]]:
    """Start ``DISTRIBUTIONS[key]`` as a single node on 127.0.0.1; returns the server and ``stop()``.

    The node's config, data and logs go to a fresh directory under the system's temp dir (one
    subdirectory per attempt: a config directory a node has started from is never reused), which
    ``stop()`` removes; its console output goes to ``log_dir``. ``settings`` are extra ``-E`` settings.
    """
    distribution = DISTRIBUTIONS[key]
    home = installed(distribution)
    jdk = java_home(distribution)
    prefix = _run_as_nobody()
    # Not under pytest's temp dirs: they are private to this user, and the node may run as nobody.
    work_dir = Path(tempfile.mkdtemp(prefix=f"es-assets-{key}-"))
    work_dir.chmod(0o755)
    node_settings = {
        "discovery.type": "single-node",
        "network.host": "127.0.0.1",
        # A full disk on a shared machine must not leave shards unassigned.
        "cluster.routing.allocation.disk.threshold_enabled": "false",
        **({"xpack.security.enabled": "false"} if distribution.product == "elasticsearch" else {}),
        **(settings or {}),
    }

    def launch(port: int, attempt: int) -> Launch:
        node_dir = work_dir / f"node-{attempt}"
        shutil.copytree(home / "config", node_dir / "config")
        for name in ("data", "logs", "tmp"):
            (node_dir / name).mkdir()
        _point_jvm_files_at(node_dir)
        if prefix:
            _chown_to_nobody(node_dir)
        every = {**node_settings, "http.port": str(port), "transport.port": str(free_port()),
                 "path.data": str(node_dir / "data"), "path.logs": str(node_dir / "logs")}
        p = distribution.env_prefix
        env = {**os.environ, f"{p}_PATH_CONF": str(node_dir / "config"), f"{p}_JAVA_HOME": str(jdk),
               "JAVA_HOME": str(jdk), f"{p}_JAVA_OPTS": HEAP, f"{p}_TMPDIR": str(node_dir / "tmp")}
        return Launch(
            args=[*prefix, str(home / "bin" / distribution.product),
                  *[f"-E{name}={value}" for name, value in every.items()]],
            env=env,
            cwd=node_dir,
            own_process_group=True,
            ready_path="/_cluster/health?wait_for_status=yellow&timeout=1s",
            stop_grace_s=STOP_GRACE_S,
        )

    try:
        server, stop_server = start_server(key, launch, log_dir, timeout_s)
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise

    def stop() -> None:
        stop_server()
        shutil.rmtree(work_dir, ignore_errors=True)

    return server, stop


def main(argv: list[str] | None = None) -> None:
    """``python -m es_assets_tests.distributions [KEY ...]``: fetch and unpack (default: all), check the JDKs."""
    for key in argv if argv is not None else sys.argv[1:] or list(DISTRIBUTIONS):
        distribution = DISTRIBUTIONS[key]
        print(f"{key}: {installed(distribution)} on {java_home(distribution)}", flush=True)


if __name__ == "__main__":
    main()
