"""Errors of the indicator source.

The tree::

    AdapterError (adapters.errors)
    └── IndicatorError           base of the indicator source's errors; never raised itself
        └── InvalidIndicatorQueryError
                                 a query that cannot be answered as asked: periods of another
                                 granularity, a naive as-at datetime, no periods or indicators

An unknown force code is ``adapters.store.errors.UnknownForceError``, as in the store: both guard
the same boundary (a force code that is not one of the 43).
"""

from __future__ import annotations

from adapters.errors import AdapterError


class IndicatorError(AdapterError):
    """Base of the indicator source's errors."""


class InvalidIndicatorQueryError(IndicatorError, ValueError):
    """The caller's query is malformed; the message says what to change."""
