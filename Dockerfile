# The es_assets code location as a container image: a Dagster gRPC code server that the webserver
# and the daemon talk to, and the image every run of es_assets executes in (a Kubernetes Job pod
# with the K8sRunLauncher, an ECS task with the EcsRunLauncher). See deploy/ and the README's
# "Deployment and scaling".
#
#   docker build -t registry.example.com/es-assets:0.1.0 .
#   docker run -p 4000:4000 -v $PWD/es_assets.yaml:/etc/es_assets/es_assets.yaml:ro \
#       -e ES_API_KEY registry.example.com/es-assets:0.1.0
#
# Only what setup.cfg names is installed, by the project's own `pip install`: the image has the
# same pinned dependencies as `make test`. The extras are chosen with ES_ASSETS_EXTRAS:
#   postgres  dagster-postgres, for the PostgreSQL instance storage a cluster needs (deploy/k8s,
#             deploy/ecs): every run writes its events there. The default.
#   k8s       dagster-k8s, only if runs should use the k8s_job_executor (a pod per step); the
#             K8sRunLauncher itself runs in the daemon, not in this image.
#   docker build --build-arg ES_ASSETS_EXTRAS=postgres,k8s ...
# (The demo, dev and bench extras hold emulators and test tools: they do not belong in an image.)

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: a virtual environment with the project and its dependencies -----------------------------
FROM ${PYTHON_IMAGE} AS build
ARG ES_ASSETS_EXTRAS=postgres
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# What `pip install .` reads: the package metadata (setup.cfg names README.md as the long
# description) and the package itself. Tests, benchmarks and the demo data stay out.
COPY pyproject.toml setup.cfg README.md ./
COPY es_assets ./es_assets
RUN pip install ".[${ES_ASSETS_EXTRAS}]"

# -- runtime: the environment only, no build tools, an unprivileged user ---------------------------
FROM ${PYTHON_IMAGE}
COPY --from=build /opt/venv /opt/venv
RUN useradd --create-home --uid 10001 dagster \
    && mkdir -p /etc/es_assets /opt/dagster/dagster_home /opt/dagster/app \
    && chown dagster /opt/dagster/dagster_home /opt/dagster/app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1
# The es_assets configuration: mount your es_assets.yaml here (a ConfigMap on Kubernetes, a file or
# an EFS volume on ECS). Secrets stay out of it: it names them as ${ES_API_KEY} and the like, and
# the platform injects those variables (deploy/k8s/values.yaml, deploy/ecs/dagster.yaml).
ENV ES_ASSETS_CONFIG=/etc/es_assets/es_assets.yaml
# Where Dagster looks for dagster.yaml. A run launched by the K8s or ECS launcher gets its instance
# on its command line; the code server needs none.
ENV DAGSTER_HOME=/opt/dagster/dagster_home
USER dagster
WORKDIR /opt/dagster/app

# The gRPC code server. Set DAGSTER_CURRENT_IMAGE to this image's full name (the Helm chart does it
# for its user deployments) so that runs launched from it use the same image.
EXPOSE 4000
CMD ["dagster", "code-server", "start", "-m", "es_assets.definitions", "-h", "0.0.0.0", "-p", "4000"]
