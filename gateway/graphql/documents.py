"""Parsed and validated documents, kept in a small LRU cache keyed by the query text.

Parsing and validating a typical query costs 4-5 ms here, more than executing it; clients
send the same few documents again and again with different variables, so each distinct
text is prepared once per process. Refused documents are cached too (their errors are
the same every time). Everything that depends on variables or on the operation chosen
(cost, list caps, GET/mutation) is checked per request, outside the cache.

Preparation, in order, each step refusing with request errors (nothing executes):

1. size: ``Limits.max_document_bytes`` (checked before the cache, so huge texts are never
   kept as keys);
2. parse, with at most ``Limits.max_tokens`` tokens;
3. ``limits.static_limit_errors``: depth, aliases, introspection nesting;
4. graphql-core's standard validation rules, plus ``NoSchemaIntrospectionCustomRule``
   when ``Limits.allow_introspection`` is false.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    parse,
    specified_rules,
    validate,
)
from opentelemetry import trace

from gateway.graphql.limits import Limits, document_size_error, static_limit_errors

tracer = trace.get_tracer(__name__)


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A parsed document, or the request errors that refuse it (``document`` None)."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors


class DocumentCache:
    """Thread-safe LRU of ``PreparedDocument`` for one schema and one ``Limits``."""

    def __init__(self, schema: GraphQLSchema, limits: Limits) -> None:
        self._schema = schema
        self._limits = limits
        self._rules = list(specified_rules)
        if not limits.allow_introspection:
            self._rules.append(NoSchemaIntrospectionCustomRule)
        self._entries: OrderedDict[str, PreparedDocument] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, query: str) -> PreparedDocument:
        too_big = document_size_error(len(query.encode("utf-8", "surrogatepass")), self._limits)
        if too_big is not None:
            return PreparedDocument(None, (too_big,))
        with self._lock:
            cached = self._entries.get(query)
            if cached is not None:
                self._entries.move_to_end(query)
                self.hits += 1
                return cached
            self.misses += 1
        prepared = self._prepare(query)  # outside the lock: two threads may both prepare
        with self._lock:
            self._entries[query] = prepared
            self._entries.move_to_end(query)
            while len(self._entries) > self._limits.document_cache_size:
                self._entries.popitem(last=False)
        return prepared

    def _prepare(self, query: str) -> PreparedDocument:
        """Parse and validate (a span each: a cached document has neither)."""
        with tracer.start_as_current_span("graphql.parse") as span:
            try:
                document = parse(query, max_tokens=self._limits.max_tokens)
            except GraphQLError as exc:  # its message quotes the document: not on the span
                span.set_attribute("soteria.outcome", "syntax_error")
                return PreparedDocument(None, (exc,))
        with tracer.start_as_current_span("graphql.validate") as span:
            refused = static_limit_errors(document, self._limits)
            errors = refused or validate(self._schema, document, self._rules)
            span.set_attribute("soteria.error_count", len(errors))
        return PreparedDocument(document, tuple(errors))
