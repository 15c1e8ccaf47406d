"""Exceptions raised by the ``schema`` package (pure maths and data contracts, no I/O).

The tree::

    SchemaError(Exception)                  anything the schema package refuses
    ├── PeriodError(SchemaError, ValueError)
    │       a period label that does not parse, a date range that is reversed,
    │       out of calendar range, or would produce too many periods
    ├── CatalogueError(SchemaError, ValueError)
    │       an indicator id or breakdown value the catalogue does not know
    ├── PartialError(SchemaError, ValueError)
    │       a partial result that breaks its invariants (negative counts, a histogram
    │       that is unsorted or does not sum to its count)
    └── DisclosureError(SchemaError)
            a response table handed to disclosure control that is inconsistent
            (unknown keys, mixed units, totals that do not add up, bad parameters)

``PeriodError`` and ``CatalogueError`` are also ``ValueError`` because they are the caller's
bad input: the gateway maps them to a user-fixable error with the message as written.
``PartialError`` is a ``ValueError`` for the same reason in tests and adapters, but reaching
the gateway it means a bug in a force adapter.
``DisclosureError`` is a programming error in whoever built the table, never the client's
fault: the gateway must treat it as internal and must not echo it to the client.
"""

from __future__ import annotations


class SchemaError(Exception):
    """Base class for every error raised by ``schema``."""


class PeriodError(SchemaError, ValueError):
    """A period label, granularity or date range that cannot be used."""


class CatalogueError(SchemaError, ValueError):
    """An indicator id or breakdown value that is not in the catalogue."""


class PartialError(SchemaError, ValueError):
    """A partial result whose counts or histogram are impossible."""


class DisclosureError(SchemaError):
    """A table given to disclosure control is inconsistent, so no guarantee would hold."""
