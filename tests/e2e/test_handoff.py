"""The human handoff over the real server: a chat escalates, an agent claims it and talks to the visitor, whose live
stream shows it; the AI stays silent while a person handles the chat and answers again once it is handed back."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from chatassist.bootstrap import Container
from commands._common import update
from commands.claim_conversation import cmd as claim_cmd
from commands.close_conversation import cmd as close_cmd
from commands.reply_as_agent import cmd as reply_cmd
from domain.conversation import Conversation
from domain.errors import Conflict
from tests.conftest import chat, event_names
from tests.fakes.llm_server import FakeLLMServer
from tests.support.accounts import Person, invite_and_join, sign_up
from tests.support.sse import parse_sse
from tests.support.visitors import widget_headers
from workers.scheduler import idle_conversation_ids

AGENT_API = "/api/agent/conversations"


@dataclass
class Team:
    """A workspace with its widget key, its admin, two agents and a viewer."""

    widget_key: str
    admin: Person
    agent: Person
    other_agent: Person
    viewer: Person


@pytest.fixture
def team(client: httpx.Client) -> Team:
    admin, body = sign_up(client, workspace="Handoff Co")
    return Team(
        body["widget_key"],
        admin,
        invite_and_join(client, admin, "agent"),
        invite_and_join(client, admin, "agent"),
        invite_and_join(client, admin, "viewer"),
    )


@dataclass
class VisitorStream:
    """The visitor's GET /api/conversations/{id}/events, read in a background thread."""

    client: httpx.Client
    widget_key: str
    conversation_id: str
    after: int = 0
    events: queue.Queue[tuple[str, Any, float]] = field(default_factory=queue.Queue)
    status: int | None = None
    ended: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        headers = widget_headers(self.widget_key, self.conversation_id, Accept="text/event-stream")
        url = f"/api/conversations/{self.conversation_id}/events?after={self.after}"
        try:
            with self.client.stream("GET", url, headers=headers, timeout=60) as response:
                self.status = response.status_code
                lines: list[str] = []
                for line in response.iter_lines():
                    lines.append(line)
                    if line == "":
                        for name, data in parse_sse(lines):
                            self.events.put((name, data, time.monotonic()))
                        lines = []
        except httpx.HTTPError:  # the fixture closed the client at teardown
            pass
        finally:
            self.ended.set()

    def next(self, name: str, timeout: float = 10.0, **match: Any) -> tuple[Any, float]:
        """The next event called ``name`` whose data has the ``match`` items (earlier others are skipped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                got, data, at = self.events.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            if got == name and all(data.get(k) == v for k, v in match.items()):
                return data, at
        raise AssertionError(f"no {name} {match} on the visitor stream within {timeout} s")


@pytest.fixture
def open_stream(ai_server: Any) -> Iterator[Any]:
    """Start visitor streams on their own client; they end when their conversation closes (or at teardown)."""
    client = httpx.Client(base_url=ai_server.base_url, timeout=60)
    streams: list[VisitorStream] = []

    def start(widget_key: str, conversation_id: str, after: int = 0) -> VisitorStream:
        stream = VisitorStream(client, widget_key, conversation_id, after)
        threading.Thread(target=stream.run, daemon=True).start()
        streams.append(stream)
        return stream

    yield start
    client.close()


def act(client: httpx.Client, who: Person, conversation_id: str, action: str, **body: Any) -> httpx.Response:
    """POST an agent action (PUT for the topic)."""
    method = "PUT" if action == "topic" else "POST"
    return client.request(method, f"{AGENT_API}/{conversation_id}/{action}", json=body or None, headers=who.headers)


def escalate(client: httpx.Client, widget_key: str, user_id: str = "visitor-1") -> str:
    """A visitor asks for a person; returns the conversation id."""
    events = chat(client, widget_key, "I want to talk to a human", user_id=user_id)
    assert events[-1][0] == "done" and events[-1][1]["escalation"]["rule"] == "human_requested"
    return str(events[0][1]["conversation_id"])


def test_the_issue_scenario_end_to_end(
    client: httpx.Client,
    team: Team,
    container: Container,
    fake_llm: FakeLLMServer,
    open_stream: Any,
) -> None:
    # Given a chat that escalates because the visitor asks for a person (no model call)
    conversation_id = escalate(client, team.widget_key)
    assert fake_llm.requests == []
    names = event_names(container, conversation_id)
    assert names.index("HandoffSummarized") == names.index("Escalated") + 1
    # and the visitor's live stream, opened from the start
    stream = open_stream(team.widget_key, conversation_id)
    stream.next("state", event="escalated", state="queued")

    # When an agent claims it, adds a note and replies
    claimed = act(client, team.agent, conversation_id, "claim")
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["state"] == "assigned" and claimed.json()["assignee"] == team.agent.account_id
    stream.next("state", event="claimed", state="assigned")
    noted = act(client, team.agent, conversation_id, "notes", text="Internal: customer is on the Pro plan")
    assert noted.status_code == 201, noted.text
    sent_at = time.monotonic()
    replied = act(client, team.agent, conversation_id, "reply", text="Hi, I'm a real person. How can I help?")
    assert replied.status_code == 201, replied.text

    # Then the visitor's stream receives the agent's message, marked as a person, and never the note
    message, received_at = stream.next("agent_message")
    assert message["text"] == "Hi, I'm a real person. How can I help?"
    assert message["agent"] == {"name": "Agent"} and message["role"] == "agent"  # invite_and_join's "Agent Person"
    assert message["message_id"] == replied.json()["message_id"]
    assert received_at - sent_at < 2.5, "the Redis wake-up should beat the 3 s re-read"

    # When the visitor writes while the agent handles the chat, the AI stays silent: no model call, no text
    events = chat(client, team.widget_key, "My invoice is wrong", conversation_id=conversation_id)
    assert [n for n, _ in events] == ["start", "done"]
    done = events[-1][1]
    assert (done["handled_by"], done["state"], done["message_id"]) == ("human", "agent", None)
    assert done["escalation"]["rule"] == "human_requested"
    assert fake_llm.requests == []
    assert event_names(container, conversation_id)[-1] == "UserMessageReceived"

    # When the agent returns it to the AI, the next visitor message is answered by the AI (the fake model is called)
    returned = act(client, team.agent, conversation_id, "return-to-ai")
    assert returned.status_code == 200 and returned.json()["state"] == "returned_to_ai"
    stream.next("state", event="returned_to_ai")
    events = chat(client, team.widget_key, "Thanks! And how do I export my data?", conversation_id=conversation_id)
    assert events[-1][0] == "done" and events[-1][1]["handled_by"] == "ai"
    assert events[-1][1]["provider"] == "anthropic"
    assert len(fake_llm.requests_for("anthropic")) == 1
    assert "".join(d["text"] for n, d in events if n == "delta") == "Hello from the fake model."

    # The transcript shows the agent's reply as role agent with its name, and no note
    container.wait_for_projections()
    transcript = client.get(
        f"/api/conversations/{conversation_id}", headers=widget_headers(team.widget_key, conversation_id)
    )
    roles = [(m["role"], m["agent_name"]) for m in transcript.json()["messages"]]
    assert roles == [
        ("user", None),
        ("assistant", None),
        ("agent", "Agent"),
        ("user", None),
        ("user", None),
        ("assistant", None),
    ]
    assert "Pro plan" not in transcript.text

    # And the agent's view has everything: the note, the escalation with its summary, the state
    view = client.get(f"{AGENT_API}/{conversation_id}", headers=team.agent.headers)
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["state"] == "returned_to_ai" and body["assignee"] is None
    assert body["escalation"]["rule"] == "human_requested"
    assert "I want to talk to a human" in body["escalation"]["summary"]
    kinds = [i["kind"] for i in body["timeline"]]
    assert kinds == [
        "visitor_message",
        "escalated",
        "summary",
        "ai_message",
        "claimed",
        "note",
        "agent_message",
        "visitor_message",
        "returned_to_ai",
        "visitor_message",
        "ai_message",
    ]
    assert body["timeline"][5]["text"] == "Internal: customer is on the Pro plan"

    # When an agent closes it, the visitor's stream says so and ends
    closed = act(client, team.other_agent, conversation_id, "close")
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    data, _ = stream.next("state", event="closed")
    assert data["by"] == "agent" and data["reason"] == "agent_closed"
    assert stream.ended.wait(10)
    assert "Pro plan" not in str(list(stream.events.queue))


def test_the_stream_resumes_after_a_version_and_a_lost_wake_up_is_covered_by_the_re_read(
    client: httpx.Client, team: Team, container: Container, open_stream: Any
) -> None:
    # Given an escalated chat claimed by an agent, and a stream resuming after the claim
    conversation_id = escalate(client, team.widget_key, user_id="visitor-resume")
    assert act(client, team.agent, conversation_id, "claim").status_code == 200
    claim_version = len(event_names(container, conversation_id))
    stream = open_stream(team.widget_key, conversation_id, after=claim_version)
    time.sleep(0.3)
    # When the reply is saved by a process that publishes no wake-up (the command run directly)
    command = reply_cmd.ReplyAsAgent(
        uuid.UUID(team.agent.workspace_id), uuid.UUID(conversation_id), team.agent.account_id, "Still there?"
    )
    reply_cmd.execute(container.app, command)
    # Then the stream still delivers it, from the periodic re-read, and nothing from before ``after``
    first_name, first, _ = stream.events.get(timeout=8)
    assert (first_name, first["text"]) == ("agent_message", "Still there?")


def test_two_agents_claiming_at_once_exactly_one_wins(client: httpx.Client, team: Team, container: Container) -> None:
    # Given a queued chat, when two agents claim it over HTTP at the same moment
    conversation_id = escalate(client, team.widget_key, user_id="visitor-race")
    barrier = threading.Barrier(2)
    results: dict[str, httpx.Response] = {}

    def claim(who: Person) -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=20) as own:
            barrier.wait()
            results[who.account_id] = act(own, who, conversation_id, "claim")

    threads = [threading.Thread(target=claim, args=(p,)) for p in (team.agent, team.other_agent)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then exactly one wins and the other gets 409 already_claimed
    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [200, 409], [r.text for r in results.values()]
    loser = next(r for r in results.values() if r.status_code == 409)
    assert loser.json()["code"] == "already_claimed"
    assert event_names(container, conversation_id).count("AgentClaimed") == 1


def test_a_claim_that_loses_the_save_race_is_reloaded_and_refused(
    team: Team, client: httpx.Client, container: Container
) -> None:
    # Given two claims that have both loaded the conversation before either saves (the barrier holds them)
    conversation_id = uuid.UUID(escalate(client, team.widget_key, user_id="visitor-race-2"))
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def claim(agent_id: str) -> None:
        first = [True]

        def decide(conversation: Conversation) -> None:
            if first[0]:
                first[0] = False
                barrier.wait()
            claim_cmd.handle(
                claim_cmd.ClaimConversation(conversation.workspace_id, conversation_id, agent_id), conversation
            )

        try:
            update(container.app, conversation_id, Conversation, "conversation", decide)
            outcomes[agent_id] = "won"
        except Conflict as err:
            outcomes[agent_id] = err.code

    threads = [threading.Thread(target=claim, args=(a,)) for a in ("agent-a", "agent-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then the second save conflicted, was re-decided on the reloaded chat and refused
    assert sorted(outcomes.values()) == ["already_claimed", "won"]
    assert event_names(container, conversation_id).count("AgentClaimed") == 1


def test_bad_input_is_refused_with_a_code_and_writes_nothing(
    client: httpx.Client, team: Team, container: Container, fake_llm: FakeLLMServer
) -> None:
    conversation_id = escalate(client, team.widget_key, user_id="visitor-bad")
    assert act(client, team.agent, conversation_id, "claim").status_code == 200
    other_admin, other = sign_up(client, workspace="Elsewhere")
    before = len(event_names(container, conversation_id))
    cases = [
        (act(client, team.agent, str(uuid.uuid4()), "claim"), 404, "conversation_not_found"),
        (act(client, other_admin, conversation_id, "claim"), 404, "conversation_not_found"),
        (client.get(f"{AGENT_API}/{conversation_id}", headers=other_admin.headers), 404, "conversation_not_found"),
        (act(client, team.other_agent, conversation_id, "claim"), 409, "already_claimed"),
        (act(client, team.other_agent, conversation_id, "reply", text="me too"), 409, "claimed_by_another_agent"),
        (act(client, team.other_agent, conversation_id, "return-to-ai"), 409, "claimed_by_another_agent"),
        (act(client, team.other_agent, conversation_id, "resolve"), 409, "claimed_by_another_agent"),
        (act(client, team.other_agent, conversation_id, "close"), 409, "claimed_by_another_agent"),
        (act(client, team.agent, conversation_id, "reply", text="   "), 422, "empty_message"),
        (act(client, team.agent, conversation_id, "reply", text="x" * 4001), 422, "message_too_long"),
        (act(client, team.agent, conversation_id, "notes", text=""), 422, "empty_note"),
        (act(client, team.agent, conversation_id, "topic", topic="x" * 61), 422, "invalid_topic"),
        (act(client, team.agent, conversation_id, "reply"), 400, "invalid_request"),
        (act(client, team.viewer, conversation_id, "claim"), 403, "permission_denied"),
        (act(client, team.viewer, conversation_id, "notes", text="hi"), 403, "permission_denied"),
        (client.get(f"{AGENT_API}/{conversation_id}", headers=team.viewer.headers), 403, "permission_denied"),
        (client.post(f"{AGENT_API}/{conversation_id}/claim"), 401, None),
        (
            client.get(
                f"/api/conversations/{conversation_id}/events?after=soon",
                headers=widget_headers(team.widget_key, conversation_id),
            ),
            422,
            "invalid_after",
        ),
        (
            client.get(
                f"/api/conversations/{uuid.uuid4()}/events",
                headers={"X-Widget-Key": team.widget_key, "X-Visitor-Token": "vt_made-up"},
            ),
            404,
            "conversation_not_found",
        ),
        (
            client.get(
                f"/api/conversations/{conversation_id}/events",
                headers=widget_headers(other["widget_key"], conversation_id),
            ),
            404,
            "conversation_not_found",
        ),
    ]
    for response, status, code in cases:
        assert response.status_code == status, (response.request.url, response.text)
        body = response.json()
        assert body["message"], body
        if code is not None:
            assert body["code"] == code, body
    assert len(event_names(container, conversation_id)) == before

    # a closed chat takes no reply (409) and the refusal writes nothing either
    assert act(client, team.agent, conversation_id, "close").status_code == 200
    closed = len(event_names(container, conversation_id))
    refused = act(client, team.agent, conversation_id, "reply", text="one more thing")
    assert (refused.status_code, refused.json()["code"]) == (409, "conversation_closed")
    assert act(client, team.agent, conversation_id, "close").status_code == 200  # closing twice: no second event
    assert len(event_names(container, conversation_id)) == closed
    assert fake_llm.requests == []


def test_an_admin_can_take_over_a_live_ai_chat_and_set_its_topic(
    client: httpx.Client, team: Team, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given a chat the AI is answering
    first = chat(client, team.widget_key, "How do I rotate my API key?", user_id="visitor-live")
    conversation_id = first[0][1]["conversation_id"]
    assert len(fake_llm.requests_for("anthropic")) == 1
    # When an admin claims it (no escalation) and sets the topic
    claimed = act(client, team.admin, conversation_id, "claim")
    assert claimed.status_code == 200 and claimed.json()["state"] == "assigned"
    topic = act(client, team.admin, conversation_id, "topic", topic="API & Integrations")
    assert topic.status_code == 200 and topic.json()["topic"] == "API & Integrations"
    again = act(client, team.admin, conversation_id, "topic", topic="API & Integrations")
    assert again.json()["version"] == topic.json()["version"]  # the same topic records nothing
    # Then the next visitor message gets no AI answer (and, as JSON, says who handles it)
    response = client.post(
        "/api/chat",
        json={"message": "hello?", "conversation_id": conversation_id, "user": {"id": "visitor-live"}},
        headers=widget_headers(team.widget_key, conversation_id, Accept="application/json"),
    )
    assert response.status_code == 200, response.text
    assert (response.json()["handled_by"], response.json()["state"], response.json()["reply"]) == (
        "human",
        "assigned",
        "",
    )
    assert response.json()["escalation"] is None
    assert len(fake_llm.requests_for("anthropic")) == 1
    # and the resolve by the admin is recorded with the admin as ``by``
    resolved = act(client, team.admin, conversation_id, "resolve")
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
    view = client.get(f"{AGENT_API}/{conversation_id}", headers=team.agent.headers).json()
    assert view["timeline"][-1] == {**view["timeline"][-1], "kind": "resolved", "by": team.admin.account_id}


def test_the_idle_close_job_spares_chats_waiting_for_or_with_a_person(
    client: httpx.Client, team: Team, container: Container
) -> None:
    # Given an AI chat, a queued chat, a claimed chat and an agent-resolved one
    ai_chat = chat(client, team.widget_key, "How do I reset my password?", user_id="visitor-idle-ai")
    ai_id = str(ai_chat[0][1]["conversation_id"])
    queued_id = escalate(client, team.widget_key, user_id="visitor-idle-queued")
    claimed_id = escalate(client, team.widget_key, user_id="visitor-idle-claimed")
    assert act(client, team.agent, claimed_id, "claim").status_code == 200
    resolved_id = escalate(client, team.widget_key, user_id="visitor-idle-resolved")
    assert act(client, team.agent, resolved_id, "claim").status_code == 200
    assert act(client, team.agent, resolved_id, "resolve").status_code == 200
    container.wait_for_projections()
    # When the job looks for conversations idle for 0 minutes (anything older than now)
    idle = set(idle_conversation_ids(container.transcripts, 0, limit=100_000))
    # Then the AI chat and the resolved one are closed, the queued and the claimed ones are left open
    assert ai_id in idle and resolved_id in idle
    assert queued_id not in idle and claimed_id not in idle
    # and the close itself re-checks on the aggregate (an agent may claim between the query and the close)
    command = close_cmd.CloseConversation(uuid.UUID(queued_id), "idle_timeout", unless_human=True)
    close_cmd.execute(container.app, command)
    assert "Closed" not in event_names(container, queued_id)
