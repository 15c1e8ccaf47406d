"""Several replicas, one truth: two real gateway processes on one PostgreSQL database.

Everything that must be shared lives in PostgreSQL, so whichever replica a request lands on
gives the same answer: an idempotency key is stored once, a token issued by one verifies on
the other (also across a key rotation made while both run), the audit chain stays one valid
chain, a receipt on one is in the figures of the other at once, and a rate limit is one
limit, not one per process. Every request goes through HTTP with real tokens.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select, text

from adapters.store.engine import make_engine
from adapters.store.models import Submission, records
from gateway.audit.models import EVENTS
from tests.api.test_push_path import csv_body, row
from tests.conftest import DATABASE_KIND
from tests.replicas.conftest import BURST, RATE_PER_SECOND, SQLITE_REASON
from tests.replicas.replica_kit import Deployment, Replica

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(DATABASE_KIND != "postgresql", reason=SQLITE_REASON),
]

PURPOSE = {"Soteria-Purpose": "performance-monitoring"}
FIGURES = """
query Figures($forces: [ID!]) {
  indicatorTable(indicators: ["recorded_offences"], forces: $forces, granularity: MONTH,
                 from: "2024-05-01", to: "2024-06-01") {
    cells { indicator force group period { label } value exact suppressed }
    coverage { included }
  }
}
"""


@pytest.fixture
def db(deployment: Deployment) -> Iterator[Engine]:
    engine = make_engine(deployment.database_url)
    yield engine
    engine.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def push(
    replica: Replica,
    token: str,
    force: str,
    key: str,
    body: bytes,
    http: httpx.Client | None = None,
) -> httpx.Response:
    headers = bearer(token) | {"Idempotency-Key": key, "Content-Type": "text/csv"}
    if http is not None:
        return http.post(f"/v1/forces/{force}/submissions", content=body, headers=headers)
    with replica.http() as client:
        return client.post(f"/v1/forces/{force}/submissions", content=body, headers=headers)


def figures(replica: Replica, token: str, force: str) -> list[dict[str, Any]]:
    with replica.http() as http:
        response = http.post(
            "/graphql",
            json={"query": FIGURES, "variables": {"forces": [force]}},
            headers=bearer(token) | PURPOSE | {"Accept": "application/json"},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    cells: list[dict[str, Any]] = body["data"]["indicatorTable"]["cells"]
    return cells


def recorded(cells: list[dict[str, Any]], force: str) -> int:
    (cell,) = [c for c in cells if c["force"] == force and c["period"]["label"] == "2024-05"]
    assert cell["exact"] is True, cell
    assert not cell["suppressed"], cell
    return int(cell["value"] or 0)


def kid_of(token: str) -> str:
    header = token.split(".", 1)[0]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
    )
    return str(decoded["kid"])


def me(replica: Replica, token: str) -> httpx.Response:
    with replica.http() as http:
        return http.post(
            "/graphql",
            json={"query": "{ me { clientId } }"},
            headers=bearer(token) | {"Accept": "application/json"},
        )


def race(
    replicas: list[Replica], token: str, force: str, key: str, body: bytes
) -> list[httpx.Response]:
    """The same push sent to every replica at the same moment; their responses."""
    barrier = threading.Barrier(len(replicas))
    responses: dict[str, httpx.Response] = {}
    # Connections are opened first, so the requests leave together from the barrier.
    clients = {r.name: r.http() for r in replicas}
    try:
        for client in clients.values():
            assert client.get("/healthz").status_code == 200

        def send(replica: Replica) -> None:
            barrier.wait()
            http = clients[replica.name]
            responses[replica.name] = push(replica, token, force, key, body, http=http)

        threads = [threading.Thread(target=send, args=(r,)) for r in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for client in clients.values():
            client.close()
    return [responses[r.name] for r in replicas]


def test_one_idempotency_key_pushed_to_both_at_once_is_stored_once(
    deployment: Deployment, db: Engine
) -> None:
    a, b = deployment.replicas
    pusher = deployment.client("records:write submissions:read", force="kent")
    token = pusher.token(a)
    rows_per_push, rounds = 400, 3
    for number in range(rounds):
        body = csv_body(*(row(f"R{number}X{i}") for i in range(rows_per_push)))
        responses = race([a, b], token, "kent", f"race-{number}", body)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 201], [r.text for r in responses]
        replay = next(r for r in responses if r.status_code == 200)
        assert replay.headers["idempotent-replayed"] == "true"
        first, second = (r.json() for r in responses)
        assert first == second  # the replay is the original receipt, whichever replica
        assert first["inserted"] == rows_per_push
    with db.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Submission)) == rounds
        assert conn.scalar(select(func.count()).select_from(records)) == rounds * rows_per_push
        version = conn.execute(text("SELECT data_version FROM forces WHERE code = 'kent'"))
        assert version.scalar() == rounds
    # Counted once in the figures too, on either replica.
    analyst = deployment.client("indicators:read indicators:exact")
    for replica in (a, b):
        assert recorded(figures(replica, analyst.token(replica), "kent"), "kent") == (
            rounds * rows_per_push
        )


def test_a_receipt_on_one_replica_is_in_the_figures_of_the_other_at_once(
    deployment: Deployment,
) -> None:
    a, b = deployment.replicas
    force = "essex"
    pusher = deployment.client("records:write", force=force)
    analyst = deployment.client("indicators:read indicators:exact")
    push_token, read_token = pusher.token(a), analyst.token(b)
    # A force with no data for a period has no figure (null, not 0): start from one.
    seed = push(a, push_token, force, "figures-seed", csv_body(*(row(f"FS{i}") for i in range(5))))
    assert seed.status_code == 201, seed.text
    expected = 5
    for number, (writer, reader) in enumerate([(a, b), (b, a), (a, b), (b, a)]):
        # The reader has the current figure cached before the write...
        assert recorded(figures(reader, read_token, force), force) == expected
        added = 3 + number
        body = csv_body(*(row(f"F{number}X{i}") for i in range(added)))
        response = push(writer, push_token, force, f"figures-{number}", body)
        assert response.status_code == 201, response.text
        expected += added
        # ...and gives the new one in the very next request: the data version moved.
        after = figures(reader, read_token, force)
        assert recorded(after, force) == expected
        assert figures(writer, read_token, force) == after


def test_tokens_verify_on_the_other_replica_also_across_a_key_rotation(
    deployment: Deployment,
) -> None:
    a, b = deployment.replicas
    client = deployment.client("indicators:read")
    old = client.token(a)
    assert me(b, old).json()["data"]["me"]["clientId"] == client.client_id
    rotated = deployment.cli("keys", "rotate")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    new_kid = rotated.stdout.split()[3]
    assert new_kid != kid_of(old)
    # Both replicas sign with the new key at once, and each verifies the other's new
    # tokens without a restart; the old token still verifies everywhere until it expires.
    from_b, from_a = client.token(b), client.token(a)
    assert kid_of(from_b) == kid_of(from_a) == new_kid
    for token, replica in ((from_b, a), (from_a, b), (old, a), (old, b)):
        response = me(replica, token)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["me"]["clientId"] == client.client_id
    for replica in (a, b):
        with replica.http() as http:
            kids = {key["kid"] for key in http.get("/oauth/jwks").json()["keys"]}
        assert {kid_of(old), new_kid} <= kids
    # A token that is not ours is refused by both, whatever its kid.
    forged = from_a[:-4] + ("AAAA" if not from_a.endswith("AAAA") else "BBBB")
    for replica in (a, b):
        assert me(replica, forged).status_code == 401


def test_the_audit_chain_stays_one_valid_chain_under_writes_from_both(
    deployment: Deployment, db: Engine
) -> None:
    a, b = deployment.replicas
    force = "surrey"
    # One client of each kind per replica, each token from the replica it is used on.
    pushers = {r.name: deployment.client("records:write", force=force).token(r) for r in (a, b)}
    analysts = {r.name: deployment.client("indicators:read").token(r) for r in (a, b)}
    jobs: list[tuple[Replica, str, Any]] = []
    for n in range(8):
        replica = (a, b)[n % 2]
        body = csv_body(*(row(f"AU{n}X{i}") for i in range(20)))
        jobs.append((replica, "push", (pushers[replica.name], f"audit-{n}", body)))
    for n in range(16):
        replica = (a, b)[n % 2]
        jobs.append((replica, "query", analysts[replica.name]))
    jobs.extend(((a, b)[n % 2], "denied", "not-a-token") for n in range(6))

    def run(job: tuple[Replica, str, Any]) -> httpx.Response:
        replica, kind, payload = job
        if kind == "push":
            token, key, body = payload
            return push(replica, token, force, key, body)
        if kind == "query":
            return figures_response(replica, payload, force)
        return me(replica, payload)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(run, jobs))
    expected = {"push": 201, "query": 200, "denied": 401}
    assert [r.status_code for r in responses] == [expected[kind] for _, kind, _ in jobs]
    request_ids = [r.headers["x-request-id"] for r in responses]
    # Every one of those requests is in the trail exactly once, whichever replica served it.
    with db.connect() as conn:
        found = Counter(
            conn.scalars(
                select(EVENTS.c.request_id).where(EVENTS.c.request_id.in_(request_ids))
            ).all()
        )
        seqs = conn.scalars(select(EVENTS.c.seq).order_by(EVENTS.c.seq)).all()
    assert found == Counter(request_ids)
    assert seqs == list(range(1, len(seqs) + 1))  # gap-free, one sequence for both
    verified = deployment.cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "BROKEN" not in verified.stdout
    assert f"checked {len(seqs)} events" in verified.stdout, verified.stdout
    checkpoints = int(verified.stdout.split(" checkpoints")[0].rsplit(" ", 1)[1])
    assert checkpoints >= 1, verified.stdout  # signed by both replicas' shared key


def figures_response(replica: Replica, token: str, force: str) -> httpx.Response:
    with replica.http() as http:
        return http.post(
            "/graphql",
            json={"query": FIGURES, "variables": {"forces": [force]}},
            headers=bearer(token) | PURPOSE | {"Accept": "application/json"},
        )


def test_a_rate_limit_holds_across_replicas(deployment: Deployment) -> None:
    a, b = deployment.replicas
    reader = deployment.client("submissions:read", force="kent")
    token = reader.token(a)
    attempts = 2 * BURST  # a limit per process would let every one of them through
    clients = {r.name: r.http() for r in (a, b)}

    def hit(n: int) -> tuple[str, httpx.Response]:
        replica = (a, b)[n % 2]
        response = clients[replica.name].get(
            "/v1/forces/kent/submissions", params={"limit": 1}, headers=bearer(token)
        )
        return replica.name, response

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(hit, range(attempts)))
    finally:
        for client in clients.values():
            client.close()
    elapsed = time.monotonic() - started
    statuses = Counter(response.status_code for _, response in results)
    assert set(statuses) <= {200, 429}, statuses
    allowed = statuses[200]
    # The one shared bucket: its burst, plus what refilled while the requests ran.
    assert BURST <= allowed <= BURST + int(RATE_PER_SECOND * elapsed) + 1, (statuses, elapsed)
    refused_by = {name for name, response in results if response.status_code == 429}
    assert refused_by == {a.name, b.name}  # neither replica has a bucket of its own
    refusal = next(response for _, response in results if response.status_code == 429)
    assert int(refusal.headers["retry-after"]) >= 1
