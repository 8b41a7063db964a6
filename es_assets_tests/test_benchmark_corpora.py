"""The benchmark's corpora index on the real servers as they claim to.

Each corpus (``benchmarks/corpora.py``) is indexed into real Elasticsearch 9.5.4 and OpenSearch
3.8.0: every document is accepted (no mapping the trimmed distributions lack, no value a field
refuses), the schema built from the server's own mapping is the one the unit tests build from
:func:`~benchmarks.corpora.indexed_mapping`, and the ``raw`` floor's ``"sort":[`` marker counts
exactly the hits of a page.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import orjson
import pytest
import urllib3

from benchmarks.corpora import CORPORA, indexed_mapping
from benchmarks.raw import SORT_MARKER
from es_assets.schema.fields import build_schema
from es_assets.schema.pages import FILTER_PATH

pytestmark = pytest.mark.integration

DAY = dt.date(2026, 1, 16)
DOCS = 3000


def _get(url: str) -> dict:
    response = urllib3.request("GET", url, timeout=60)
    assert response.status == 200, response.data[:500]
    return orjson.loads(response.data)


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_every_corpus_indexes_whole_on_the_real_servers_with_the_mapping_the_unit_tests_assume(
    name: str, search_url: str, request: pytest.FixtureRequest
) -> None:
    product = request.node.callspec.params["search_url"]
    corpus = CORPORA[name]
    try:
        assert corpus.load(search_url, DAY, DOCS, product) == DOCS
        count = _get(f"{search_url}/{corpus.index_pattern}/_count")["count"]
        served = _get(f"{search_url}/{corpus.index_pattern}/_mapping")
        documents = list(corpus.documents(DAY, DOCS, product))
        assumed = {index: indexed_mapping(body, [s for i, _, s in documents if i == index])
                   for index, body in corpus.indices(DAY, product)}
        page = urllib3.request(
            "POST", f"{search_url}/{corpus.index_pattern}/_search?filter_path={quote(FILTER_PATH, safe=',')}",
            body=orjson.dumps({"size": DOCS, "sort": ["_doc"]}), headers={"content-type": "application/json"},
            timeout=120,
        ).data
    finally:
        corpus.delete(search_url, DAY, product)

    assert count == DOCS
    assert set(served) == set(assumed)
    assert build_schema(served, "@timestamp").arrow_schema == build_schema(assumed, "@timestamp").arrow_schema
    assert page.count(SORT_MARKER) == len(orjson.loads(page)["hits"]["hits"]) == DOCS
