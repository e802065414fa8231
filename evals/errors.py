"""Errors of the eval layer.

    EvalError
    └── DatasetError     an eval set cannot be read, or holds no usable item

Problems with single lines of an eval set are not errors: they are collected as
``DatasetProblem`` values and reported, so one bad line does not stop a run. An error is raised
only when nothing usable is left. Every message is one sentence a user can act on.
"""


class EvalError(Exception):
    """Root of everything the eval layer raises on purpose."""


class DatasetError(EvalError):
    """An eval set is missing, unreadable or empty."""
