"""Declaring on a field what it needs: ``@requires("read_indicators")``.

The action names are the policy table's (``auth.policy.Action`` values); the gateway's
context checks them, so a resolver cannot forget to.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def requires(action: str, *, force_argument: str | None = None) -> Callable[[F], F]:
    """Check ``action`` (for the force named by ``force_argument``) before resolving."""

    def decorate(resolver: F) -> F:
        @functools.wraps(resolver)
        def wrapper(parent: Any, info: Any, **kwargs: Any) -> Any:
            force = kwargs.get(force_argument) if force_argument else None
            info.context.authorize(action, force)
            return resolver(parent, info, **kwargs)

        wrapper.required_action = action  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
