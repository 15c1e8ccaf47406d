"""The access policy: one table from action to the scopes and force binding it needs.

Routes and resolvers never test scopes themselves; they name an ``Action`` and call
``authorize`` (or ``auth.guard.require``). Keeping the whole policy in ``POLICY`` means a
reviewer reads one table to know who may do what, and the tests iterate over that same
table so a new action cannot be added without being exercised.

Force binding, per action:

* ``NONE``: the action is not about one force's data (national indicators, federation).
* ``OWN_FORCE``: a force-bound client may act only for its own force and must name it; a
  national client (no force) may act for any force or for all (``force=None``).
* ``OWN_FORCE_ONLY``: only force-bound clients, and only for their own force. A national
  client holding the scope is still refused (nobody pushes records "for all forces").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from auth.principal import Principal
from auth.scopes import Scope


class Action(StrEnum):
    PUSH_SUBMISSION = "push_submission"
    READ_SUBMISSION = "read_submission"
    READ_INDICATORS = "read_indicators"
    READ_INDICATORS_EXACT = "read_indicators_exact"
    READ_AUDIT = "read_audit"
    READ_FEDERATION_PARTIALS = "read_federation_partials"


class ForceBinding(StrEnum):
    NONE = "none"
    OWN_FORCE = "own_force"
    OWN_FORCE_ONLY = "own_force_only"


@dataclass(frozen=True, slots=True)
class Rule:
    scopes: frozenset[Scope]
    force: ForceBinding

    @property
    def force_bound(self) -> bool:
        return self.force is not ForceBinding.NONE


POLICY: Final[Mapping[Action, Rule]] = MappingProxyType(
    {
        Action.PUSH_SUBMISSION: Rule(frozenset({Scope.RECORDS_WRITE}), ForceBinding.OWN_FORCE_ONLY),
        Action.READ_SUBMISSION: Rule(frozenset({Scope.SUBMISSIONS_READ}), ForceBinding.OWN_FORCE),
        Action.READ_INDICATORS: Rule(frozenset({Scope.INDICATORS_READ}), ForceBinding.NONE),
        Action.READ_INDICATORS_EXACT: Rule(
            frozenset({Scope.INDICATORS_READ, Scope.INDICATORS_EXACT}), ForceBinding.NONE
        ),
        Action.READ_AUDIT: Rule(frozenset({Scope.AUDIT_READ}), ForceBinding.OWN_FORCE),
        Action.READ_FEDERATION_PARTIALS: Rule(
            frozenset({Scope.FEDERATION_READ}), ForceBinding.NONE
        ),
    }
)


class DenyReason(StrEnum):
    INSUFFICIENT_SCOPE = "insufficient_scope"
    WRONG_FORCE = "wrong_force"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of ``authorize``; ``missing_scopes`` is set for insufficient_scope."""

    allowed: bool
    reason: DenyReason | None = None
    missing_scopes: frozenset[Scope] = field(default_factory=frozenset)


ALLOW: Final = Decision(allowed=True)


def authorize(principal: Principal, action: Action, force: str | None = None) -> Decision:
    """May ``principal`` perform ``action`` on ``force``'s data (``None``: all forces)?

    Scopes are checked before the force so that a client without the scope learns only
    that it lacks the scope, not whether the force would have matched.
    """
    rule = POLICY[action]
    missing = rule.scopes - principal.scopes
    if missing:
        return Decision(False, DenyReason.INSUFFICIENT_SCOPE, frozenset(missing))
    if rule.force is ForceBinding.NONE:
        return ALLOW
    if principal.force is None:
        if rule.force is ForceBinding.OWN_FORCE_ONLY:
            return Decision(False, DenyReason.WRONG_FORCE)
        return ALLOW
    if force is None or force != principal.force:
        return Decision(False, DenyReason.WRONG_FORCE)
    return ALLOW


def sees_exact(principal: Principal, force: str | None) -> bool:
    """Does ``principal`` see ``force``'s indicators unrounded and unsuppressed?

    A force-bound client always sees its own force exactly (it holds those records
    anyway). Anyone holding both ``indicators:read`` and ``indicators:exact`` sees every
    force exactly. Everyone else gets disclosure-controlled values. ``force=None`` means
    a national aggregate, which only the exact scopes unlock.
    """
    if principal.force is not None and force == principal.force:
        return True
    return principal.has_scopes(Scope.INDICATORS_READ, Scope.INDICATORS_EXACT)
