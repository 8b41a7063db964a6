"""The deployment files: the Dockerfile, the instance configs under deploy/, the Helm values, and a
multi-run backfill on a persistent instance with the queue and pool limits of deploy/local.

No Docker engine or cluster is needed: the Dockerfile is parsed and checked against setup.cfg, the
instance files are validated with Dagster's own config schema (and the launchers' own config
types), and the Kubernetes run Job is built offline by dagster-k8s. The backfill test starts the
real webserver and daemon on loopback against the Elasticsearch emulator.
"""

from __future__ import annotations

import ast
import configparser
import contextlib
import datetime as dt
import importlib.util
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
import urllib3
import yaml

from es_assets.config import load_settings
from es_assets.demo import k8s_logs
from es_assets.demo.emulators import free_port, wait_until_ready
from es_assets.lake import open_lake
from es_assets_tests.support import counts_by_day, lake_rows, unique_prefix, write_config

PROJECT = Path(__file__).resolve().parents[1]
DOCKERFILE = PROJECT / "Dockerfile"
DEPLOY = PROJECT / "deploy"
INSTANCE_FILES = sorted(DEPLOY.glob("*/dagster.yaml"))
HELM_VALUES = DEPLOY / "k8s" / "values.yaml"
CODE_LOCATION_MODULE = "es_assets.definitions"
CODE_SERVER_PORT = "4000"


# -- the Dockerfile --------------------------------------------------------------------------------
def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: continuations joined, comments and blank lines dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue  # Docker drops comment lines, even inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def substitute(text: str, variables: dict[str, str]) -> str:
    """Docker's ${VAR} / $VAR substitution with the ARG defaults (unknown names stay as they are)."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), text)


def parse_arg(arguments: str) -> tuple[str, str | None]:
    name, sep, default = arguments.partition("=")
    return name.strip(), (default.strip().strip('"') if sep else None)


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    assert DOCKERFILE.is_file(), "no Dockerfile at the project root"
    return dockerfile_instructions(DOCKERFILE.read_text())


def setup_cfg_extras() -> set[str]:
    parser = configparser.RawConfigParser()
    parser.read(PROJECT / "setup.cfg")
    return set(parser["options.extras_require"])


def pip_installs(command: str) -> list[list[str]]:
    """The argument lists of every ``pip install`` in a shell command (pip, pip3, python -m pip, uv pip)."""
    found = []
    for part in re.split(r"&&|\|\||;|\|", command):
        words = shlex.split(part)
        for i in range(len(words) - 1):
            if re.fullmatch(r"(.*/)?pip3?(\.\d+)?", words[i]) and words[i + 1] == "install":
                found.append(words[i + 2:])
                break
    return found


# pip options that take a value; -r/-c/-e would install something other than the project's metadata.
_PIP_VALUE_OPTIONS = {"--index-url", "-i", "--extra-index-url", "--find-links", "-f", "--target", "-t",
                      "--prefix", "--root", "--platform", "--python-version", "--progress-bar"}
_FORBIDDEN_PIP_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable"}


def test_dockerfile_installs_only_the_project_and_its_declared_extras(dockerfile: list[tuple[str, str]]) -> None:
    variables: dict[str, str] = {}
    stages: list[str] = []
    installs: list[str] = []
    extras = setup_cfg_extras()
    for keyword, arguments in dockerfile:
        if keyword == "ARG":
            name, default = parse_arg(arguments)
            if default is not None:
                variables[name] = default
        elif keyword == "FROM":
            stages.append(substitute(arguments, variables))
        elif keyword == "RUN":
            command = substitute(arguments, variables)
            assert not re.search(r"\b(apt-get|apt|apk|yum|dnf|conda|mamba)\s+(install|add)\b", command), (
                f"the image installs system packages ({command!r}); it needs only what setup.cfg names"
            )
            assert not re.search(r"\b(poetry|uv)\s+add\b|\beasy_install\b", command), command
            for args in pip_installs(command):
                targets, skip = [], False
                for arg in args:
                    if skip:
                        skip = False
                        continue
                    assert arg.split("=")[0] not in _FORBIDDEN_PIP_OPTIONS, f"pip install {arg} in {command!r}"
                    if arg in _PIP_VALUE_OPTIONS:
                        skip = True
                    elif not arg.startswith("-"):
                        targets.append(arg)
                assert targets, f"a pip install without a target: {command!r}"
                for target in targets:
                    match = re.fullmatch(r"\.(?:\[([\w,\s-]*)\])?", target)
                    assert match, f"the image pip-installs {target!r}: only the project itself (. or .[extras]) may be"
                    named = {e.strip() for e in (match.group(1) or "").split(",") if e.strip()}
                    assert named <= extras, f"extras {sorted(named - extras)} are not in setup.cfg ({sorted(extras)})"
                    assert not named & {"dev", "demo", "bench"}, "emulators and test tools do not belong in the image"
                installs.append(command)
    assert installs, "the Dockerfile never runs `pip install .`"
    # Python 3.11 (what the pins are tested with), slim, in a multi-stage build.
    images = [stage.split()[0] for stage in stages]
    assert len(images) >= 2, "build in one stage, run from another (no build tools in the image)"
    assert all(re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", image) for image in images), images


def test_dockerfile_copies_what_pip_install_reads_and_nothing_of_the_tests(dockerfile: list[tuple[str, str]]) -> None:
    copied = []
    for keyword, arguments in dockerfile:
        if keyword in ("COPY", "ADD") and not arguments.startswith("--from"):
            *sources, _destination = arguments.split()
            copied += [s for s in sources if not s.startswith("--")]
    assert "." not in copied and "./" not in copied, "COPY . . would put the tests, data and caches into the image"
    for source in copied:
        assert (PROJECT / source).exists(), f"COPY {source}: no such file in the project"
        assert not source.startswith(("es_assets_tests", "benchmarks", "data", "deploy", ".")), source
    # What setup.cfg needs at build time: pyproject.toml, setup.cfg, the package, and every `file:`.
    needed = {"pyproject.toml", "setup.cfg", "es_assets"}
    parser = configparser.RawConfigParser()
    parser.read(PROJECT / "setup.cfg")
    for value in parser["metadata"].values():
        if value.startswith("file:"):
            needed |= {name.strip() for name in value[len("file:"):].split(",")}
    assert needed <= {s.rstrip("/") for s in copied} | {Path(s).name for s in copied}, (
        f"pip install . needs {sorted(needed)}, the Dockerfile copies {copied}"
    )
    # .dockerignore keeps the context to what is copied (not .venv or data/), and keeps all of that.
    ignore = [line.strip() for line in (PROJECT / ".dockerignore").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*"
    assert {s.rstrip("/") for s in copied} <= {line[1:].rstrip("/") for line in ignore if line.startswith("!")}


def test_dockerfile_serves_the_code_location(dockerfile: list[tuple[str, str]]) -> None:
    env: dict[str, str] = {}
    exposed: list[str] = []
    cmd: list[str] | None = None
    for keyword, arguments in dockerfile:
        if keyword == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", arguments)))
        elif keyword == "EXPOSE":
            exposed += arguments.split()
        elif keyword == "CMD":
            cmd = orjson.loads(arguments)  # exec form, so signals reach the server
    assert env.get("ES_ASSETS_CONFIG", "").endswith(".yaml"), "ES_ASSETS_CONFIG is not set to a yaml file"
    assert cmd == ["dagster", "code-server", "start", "-m", CODE_LOCATION_MODULE, "-h", "0.0.0.0", "-p",
                   CODE_SERVER_PORT], cmd
    assert CODE_SERVER_PORT in exposed
    # The module exists in the package the image installs, and defines the code location.
    spec = importlib.util.find_spec(CODE_LOCATION_MODULE)
    assert spec is not None and spec.origin is not None
    origin = Path(spec.origin).resolve()
    assert origin.is_relative_to(PROJECT / "es_assets"), origin
    tree = ast.parse(origin.read_text())
    assigned = {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)}
    assert "defs" in assigned, f"{CODE_LOCATION_MODULE} has no top-level `defs`"


# -- the instance configs under deploy/ -----------------------------------------------------------
def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path}: not a YAML mapping"
    return data


def validate_class_config(section: dict[str, Any], where: str) -> type:
    """Import ``module.class`` and validate ``config`` with the class's own config type."""
    from dagster._config import validate_config
    from dagster._serdes.config_class import class_from_code_pointer

    cls = class_from_code_pointer(section["module"], section["class"])
    result = validate_config(cls.config_type(), section.get("config", {}))
    assert result.success, f"{where}: " + "; ".join(e.message for e in result.errors or [])
    return cls


def test_every_deployment_has_an_instance_config() -> None:
    assert {p.parent.name for p in INSTANCE_FILES} == {"local", "k8s", "ecs"}


@pytest.mark.parametrize("path", INSTANCE_FILES, ids=[p.parent.name for p in INSTANCE_FILES])
def test_instance_config_validates_with_dagsters_schema(path: Path) -> None:
    from dagster._core.instance.config import dagster_instance_config

    if path.parent.name == "k8s":
        pytest.importorskip("dagster_k8s", reason="dagster-k8s is not installed (pip install -e '.[k8s]')")
    raw = load_yaml(path)
    # The whole file against the instance schema, with Dagster's own cross-field checks
    # (concurrency vs run queue settings, pool limits in range, one storage).
    config, custom_class = dagster_instance_config(str(path.parent))
    assert custom_class is None
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    for section in ("run_coordinator", "run_launcher", "compute_logs", "scheduler"):
        if section in raw:
            validate_class_config(raw[section], f"{path}: {section}")
    # Every deployment queues its runs and caps each source's pool.
    assert raw["concurrency"]["runs"]["max_concurrent_runs"] >= 1
    assert raw["concurrency"]["pools"]["default_limit"] >= 1


def test_local_instance_loads_with_its_queue_and_pool_limits(tmp_path: Path) -> None:
    import dagster as dg

    (tmp_path / "dagster.yaml").write_text((DEPLOY / "local" / "dagster.yaml").read_text())
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        concurrency = instance.get_concurrency_config()
        raw = load_yaml(DEPLOY / "local" / "dagster.yaml")["concurrency"]
        assert concurrency.run_queue_config.max_concurrent_runs == raw["runs"]["max_concurrent_runs"]
        assert concurrency.pool_config.default_pool_limit == raw["pools"]["default_limit"]
        assert instance.event_log_storage.supports_global_concurrency_limits


def test_k8s_run_launcher_builds_the_run_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dagster-k8s turns deploy/k8s/dagster.yaml into the Job of a run, offline (no cluster)."""
    pytest.importorskip("dagster_k8s", reason="dagster-k8s is not installed (pip install -e '.[k8s]')")
    from dagster import DagsterRun
    from dagster._config import process_config
    from dagster_k8s import K8sRunLauncher
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.job import construct_dagster_k8s_job

    instance = load_yaml(DEPLOY / "k8s" / "dagster.yaml")
    config = instance["run_launcher"]["config"]
    # The daemon's environment, which the launcher copies into the run pod.
    daemon_env = {name: f"value-of-{name}" for name in config["env_vars"]}
    for name, value in daemon_env.items():
        monkeypatch.setenv(name, value)
    kubeconfig = tmp_path / "kubeconfig"  # a cluster that is never contacted
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "test", "user": {"token": "x"}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}],
    }))
    processed = process_config(K8sRunLauncher.config_type(),
                               {**config, "load_incluster_config": False, "kubeconfig_file": str(kubeconfig)})
    assert processed.success, processed.errors
    launcher = K8sRunLauncher(**processed.value)
    run = DagsterRun(job_name="k8s_logs_days", run_id="8b0c3e1c-0000-4000-8000-000000000000")
    context = K8sContainerContext.create_for_run(run, launcher, include_run_tags=True)
    job = construct_dagster_k8s_job(
        job_config=context.get_k8s_job_config(job_image="registry.example.com/es-assets:0.1.0", run_launcher=launcher),
        args=["dagster", "api", "execute_run", "{}"],
        job_name="dagster-run-8b0c3e1c",
        user_defined_k8s_config=context.run_k8s_config,
        component="run_worker",
    )
    pod = job.spec.template.spec
    container = pod.containers[0]
    assert job.metadata.namespace is None or job.metadata.namespace == config["job_namespace"]
    assert pod.service_account_name == config["service_account_name"]
    assert {e.secret_ref.name for e in container.env_from if e.secret_ref} >= set(config["env_secrets"])
    assert "/etc/es_assets" in {m.mount_path for m in container.volume_mounts}  # the image's ES_ASSETS_CONFIG
    env = {e.name: e for e in container.env}
    assert env["DAGSTER_HOME"].value == config["dagster_home"]
    assert env["DAGSTER_PG_PASSWORD"].value_from.secret_key_ref.name == config["postgres_password_secret"]
    # Every environment variable the instance reads reaches the run worker, which loads that instance.
    referenced = set(re.findall(r"env: (\w+)", (DEPLOY / "k8s" / "dagster.yaml").read_text()))
    assert referenced <= set(env), f"the run pod lacks {sorted(referenced - set(env))}"
    assert all(env[name].value == value for name, value in daemon_env.items())
    assert container.resources.limits == config["resources"]["limits"]
    assert job.spec.ttl_seconds_after_finished == config["run_k8s_config"]["job_spec_config"]["ttl_seconds_after_finished"]


# Fargate's valid CPU units → memory (MiB) choices.
_FARGATE = {
    "256": {512, 1024, 2048},
    "512": set(range(1024, 4097, 1024)),
    "1024": set(range(2048, 8193, 1024)),
    "2048": set(range(4096, 16385, 1024)),
    "4096": set(range(8192, 30721, 1024)),
    "8192": set(range(16384, 61441, 4096)),
    "16384": set(range(32768, 122881, 8192)),
}


def test_ecs_run_launcher_accepts_its_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The EcsRunLauncher is built from deploy/ecs/dagster.yaml (no AWS call: the task definition is a dict)."""
    from dagster._config import process_config
    from dagster_aws.ecs import EcsRunLauncher

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    config = load_yaml(DEPLOY / "ecs" / "dagster.yaml")["run_launcher"]["config"]
    processed = process_config(EcsRunLauncher.config_type(), config)
    assert processed.success, processed.errors
    launcher = EcsRunLauncher(**processed.value)  # checks run_task_kwargs against the ECS API model
    assert all(s["valueFrom"].startswith("arn:aws:secretsmanager:") for s in launcher.secrets)
    assert {s["name"] for s in launcher.secrets} >= {"ES_API_KEY"}
    resources = config["run_resources"]
    assert int(resources["memory"]) in _FARGATE[resources["cpu"]], f"not a Fargate size: {resources}"
    # The run task loads the instance it is handed, so every variable the instance reads must reach it.
    referenced = set(re.findall(r"env: (\w+)", (DEPLOY / "ecs" / "dagster.yaml").read_text()))
    given = {s["name"] for s in launcher.secrets} | {v.split("=")[0] for v in launcher.env_vars}
    assert referenced <= given, f"the run task lacks {sorted(referenced - given)}"


# -- the Helm values --------------------------------------------------------------------------------
def test_helm_values_name_the_image_and_the_code_location() -> None:
    values = load_yaml(HELM_VALUES)
    user_code = values.get("dagster-user-deployments", values)  # the dagster chart, or its subchart alone
    deployments = user_code["deployments"]
    assert len(deployments) == 1
    deployment = deployments[0]
    assert deployment["image"]["repository"] and deployment["image"]["tag"]
    args = deployment.get("dagsterApiGrpcArgs") or deployment.get("codeServerArgs")
    assert args[args.index("-m") + 1] == CODE_LOCATION_MODULE
    assert str(deployment["port"]) == CODE_SERVER_PORT
    assert deployment["envSecrets"], "the Elasticsearch credentials come from a Secret"
    mounts = {m["mountPath"] for m in deployment["volumeMounts"]}
    assert "/etc/es_assets" in mounts  # where the image's ES_ASSETS_CONFIG points
    assert deployment["resources"]["requests"] and deployment["resources"]["limits"]


def test_helm_values_match_the_k8s_instance_config() -> None:
    """The chart renders the instance from its values: they must say what deploy/k8s/dagster.yaml says."""
    values = load_yaml(HELM_VALUES)
    instance = load_yaml(DEPLOY / "k8s" / "dagster.yaml")
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    concurrency = values["concurrency"]
    assert concurrency["enabled"] is True
    assert concurrency["runs"]["maxConcurrentRuns"] == instance["concurrency"]["runs"]["max_concurrent_runs"]
    assert concurrency["pools"]["defaultLimit"] == instance["concurrency"]["pools"]["default_limit"]
    assert concurrency["pools"]["granularity"] == instance["concurrency"]["pools"]["granularity"]
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert launcher["resources"] == instance["run_launcher"]["config"]["resources"]


# -- a multi-run backfill on a persistent instance --------------------------------------------------
SOURCE = "k8s_logs"
ASSET_KEYS = [[layer, SOURCE] for layer in ("elasticsearch", "parquet", "athena")]
POOL = f"elasticsearch_{SOURCE}"
POOLED_STEPS = {f"elasticsearch__{SOURCE}", f"parquet__{SOURCE}"}
MAX_RUNS = 2
POOL_LIMIT = 1
TODAY = dt.datetime.now(dt.timezone.utc).date()
BACKFILL_DAYS = [TODAY - dt.timedelta(days=n) for n in (5, 4, 3, 2)]
DOCS_PER_DAY = 400
BACKFILL_TIMEOUT_S = 150


def graphql(base_url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = urllib3.request("POST", f"{base_url}/graphql", json={"query": query, "variables": variables or {}},
                               timeout=60)
    assert response.status == 200, response.data[:1000]
    body = orjson.loads(response.data)
    assert "errors" not in body, body["errors"]
    return dict(body["data"])


@contextlib.contextmanager
def dagster_process(args: Sequence[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A Dagster service in its own process group; SIGINT then SIGKILL to the whole group on exit."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", *args], cwd=PROJECT, env=env,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
            with contextlib.suppress(ProcessLookupError):  # run workers and code servers it started, too
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def max_overlap(intervals: Sequence[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an interval ending when another starts does not overlap it)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    open_now = peak = 0
    for _, delta in events:
        open_now += delta
        peak = max(peak, open_now)
    return peak


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_multi_run_backfill_respects_the_run_queue_and_the_pool(es_url: str, tmp_path: Path) -> None:
    import dagster as dg
    from dagster._core.storage.dagster_run import FINISHED_STATUSES

    prefix = unique_prefix("deploy")
    loaded = k8s_logs.load_days(es_url, BACKFILL_DAYS, DOCS_PER_DAY, index_prefix=prefix)
    config_path = write_config(tmp_path, es_url, f"{prefix}*", BACKFILL_DAYS[0] - dt.timedelta(days=1), source={
        "backfill": "multi_run", "days_per_run": 1, "automation": "none", "page_size": 200, "slices": 2,
    })
    # The shipped one-machine instance, with this test's limits and a quicker queue.
    home = tmp_path / "dagster_home"
    home.mkdir()
    instance_yaml = load_yaml(DEPLOY / "local" / "dagster.yaml")
    instance_yaml["concurrency"]["runs"]["max_concurrent_runs"] = MAX_RUNS
    instance_yaml["concurrency"]["pools"]["default_limit"] = POOL_LIMIT
    # The queue holds back a run whose first pooled step would have to wait; a buffer of one lets a
    # second run start anyway, so that the pool (not the queue) is what keeps its steps apart.
    instance_yaml["concurrency"]["pools"]["op_granularity_run_buffer"] = 1
    instance_yaml["run_coordinator"]["config"]["dequeue_interval_seconds"] = 1
    instance_yaml["nux"] = {"enabled": False}
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml))
    env = {**os.environ, "DAGSTER_HOME": str(home), "ES_ASSETS_CONFIG": str(config_path)}

    started = time.monotonic()
    url = f"http://127.0.0.1:{free_port()}"
    webserver_args = ["dagster_webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", url.rsplit(":", 1)[1]]
    with dagster_process(webserver_args, env, tmp_path / "webserver.log") as webserver:
        wait_until_ready(f"{url}/server_info", 120, webserver, name="dagster-webserver",
                         log_path=tmp_path / "webserver.log")
        deadline = time.monotonic() + 120
        while len(graphql(url, "{ assetNodes { id } }")["assetNodes"]) < len(ASSET_KEYS):
            assert time.monotonic() < deadline, "the code location did not load; see webserver.log"
            time.sleep(0.5)
        # What the UI's "Materialize → backfill" sends: the three assets, the four days.
        launched = graphql(url, """
            mutation($params: LaunchBackfillParams!) {
              launchPartitionBackfill(backfillParams: $params) {
                __typename
                ... on LaunchBackfillSuccess { backfillId }
                ... on PythonError { message stack }
                ... on InvalidSubsetError { message }
              }
            }""", {"params": {"partitionNames": [str(d) for d in BACKFILL_DAYS],
                              "assetSelection": [{"path": key} for key in ASSET_KEYS]}})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill_id = launched["backfillId"]

    # The daemon turns the backfill into runs (one per day: days_per_run 1) and launches them
    # from the queue; started after the submission, its first backfill tick comes at once.
    with dg.DagsterInstance.from_config(str(home)) as instance, \
            dagster_process(["dagster._daemon", "run", "-w", "workspace.yaml"], env, tmp_path / "daemon.log"):
        runs_filter = dg.RunsFilter(tags={"dagster/backfill": backfill_id})
        deadline = time.monotonic() + BACKFILL_TIMEOUT_S
        while True:
            records = instance.get_run_records(runs_filter)
            if len(records) == len(BACKFILL_DAYS) and all(r.dagster_run.status in FINISHED_STATUSES for r in records):
                break
            assert time.monotonic() < deadline, (
                f"backfill not finished after {BACKFILL_TIMEOUT_S}s: "
                f"{[(r.dagster_run.run_id[:8], r.dagster_run.status.value) for r in records]}; see daemon.log"
            )
            time.sleep(1)
        elapsed = time.monotonic() - started

        assert [r.dagster_run.status for r in records] == [dg.DagsterRunStatus.SUCCESS] * len(BACKFILL_DAYS), (
            [(r.dagster_run.tags.get("dagster/partition"), r.dagster_run.status.value) for r in records]
        )
        # One run per day (days_per_run: 1), each with the three assets.
        ranges = sorted((r.dagster_run.tags["dagster/asset_partition_range_start"],
                         r.dagster_run.tags["dagster/asset_partition_range_end"]) for r in records)
        assert ranges == [(str(d), str(d)) for d in BACKFILL_DAYS]
        for record in records:
            assert record.dagster_run.asset_selection == {dg.AssetKey(k) for k in ASSET_KEYS}

        # The run queue: never more than MAX_RUNS runs in progress at once, and the limit was reached.
        run_spans = [(r.start_time, r.end_time) for r in records]
        assert all(start and end for start, end in run_spans)
        assert max_overlap(run_spans) == MAX_RUNS, run_spans

        # The pool: never more than POOL_LIMIT of the source's pooled steps at once, across all runs.
        pooled = [
            (stat.start_time, stat.end_time)
            for r in records for stat in instance.get_run_step_stats(r.dagster_run.run_id)
            if stat.step_key in POOLED_STEPS
        ]
        assert len(pooled) == len(BACKFILL_DAYS) * len(POOLED_STEPS)
        assert max_overlap(pooled) <= POOL_LIMIT, sorted(pooled)
        assert instance.event_log_storage.get_concurrency_info(POOL).slot_count == POOL_LIMIT

    # Every day landed: manifests and a DuckDB read of the lake both equal what was loaded.
    settings = load_settings(config_path)
    lake = open_lake(settings.lake)
    expected = {day: loaded[k8s_logs.index_name(day, prefix)] for day in BACKFILL_DAYS}
    assert {day: (lake.manifest(SOURCE, day) or {}).get("rows") for day in BACKFILL_DAYS} == expected
    assert counts_by_day(lake_rows(settings, SOURCE)) == expected
    print(f"\nmulti-run backfill of {len(BACKFILL_DAYS)} days: {elapsed:.0f} s wall, "
          f"max {max_overlap(run_spans)} runs and {max_overlap(pooled)} pooled steps at once")
