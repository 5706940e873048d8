"""Each transport against a real local receiver (PagerDuty's API is stood in for at HTTP level)."""

from __future__ import annotations

import asyncio
import json
import logging
from email import message_from_bytes
from typing import Any

import pytest

from opsbook.notify.destinations import ChannelSet
from opsbook.notify.model import Event, Message, Outcome
from opsbook.notify.transports import Sender
from opsbook.notify.transports.pagerduty import pagerduty_severity
from tests.notify.conftest import make_channels
from tests.notify.receivers import Answer, Received, SmtpSink, WebhookReceiver

PD_ACCEPTED = json.dumps({"status": "success", "message": "Event processed", "dedup_key": "k"})


def _message(event: Event = Event.TRIGGER, **fields: Any) -> Message:
    defaults: dict[str, Any] = {
        "id": 1,
        "channel": "ops",
        "key": "alert:api:errors",
        "event": event,
        "title": "[FIRING:CRITICAL] Error rate above 5%",
        "body": "5.3% of requests failed",
        "severity": "critical",
        "url": "https://runbooks.example/api.md#errors",
        "data": {"labels": {"service": "api"}},
    }
    return Message(**(defaults | fields))


def _send(channels: ChannelSet, message: Message, channel: str = "ops") -> Outcome:
    found = channels.get(channel)

    async def go() -> Outcome:
        async with Sender() as sender:
            return await sender.send(found.destinations[0], message, found.settings)

    return asyncio.run(go())


def _pagerduty(receiver: WebhookReceiver) -> ChannelSet:
    receiver.answer = Answer(202, PD_ACCEPTED, {"Content-Type": "application/json"})
    return make_channels(
        {
            "ops": {
                "urls": ["pagerduty://R0UTINGKEY123/db-primary?component=postgres"],
                "pagerduty_url": f"http://{receiver.base}/v2/enqueue",
            }
        }
    )


def test_a_pagerduty_trigger_carries_the_dedup_key_summary_and_runbook_link(
    receiver: WebhookReceiver,
) -> None:
    outcome = _send(_pagerduty(receiver), _message())
    assert outcome.ok and outcome.details["dedup_key"] == "k"
    [request] = receiver.received
    assert request.path == "/v2/enqueue"
    assert request.json == {
        "routing_key": "R0UTINGKEY123",
        "event_action": "trigger",
        "dedup_key": "alert:api:errors",
        "payload": {
            "summary": "[FIRING:CRITICAL] Error rate above 5%",
            "source": "db-primary",
            "severity": "critical",
            "component": "postgres",
            "custom_details": {
                "body": "5.3% of requests failed",
                "event": "trigger",
                "service": "api",
            },
        },
        "client": "opsbook",
        "links": [{"href": "https://runbooks.example/api.md#errors", "text": "Runbook"}],
    }


def test_a_pagerduty_resolve_names_only_the_dedup_key(receiver: WebhookReceiver) -> None:
    assert _send(_pagerduty(receiver), _message(Event.RESOLVE)).ok
    assert receiver.received[0].json == {
        "routing_key": "R0UTINGKEY123",
        "event_action": "resolve",
        "dedup_key": "alert:api:errors",
    }


def test_a_pagerduty_test_triggers_then_resolves(receiver: WebhookReceiver) -> None:
    outcome = _send(_pagerduty(receiver), _message(Event.TEST, severity=""))
    assert outcome.ok
    actions = [
        (r.json["event_action"], r.json.get("payload", {}).get("severity"))
        for r in receiver.received
    ]
    assert actions == [("trigger", "info"), ("resolve", None)]


def test_a_pagerduty_400_is_permanent_and_a_429_is_retried_when_it_says(
    receiver: WebhookReceiver,
) -> None:
    channels = _pagerduty(receiver)
    receiver.refuse(400, '{"status":"invalid event","errors":["routing_key is invalid"]}')
    rejected = _send(channels, _message())
    assert (rejected.ok, rejected.retryable) == (False, False)
    assert "routing_key is invalid" in rejected.answer
    receiver.refuse(429, "rate limited", **{"Retry-After": "30"})
    throttled = _send(channels, _message())
    assert (throttled.retryable, throttled.retry_after) == (True, 30.0)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("critical", "critical"),
        ("P1", "critical"),
        ("High", "error"),
        ("warning", "warning"),
        ("P3", "warning"),
        ("low", "info"),
        ("whatever", "error"),
    ],
)
def test_severities_map_to_pagerdutys_four(written: str, expected: str) -> None:
    assert pagerduty_severity(written) == expected


def test_a_slack_webhook_gets_a_slack_compatible_payload(receiver: WebhookReceiver) -> None:
    channels = make_channels({"ops": [f"slack+http://{receiver.base}/hooks/abc"]})
    assert _send(channels, _message()).ok
    [request] = receiver.received
    body = request.json
    assert request.headers["Content-Type"] == "application/json"
    assert body["text"] == "[FIRING:CRITICAL] Error rate above 5%"
    [attachment] = body["attachments"]
    assert attachment["color"] == "#d00000"
    assert attachment["title_link"] == "https://runbooks.example/api.md#errors"
    assert {"title": "service", "value": "api", "short": True} in attachment["fields"]
    _send(channels, _message(Event.RESOLVE))
    assert receiver.received[1].json["attachments"][0]["color"] == "#2eb886"


def test_an_apprise_destination_reports_the_receivers_refusal(receiver: WebhookReceiver) -> None:
    channels = make_channels({"ops": [f"json://{receiver.base}/hook?retry=5"]})
    receiver.refuse(503, "overloaded")
    outcome = _send(channels, _message())
    assert not outcome.ok and outcome.retryable
    assert "503" in outcome.answer
    assert len(receiver.refused) == 1  # Apprise's own retries are off, whatever the URL says


def test_an_apprise_destination_delivers_title_and_body(receiver: WebhookReceiver) -> None:
    channels = make_channels({"ops": [f"json://{receiver.base}/hook"]})
    assert _send(channels, _message()).ok
    body = receiver.received[0].json
    assert (body["title"], body["message"], body["type"]) == (
        "[FIRING:CRITICAL] Error rate above 5%",
        "5.3% of requests failed",
        "failure",
    )


def test_email_reaches_an_smtp_server(smtp_sink: SmtpSink) -> None:
    url = (
        f"mailto://127.0.0.1:{smtp_sink.port}?from=opsbook@example.com"
        "&to=oncall@example.com&mode=insecure"
    )
    assert _send(make_channels({"email": [url]}), _message(), "email").ok
    [(sender, recipients, content)] = smtp_sink.messages
    mail = message_from_bytes(content)
    assert (sender, recipients) == ("opsbook@example.com", ["oncall@example.com"])
    assert mail["Subject"] == "[FIRING:CRITICAL] Error rate above 5%"


def test_secrets_in_urls_never_reach_answers_or_logs(
    receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "pw-Xy9-secret"
    receiver.down()
    channels = make_channels(
        {
            "a": [f"json://bob:{secret}@{receiver.base}/hook"],
            "b": [f"slack+http://bob:{secret}@{receiver.base}/hook"],
            "c": [f"pagerduty://{secret}1234"],
        }
    )
    channels_with_endpoint = make_channels(
        {"c": {"urls": [f"pagerduty://{secret}1234"], "pagerduty_url": f"http://{receiver.base}/x"}}
    )
    with caplog.at_level(logging.DEBUG):
        outcomes = [
            _send(channels, _message(), "a"),
            _send(channels, _message(), "b"),
            _send(channels_with_endpoint, _message(), "c"),
        ]
    for outcome in outcomes:
        assert not outcome.ok
        assert secret not in outcome.answer + json.dumps(outcome.details)
    assert "Connection error occurred sending JSON" in caplog.text  # Apprise did log
    assert secret not in caplog.text


def test_an_unexpected_error_is_a_masked_retryable_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "RK-Xy9-secret-routing"
    channels = make_channels(
        {"ops": {"urls": [f"pagerduty://{secret}"], "pagerduty_url": "http://127.0.0.1:99999/x"}}
    )
    outcome = _send(channels, _message())
    assert not outcome.ok and outcome.retryable
    assert outcome.answer.startswith("opsbook could not send it:")
    assert "sending message 1 to pagerduty://R...g failed" in caplog.text
    assert secret not in caplog.text + outcome.answer


def test_a_transport_that_crashes_is_a_retryable_failure(receiver: WebhookReceiver) -> None:
    channels = make_channels({"ops": [f"slack+http://{receiver.base}/hook"]})

    def boom(_: Received) -> Answer:
        raise RuntimeError("handler bug")

    receiver.choose = boom  # the server closes the connection without an answer
    outcome = _send(channels, _message())
    assert not outcome.ok and outcome.retryable
