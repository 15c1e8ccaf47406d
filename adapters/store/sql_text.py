"""``text()`` statements built once per SQL string.

Statements on the push path are composed at run time from a few fixed parts (table
names, the dialect's flavour of a clause), so the same strings come back on every
submission. Building a ``TextClause`` parses the string for bind parameters, and that
showed up in profiles of small pushes; a ``TextClause`` never changes once built (its
``bindparams``/``columns`` return copies), so one per distinct string is shared.
"""

from __future__ import annotations

import functools

from sqlalchemy import TextClause, text


@functools.lru_cache(maxsize=1024)
def sql_text(sql: str) -> TextClause:
    return text(sql)
