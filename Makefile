# The two commands of the README: `make demo` and `make test`. Everything installs itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install when the dependency declarations change.
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | sha1sum | cut -c1-12)

.PHONY: venv demo dev servers test bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,bench,k8s,postgres]"
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

# LAKE=s3: the lake on S3 and the table in Glue, on a moto server the demo starts.
# LAKE=iceberg: an Apache Iceberg table in a local SQL catalog; LAKE=iceberg-s3: on S3, in Glue (moto).
LAKE ?= local

demo: venv
	$(BIN)/python -m es_assets.demo.run demo --lake $(LAKE)

dev: venv
	$(BIN)/python -m es_assets.demo.run dev

# The real Elasticsearch/OpenSearch distributions the tests and the benchmark start: fetched from
# Maven Central (needs mvn and JDKs 17 and 21+ in /usr/lib/jvm), unpacked once into a cache.
servers: venv
	$(BIN)/python -m es_assets_tests.distributions

test: servers
	$(BIN)/python -m pytest

bench: servers
	$(BIN)/python -m benchmarks.run $(ARGS)

clean:
	rm -rf data .demo .dagster_home test-artifacts
