"""Three real nodes (`opsbook watch` processes) on the real PostgreSQL: checks shared without a
run twice or an interval missed, a node killed, the leader paused and killed, and PostgreSQL
restarted under them. Each test polls with deadlines; none sleeps and hopes."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsbook.storage import Database
from opsbook.storage.migrate import upgrade
from tests.cluster.harness import (
    Cluster,
    CountingTarget,
    checks_config,
    claim_seqs,
    gaps,
    runs_without_a_claim,
    wait_for,
)
from tests.notify.receivers import WebhookReceiver
from tests.services import scratch_postgres

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

NODES = ("node-1", "node-2", "node-3")


@pytest.fixture
def target() -> Iterator[CountingTarget]:
    server = CountingTarget()
    yield server
    server.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.down()


@pytest.fixture
def store() -> Iterator[str]:
    with scratch_postgres("opsbook_cluster") as url:
        db = Database(url)
        upgrade(db)
        db.dispose()
        yield url


def make_cluster(tmp_path: Path, url: str, settings: dict[str, Any]) -> Cluster:
    config = tmp_path / "opsbook.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), **settings}))
    return Cluster(url, config, tmp_path)


@pytest.fixture
def cluster_factory(tmp_path: Path, store: str) -> Iterator[Any]:
    made: list[Cluster] = []

    def make(settings: dict[str, Any]) -> Cluster:
        made.append(make_cluster(tmp_path, store, settings))
        return made[-1]

    yield make
    for cluster in made:
        cluster.stop()


def all_ran(target: CountingTarget, names: list[str], since: float, times: int = 1) -> bool:
    calls = target.snapshot()
    return all(sum(t > since for t in calls.get(n, [])) >= times for n in names)


def test_three_nodes_share_300_checks_and_take_over_a_killed_nodes_within_15_s(
    cluster_factory: Any, target: CountingTarget
) -> None:
    interval = 5.0
    checks = checks_config(target, 300, interval)
    names = [c["name"] for c in checks]
    cluster: Cluster = cluster_factory({"checks": checks})
    cluster.start(*NODES)
    wait_for(lambda: cluster.live_nodes() == set(NODES), 60, "three live nodes", cluster)
    warm = time.monotonic()
    wait_for(lambda: all_ran(target, names, warm, times=2), 60, "every check twice", cluster)

    start, seqs = time.monotonic(), claim_seqs(cluster)
    wait_for(lambda: time.monotonic() > start + 4 * interval, 30, "four intervals")
    end = time.monotonic()
    assert runs_without_a_claim(target, seqs, claim_seqs(cluster), start, end) == {}
    calls = target.snapshot()
    spacing = [g for n in names for g in gaps(calls[n], start, end)]
    assert len(spacing) >= 300 * 3
    assert min(spacing) > interval * 0.7, "a check ran twice within one interval"
    assert max(spacing) < interval * 1.3, "a check missed an interval"
    per_node = {
        str(n): int(c)
        for n, c in cluster.query(
            "SELECT last_node, count(*) FROM check_state WHERE active GROUP BY last_node"
        )
    }
    assert set(per_node) == set(NODES), per_node  # shared out, not all on one node

    victim = max(per_node, key=lambda n: per_node[n])
    killed, seqs = time.monotonic(), claim_seqs(cluster)
    cluster.nodes[victim].kill()
    taken = wait_for(
        lambda: all_ran(target, names, killed) and time.monotonic(), 15, "every check again"
    )
    assert taken - killed < 15.0
    wait_for(lambda: victim not in cluster.live_nodes(), 15, f"{victim} dead to the others")
    settled = time.monotonic() + interval  # runs claimed late at the takeover are behind us
    wait_for(lambda: time.monotonic() > settled + 3 * interval, 30, "three intervals")
    end = time.monotonic()
    assert runs_without_a_claim(target, seqs, claim_seqs(cluster), killed, end) == {}
    calls = target.snapshot()
    after = [g for n in names for g in gaps(calls[n], settled, end)]
    assert min(after) > interval * 0.7, "a check ran twice after the takeover"
    assert max(after) < interval * 1.3, "a check missed an interval after the takeover"
    owners = {str(n) for (n,) in cluster.query("SELECT DISTINCT last_node FROM check_state")}
    assert owners == set(NODES) - {victim}


def alerting(target: CountingTarget, receiver: WebhookReceiver, checks: int = 30) -> dict[str, Any]:
    """A flaky check, a rule on it and a webhook channel, plus `checks` quiet ones."""
    return {
        "checks": [
            {"name": "flaky", "type": "http", "url": f"{target.url}/flaky", "interval": "1s"},
            *checks_config(target, checks, 2.0),
        ],
        "channels": {"oncall": [f"json://{receiver.base}/hook"]},
        "alerting": {"interval": "1s", "group_interval": "1s"},
        "alerts": [
            {
                "name": "flaky_down",
                "expr": 'check_up{check="flaky"} < 1',
                "severity": "critical",
                "channels": ["oncall"],
            }
        ],
    }


def titles(receiver: WebhookReceiver) -> list[str]:
    return [str(body["title"]).split("]")[0] + "]" for body in receiver.bodies()]


def sent(cluster: Cluster, event: str) -> bool:
    return any(e == event and s == "sent" for _, e, s in cluster.outbox())


def test_a_failing_target_pages_once_and_resolves_once_though_the_leader_is_killed_between(
    cluster_factory: Any, target: CountingTarget, receiver: WebhookReceiver
) -> None:
    cluster: Cluster = cluster_factory(alerting(target, receiver))
    cluster.start(*NODES)
    wait_for(lambda: cluster.live_nodes() == set(NODES), 60, "three live nodes", cluster)
    target.failing = True
    wait_for(lambda: sent(cluster, "trigger"), 60, "the page recorded as sent", cluster)
    leader = wait_for(cluster.leader, 15, "a leader", cluster)
    cluster.nodes[leader].kill()
    target.failing = False

    wait_for(lambda: sent(cluster, "resolve"), 60, "the resolve recorded as sent", cluster)
    new_leader = wait_for(cluster.leader, 15, "a new leader", cluster)
    assert new_leader != leader
    quiet = time.monotonic()  # five more evaluation cycles: nothing else may arrive
    wait_for(lambda: time.monotonic() > quiet + 5, 10, "five seconds")
    assert titles(receiver) == ["[FIRING:CRITICAL]", "[RESOLVED]"], receiver.bodies()
    assert sorted(e for _, e, _ in cluster.outbox()) == ["resolve", "trigger"]


def test_a_leader_paused_for_30_s_is_replaced_within_15_s_and_sends_nothing_twice(
    cluster_factory: Any, target: CountingTarget, receiver: WebhookReceiver
) -> None:
    settings = alerting(target, receiver)
    names = [c["name"] for c in settings["checks"][1:]]
    cluster: Cluster = cluster_factory(settings)
    cluster.start(*NODES)
    wait_for(lambda: cluster.live_nodes() == set(NODES), 60, "three live nodes", cluster)
    target.failing = True
    wait_for(lambda: sent(cluster, "trigger"), 60, "the page recorded as sent", cluster)
    paused = wait_for(cluster.leader, 15, "a leader", cluster)
    stopped, seqs = time.monotonic(), claim_seqs(cluster)
    cluster.nodes[paused].signal(signal.SIGSTOP)

    other = wait_for(
        lambda: (leader := cluster.leader()) not in (None, paused) and leader, 20, "a new leader"
    )
    assert time.monotonic() - stopped < 15.0 and other != paused
    target.failing = False
    # The paused node's claims and open transaction are freed only when its lease lapses, so on
    # a busy machine the resolve can take most of the pause.
    wait_for(lambda: sent(cluster, "resolve"), 45, "the resolve recorded as sent", cluster)
    wait_for(lambda: time.monotonic() > stopped + 30, 30, "30 s of pause")
    cluster.nodes[paused].signal(signal.SIGCONT)
    resumed = time.monotonic()
    wait_for(lambda: paused in cluster.live_nodes(), 15, f"{paused} back", cluster)
    wait_for(lambda: time.monotonic() > resumed + 6, 10, "six seconds after the pause")

    end = time.monotonic()
    assert titles(receiver) == ["[FIRING:CRITICAL]", "[RESOLVED]"], receiver.bodies()
    assert sorted(e for _, e, _ in cluster.outbox()) == ["resolve", "trigger"]
    # What the paused node had claimed before its pause, it did not run after it.
    assert runs_without_a_claim(target, seqs, claim_seqs(cluster), stopped, end) == {}
    assert all_ran(target, names, resumed + 1, times=2)


def restart_postgres() -> None:
    """Restart the machine's PostgreSQL (every connection is cut) and wait until it is up."""
    if shutil.which("pg_ctlcluster") is None:
        pytest.skip("pg_ctlcluster is not installed")
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"],
        check=True,
        timeout=120,
        capture_output=True,
    )


def test_the_nodes_reconnect_by_themselves_after_postgresql_restarts_and_double_nothing(
    cluster_factory: Any, target: CountingTarget, receiver: WebhookReceiver
) -> None:
    settings = alerting(target, receiver, checks=60)
    names = [c["name"] for c in settings["checks"][1:]]
    cluster: Cluster = cluster_factory(settings)
    cluster.start(*NODES)
    wait_for(lambda: cluster.live_nodes() == set(NODES), 60, "three live nodes", cluster)
    target.failing = True
    wait_for(lambda: sent(cluster, "trigger"), 60, "the page recorded as sent", cluster)

    before, seqs = time.monotonic(), claim_seqs(cluster)
    restart_postgres()
    restarted = time.monotonic()
    wait_for(lambda: cluster.query("SELECT 1"), 60, "PostgreSQL back")
    wait_for(lambda: cluster.live_nodes() == set(NODES), 30, "three nodes beating again", cluster)
    wait_for(lambda: all_ran(target, names, restarted, times=2), 40, "every check again", cluster)
    steady = time.monotonic()  # runs claimed late after the restart are behind us
    wait_for(cluster.leader, 15, "a leader", cluster)
    target.failing = False
    wait_for(lambda: sent(cluster, "resolve"), 40, "the resolve recorded as sent", cluster)
    settled = time.monotonic()
    wait_for(lambda: time.monotonic() > settled + 6, 10, "three more intervals")
    end = time.monotonic()

    assert titles(receiver) == ["[FIRING:CRITICAL]", "[RESOLVED]"], receiver.bodies()
    assert sorted(e for _, e, _ in cluster.outbox()) == ["resolve", "trigger"]
    assert runs_without_a_claim(target, seqs, claim_seqs(cluster), before, end) == {}
    calls = target.snapshot()
    spacing = [g for n in names for g in gaps(calls[n], steady, end)]
    assert min(spacing) > 2.0 * 0.7 and max(spacing) < 2.0 * 1.3
    for node in cluster.nodes.values():
        assert node.process.poll() is None, node.output()[-3000:]
