"""`prometheus`: scrape a /metrics endpoint and keep the series named in `keep`."""

from __future__ import annotations

from opsbook.checks.context import ProbeContext
from opsbook.checks.kinds.command import add_prometheus_text
from opsbook.checks.model import Observation
from opsbook.config.checks import PrometheusCheck

ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"


async def probe(spec: PrometheusCheck, ctx: ProbeContext, obs: Observation) -> None:
    session = ctx.http_session(spec.verify, spec.ca_file)
    async with session.get(spec.url, headers={"Accept": ACCEPT, **spec.headers}) as response:
        status = response.status
        text = await response.text(errors="replace")
    if status != 200:
        obs.fail(f"HTTP {status} from the metrics endpoint")
        return
    try:
        scraped = add_prometheus_text(text, obs, keep=spec.keep)
    except ValueError as exc:
        obs.fail(f"not Prometheus text: {exc}")
        return
    obs.add("scrape_samples_scraped", scraped)
    if not any(m.name != "scrape_samples_scraped" for m in obs.measurements):
        obs.warn(f"none of {', '.join(spec.keep)} found in {scraped} samples")
