"""The benchmark's exact-dense stand-in answers the store's own query signature: a change of
that signature crashed `make bench` at 10,000 articles while every test passed."""

from __future__ import annotations

import inspect

import numpy as np

from bench.tasks.product import _exact_dense
from index.store import VectorStore


class Store:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def query(self, embedding, k, where=None, known=None):
        self.calls.append({"where": where, "known": known})
        return [("filtered", 1.0)]


def test_it_takes_every_argument_the_store_query_takes() -> None:
    store = Store()
    matrix = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]], dtype=np.float32)
    query = _exact_dense(store, matrix, ["a", "b", "c"])
    real = set(inspect.signature(VectorStore.query).parameters) - {"self"}
    assert real <= set(inspect.signature(query).parameters)
    assert [i for i, _ in query([1.0, 0.0], 2)] == ["a", "c"]
    # only the searching index's own chunks
    assert [i for i, _ in query([1.0, 0.0], 2, known={"b", "c"})] == ["c", "b"]
    # a filtered search goes to the store, with the known ids
    assert query([1.0, 0.0], 2, where={"doc_id": "d"}, known={"a"}) == [("filtered", 1.0)]
    assert store.calls == [{"where": {"doc_id": "d"}, "known": {"a"}}]
