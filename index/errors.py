"""Errors of the index layer.

    IndexLayerError
    ├── SourceError          a source is missing, unreadable, empty, binary or malformed
    │   └── DuplicateDocumentError   two documents claim the same id
    └── StoreError           the vector store cannot be opened or written
        ├── StoreUnavailableError    a Chroma server does not answer
        └── IndexChangingError       another process kept replacing the collection mid-search

Every message is one sentence a user can act on; the cause is chained with ``from``.
"""


class IndexLayerError(Exception):
    """Root of everything the index layer raises on purpose."""


class SourceError(IndexLayerError):
    """A source cannot be turned into documents."""


class DuplicateDocumentError(SourceError):
    """Two documents in one load share an id."""


class StoreError(IndexLayerError):
    """The vector store cannot be opened, read or written."""


class StoreUnavailableError(StoreError):
    """A configured Chroma server does not answer."""


class IndexChangingError(StoreError):
    """A search kept failing while another process rebuilt the collection (the store itself
    answers); ``Index.search`` then answers from BM25 alone rather than failing."""
