"""Alert evaluation as the server does it, for tests of the default rules: the workers' samples
are flushed from the runtime's shared metrics writer into the store, then one evaluation cycle
of every configured and default rule runs over the store."""

from __future__ import annotations

from opsbook.alerts import queries
from opsbook.alerts.rules import load_rules
from opsbook.alerts.worker import Evaluator
from opsbook.metrics.worker import shared_writer
from opsbook.runtime import Runtime


def evaluate_alerts(runtime: Runtime) -> dict[str, str]:
    """Flush the metrics, run one evaluation cycle; returns {rule: state} of open alerts."""
    assert shared_writer(runtime).flush()
    evaluator = Evaluator(
        runtime.db,
        runtime.clock,
        load_rules(runtime.config),
        node_id=runtime.node_id,
        leadership=runtime.leadership,
    )
    evaluator.cycle()
    with runtime.db.read() as session:
        return {alert.rule: alert.state for alert in queries.current(session)}
