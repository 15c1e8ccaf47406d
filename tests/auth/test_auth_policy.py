"""The policy table, checked as a table and through HTTP for every action.

Tests read ``POLICY`` itself, so adding an action without a route, or changing a rule,
changes what is tested here.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth.policy import POLICY, Action, Decision, DenyReason, ForceBinding, authorize, sees_exact
from auth.principal import Principal
from auth.scopes import Scope
from tests.auth.auth_testkit import ACTION_ROUTES, FORCE_A, FORCE_B, SECRET_DATA, Harness


def principal(scopes: frozenset[Scope], force: str | None = None) -> Principal:
    return Principal(
        subject="s",
        client_id="c",
        force=force,
        scopes=scopes,
        issuer="https://soteria.test",
        token_id="j",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )


def test_the_policy_table_is_exactly_this() -> None:
    table = {action: (set(rule.scopes), rule.force) for action, rule in POLICY.items()}
    assert table == {
        Action.PUSH_SUBMISSION: ({Scope.RECORDS_WRITE}, ForceBinding.OWN_FORCE_ONLY),
        Action.READ_SUBMISSION: ({Scope.SUBMISSIONS_READ}, ForceBinding.OWN_FORCE),
        Action.READ_INDICATORS: ({Scope.INDICATORS_READ}, ForceBinding.NONE),
        Action.READ_INDICATORS_EXACT: (
            {Scope.INDICATORS_READ, Scope.INDICATORS_EXACT},
            ForceBinding.NONE,
        ),
        Action.READ_AUDIT: ({Scope.AUDIT_READ}, ForceBinding.OWN_FORCE),
        Action.READ_FEDERATION_PARTIALS: ({Scope.FEDERATION_READ}, ForceBinding.NONE),
    }
    assert set(POLICY) == set(Action)
    assert set(ACTION_ROUTES) == set(Action)


@pytest.mark.parametrize("action", list(Action))
def test_each_required_scope_is_necessary(action: Action) -> None:
    rule = POLICY[action]
    force = FORCE_A
    assert authorize(principal(rule.scopes, force), action, force).allowed
    for scope in rule.scopes:
        decision = authorize(principal(rule.scopes - {scope}, force), action, force)
        assert decision == Decision(False, DenyReason.INSUFFICIENT_SCOPE, frozenset({scope}))


@pytest.mark.parametrize("action", [a for a in Action if POLICY[a].force_bound])
def test_a_force_client_acts_only_for_its_own_force(action: Action) -> None:
    own = principal(POLICY[action].scopes, FORCE_A)
    assert authorize(own, action, FORCE_A).allowed
    assert authorize(own, action, FORCE_B).reason is DenyReason.WRONG_FORCE
    assert authorize(own, action, None).reason is DenyReason.WRONG_FORCE


def test_a_national_client_reads_any_force_or_all_but_pushes_for_none() -> None:
    national = principal(frozenset(Scope))
    assert authorize(national, Action.READ_SUBMISSION, FORCE_B).allowed
    assert authorize(national, Action.READ_SUBMISSION, None).allowed
    assert authorize(national, Action.READ_AUDIT, None).allowed
    assert authorize(national, Action.PUSH_SUBMISSION, FORCE_A).reason is DenyReason.WRONG_FORCE


def test_scope_is_checked_before_force() -> None:
    decision = authorize(principal(frozenset(), FORCE_A), Action.PUSH_SUBMISSION, FORCE_B)
    assert decision.reason is DenyReason.INSUFFICIENT_SCOPE
    assert decision.missing_scopes == {Scope.RECORDS_WRITE}


@pytest.mark.parametrize(
    ("scopes", "force", "target", "exact"),
    [
        ({Scope.INDICATORS_READ}, FORCE_A, FORCE_A, True),
        ({Scope.INDICATORS_READ}, FORCE_A, FORCE_B, False),
        ({Scope.INDICATORS_READ}, FORCE_A, None, False),
        ({Scope.INDICATORS_READ}, None, FORCE_A, False),
        ({Scope.INDICATORS_EXACT}, None, FORCE_A, False),
        ({Scope.INDICATORS_READ, Scope.INDICATORS_EXACT}, None, FORCE_A, True),
        ({Scope.INDICATORS_READ, Scope.INDICATORS_EXACT}, None, None, True),
        ({Scope.INDICATORS_READ, Scope.INDICATORS_EXACT}, FORCE_A, FORCE_B, True),
    ],
)
def test_who_sees_exact_values(
    scopes: set[Scope], force: str | None, target: str | None, exact: bool
) -> None:
    assert sees_exact(principal(frozenset(scopes), force), target) is exact


@given(
    scopes=st.frozensets(st.sampled_from(list(Scope))),
    action=st.sampled_from(list(Action)),
    own=st.sampled_from([FORCE_A, FORCE_B, "cheshire"]),
    target=st.one_of(st.none(), st.sampled_from([FORCE_A, FORCE_B, "cheshire"])),
)
def test_a_force_client_is_never_allowed_another_forces_data(
    scopes: frozenset[Scope], action: Action, own: str, target: str | None
) -> None:
    decision = authorize(principal(scopes, own), action, target)
    if decision.allowed and POLICY[action].force_bound:
        assert target == own
    if decision.allowed:
        assert POLICY[action].scopes <= scopes


# --- the same matrix through HTTP ----------------------------------------------------


@pytest.mark.parametrize("action", list(Action))
def test_http_matrix_for_every_action(action: Action, harness: Harness) -> None:
    rule = POLICY[action]
    scopes = [scope.value for scope in rule.scopes]
    needs_force = rule.force is ForceBinding.OWN_FORCE_ONLY
    right = harness.token(scopes, FORCE_A if needs_force else None)
    force_bound = harness.token(scopes, FORCE_A) if rule.force_bound else None
    no_scope = harness.token(
        ["federation:read" if action is not Action.READ_FEDERATION_PARTIALS else "audit:read"]
    )

    anonymous = harness.call(action, None)
    missing_scope = harness.call(action, no_scope)
    allowed = harness.call(action, right)

    assert anonymous.status_code == 401
    assert missing_scope.status_code == 403
    assert missing_scope.json()["code"] == "insufficient_scope"
    assert allowed.status_code == 200
    assert allowed.json()["data"] == SECRET_DATA
    for denied in (anonymous, missing_scope):
        assert SECRET_DATA not in denied.text
    if force_bound is not None:
        wrong_force = harness.call(action, force_bound, force=FORCE_B)
        assert wrong_force.status_code == 403
        assert wrong_force.json()["code"] == "wrong_force"
        assert SECRET_DATA not in wrong_force.text
        assert harness.call(action, force_bound, force=FORCE_A).status_code == 200
    expected_pushes = (
        [FORCE_A] * (1 + (force_bound is not None)) if action is Action.PUSH_SUBMISSION else []
    )
    assert harness.pushes == expected_pushes


def test_a_national_reader_lists_all_forces(harness: Harness) -> None:
    token = harness.token(["submissions:read"])
    force_token = harness.token(["submissions:read"], FORCE_A)
    headers = {"Authorization": f"Bearer {token}"}
    assert harness.http.get("/api/submissions", headers=headers).status_code == 200
    force_headers = {"Authorization": f"Bearer {force_token}"}
    assert harness.http.get("/api/submissions", headers=force_headers).status_code == 403


def test_insufficient_scope_names_every_scope_the_action_needs(harness: Harness) -> None:
    token = harness.token(["indicators:read"])
    response = harness.call(Action.READ_INDICATORS_EXACT, token)
    assert response.status_code == 403
    assert response.headers["www-authenticate"].endswith('scope="indicators:exact indicators:read"')
