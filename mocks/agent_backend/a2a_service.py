"""Delegation to other agents over A2A with the official ``a2a-sdk`` client.

Each configured URL is one agent. ``start()`` resolves the agent cards (a few short attempts each); an
agent that cannot be reached keeps a name derived from its URL and its card is fetched again, at most
once per ``card_retry_s``, when a delegation needs it. A delegation is one blocking ``SendMessage``; the
answer is the task's artifact text (or its final status message). ``timeout_s`` is a hard deadline for
the whole delegation. ``timeout_s=None`` waits for ever — the HTTP client has no timeouts of its own,
so that the ``a2a_no_timeout`` defect really hangs the way an unbounded client does.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import structlog
from a2a.client import A2ACardResolver, A2AClientTimeoutError, Client, ClientConfig, ClientFactory
from a2a.helpers.proto_helpers import get_artifact_text, get_message_text
from a2a.types.a2a_pb2 import AgentCard, Message, Part, Role, SendMessageRequest, StreamResponse, Task, TaskState

from mocks.agent_backend.agent import ToolOutcome
from mocks.agent_backend.metrics import BackendMetrics

log = structlog.get_logger("agent-a2a")

MAX_ANSWER_CHARS = 16_000
FAILED_STATES = {
    TaskState.TASK_STATE_FAILED: "failed",
    TaskState.TASK_STATE_REJECTED: "was rejected",
    TaskState.TASK_STATE_CANCELED: "was canceled",
    TaskState.TASK_STATE_INPUT_REQUIRED: "needs more input",
    TaskState.TASK_STATE_AUTH_REQUIRED: "needs authentication",
}


class DelegationFailed(Exception):
    """A delegation that ended without an answer; the message says why, for the model and the logs."""


def fallback_name(url: str) -> str:
    """The name of an agent whose card is unknown: its host, port and path, e.g. ``127.0.0.1:18082``."""
    parts = urlsplit(url)
    return (parts.netloc + parts.path.rstrip("/")) or url


def describe_error(error: BaseException) -> str:
    """A short cause for a failed exchange: HTTP status and JSON-RPC message, connection error, A2A error."""
    if isinstance(error, DelegationFailed):
        return str(error)
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, httpx.HTTPStatusError):
            return f"HTTP {cause.response.status_code}{_rpc_error_suffix(cause.response)}"
        if isinstance(cause, httpx.ConnectError):
            return f"cannot connect ({cause or type(cause).__name__})"
        if isinstance(cause, httpx.RequestError):
            detail = f": {cause}" if str(cause) else ""
            return f"network error ({type(cause).__name__}{detail})"
        cause = cause.__cause__
    return f"{type(error).__name__}: {error}"


def _rpc_error_suffix(response: httpx.Response) -> str:
    """``": <message>"`` when the body is a JSON-RPC error (it is read for non-streaming calls)."""
    try:
        body = json.loads(response.content)
    except (httpx.ResponseNotRead, ValueError):
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return f": {message}" if isinstance(message, str) and message else ""


def answer_text(event: StreamResponse) -> str:
    """The agent's answer in a blocking response; raises DelegationFailed when the task did not complete."""
    if event.HasField("message"):
        return get_message_text(event.message, " ")
    if not event.HasField("task"):
        raise DelegationFailed("the agent answered with neither a task nor a message")
    task = event.task
    state = task.status.state
    reason = get_message_text(task.status.message, " ") if task.status.HasField("message") else ""
    if state in FAILED_STATES:
        raise DelegationFailed(f"the task {FAILED_STATES[state]}" + (f": {reason}" if reason else ""))
    if state != TaskState.TASK_STATE_COMPLETED:
        raise DelegationFailed(f"the task did not finish (state {TaskState.Name(state)})")
    return _task_text(task) or reason


def _task_text(task: Task) -> str:
    return " ".join(text for artifact in task.artifacts if (text := get_artifact_text(artifact, " ")))


@dataclass
class RemoteAgent:
    """One configured agent: its URL, current name, and the SDK client once its card is known."""

    url: str
    name: str
    client: Client | None = None
    last_error: str = "card not fetched yet"
    next_card_attempt: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class A2ACommunicationService:
    """The backend's ``Delegation``: other agents over A2A, one pooled HTTP client for all of them."""

    def __init__(self, urls: list[str], metrics: BackendMetrics, *, card_timeout_s: float = 2.0,
                 card_attempts: int = 3, card_retry_s: float = 1.0, max_connections: int = 100) -> None:
        self.metrics = metrics
        self.card_timeout_s = card_timeout_s
        self.card_attempts = card_attempts
        self.card_retry_s = card_retry_s
        # No client-wide timeout: deadlines come from the caller (asyncio.timeout), or there are none.
        self._http = httpx.AsyncClient(timeout=None, limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections))
        self._factory = ClientFactory(ClientConfig(streaming=False, httpx_client=self._http))
        self._agents: list[RemoteAgent] = []
        self._by_name: dict[str, RemoteAgent] = {}
        for url in urls:
            agent = RemoteAgent(url, self._unique_name(fallback_name(url), url))
            self._agents.append(agent)
            self._by_name[agent.name] = agent

    async def start(self) -> None:
        """Resolve every agent's card (a few short attempts each, concurrently); never raises for one."""
        await asyncio.gather(*(self._resolve_at_start(agent) for agent in self._agents))

    async def close(self) -> None:
        """Close the shared HTTP client (the SDK clients share it and hold nothing else)."""
        await self._http.aclose()

    def agent_names(self) -> list[str]:
        """The agents' names, from their cards where known, in the order of the configured URLs."""
        return [agent.name for agent in self._agents]

    async def delegate(self, agent: str, task: str, timeout_s: float | None) -> ToolOutcome:
        """Send ``task`` to ``agent`` and return its answer, or an error outcome; never raises but for cancel."""
        remote = self._by_name.get(agent)
        if remote is None:
            known = ", ".join(self.agent_names()) or "none"
            log.warning("a2a_unknown_agent", agent=agent, known=known)
            return ToolOutcome(f"error: no agent named {agent!r}; known agents: {known}", True)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout_s) as deadline:  # None: no deadline at all
                text = await self._exchange(remote, task)
        except Exception as error:  # whatever the SDK or the network raised: the model gets an error outcome
            if isinstance(error, TimeoutError) and deadline.expired():
                return self._finish(remote, started, "timeout", f"timed out after {timeout_s:g}s")
            if isinstance(error, A2AClientTimeoutError):
                return self._finish(remote, started, "timeout", "timed out in the HTTP client")
            return self._finish(remote, started, "error", f"failed: {describe_error(error)}")
        return self._finish(remote, started, "ok", text)

    async def _exchange(self, remote: RemoteAgent, task: str) -> str:
        """Card (if still unknown), one blocking send, the answer's text."""
        client = await self._client_for(remote)
        request = SendMessageRequest(message=Message(role=Role.ROLE_USER, message_id=uuid.uuid4().hex,
                                                     parts=[Part(text=task)]))
        final: StreamResponse | None = None
        async for event in client.send_message(request):  # a blocking send yields exactly one response
            final = event
        if final is None:
            raise DelegationFailed("the agent sent no response")
        text = answer_text(final)
        return text if len(text) <= MAX_ANSWER_CHARS else text[:MAX_ANSWER_CHARS] + " [truncated]"

    def _finish(self, remote: RemoteAgent, started: float, outcome: str, detail: str) -> ToolOutcome:
        """Observe the duration under ``outcome`` and build the result: the answer, or an error naming the agent."""
        duration = time.perf_counter() - started
        self.metrics.a2a_seconds.labels(remote.name, outcome).observe(duration)
        if outcome == "ok":
            log.debug("a2a_delegation_ok", agent=remote.name, duration_s=round(duration, 4))
            return ToolOutcome(detail)
        text = f"error: delegation to {remote.name} {detail}"
        log.warning("a2a_delegation_failed", agent=remote.name, outcome=outcome, error=text,
                    duration_s=round(duration, 4))
        return ToolOutcome(text, True)

    # --- agent cards ------------------------------------------------------------------------------

    async def _resolve_at_start(self, remote: RemoteAgent) -> None:
        http_timeout = httpx.Timeout(self.card_timeout_s)
        for attempt in range(1, self.card_attempts + 1):
            if await self._try_card(remote, http_timeout):
                return
            if attempt < self.card_attempts:
                await asyncio.sleep(0.25 * 2 ** (attempt - 1))
        remote.next_card_attempt = time.monotonic() + self.card_retry_s
        log.warning("a2a_agent_unreachable", url=remote.url, name=remote.name, error=remote.last_error,
                    attempts=self.card_attempts)

    async def _client_for(self, remote: RemoteAgent) -> Client:
        """The agent's SDK client, fetching its card first when it is still unknown (rate-limited)."""
        if remote.client is not None:
            return remote.client
        async with remote.lock:
            # The fetch is bounded by the delegation's own deadline (none under the a2a_no_timeout defect).
            if remote.client is None and time.monotonic() >= remote.next_card_attempt \
                    and not await self._try_card(remote, None):
                remote.next_card_attempt = time.monotonic() + self.card_retry_s
            if remote.client is None:
                raise DelegationFailed(f"agent unreachable, its card could not be fetched: {remote.last_error}")
            return remote.client

    async def _try_card(self, remote: RemoteAgent, http_timeout: httpx.Timeout | None) -> bool:
        """Fetch the card and build the client; on failure remember why and return False."""
        try:
            card = await A2ACardResolver(self._http, remote.url).get_agent_card(
                http_kwargs={"timeout": http_timeout} if http_timeout is not None else None)
            _pin_endpoints(card, remote.url)
            client = self._factory.create(card)
        except Exception as error:  # unreachable, bad card, no usable transport: all mean "not yet"
            remote.last_error = str(error) or type(error).__name__
            return False
        self._adopt(remote, card.name, client)
        log.info("a2a_agent_ready", url=remote.url, name=remote.name)
        return True

    def _adopt(self, remote: RemoteAgent, card_name: str, client: Client) -> None:
        """Take the card's name (the URL-derived name stays an alias, so callers holding it still reach it)."""
        remote.client = client
        if card_name and card_name != remote.name:
            remote.name = self._unique_name(card_name, remote.url)
            self._by_name[remote.name] = remote

    def _unique_name(self, name: str, url: str) -> str:
        """``name``, or ``name@host:port`` when another agent already has it."""
        taken = self._by_name.get(name)
        return name if taken is None or taken.url == url else f"{name}@{urlsplit(url).netloc}"


def _pin_endpoints(card: AgentCard, base_url: str) -> None:
    """Send every call to the configured URL's host, whatever host the card advertises.

    The configured URL is how this deployment reaches the agent (often through a fault proxy or a
    gateway); the card names the agent's own address, which would bypass them.
    """
    configured = urlsplit(base_url)
    for interface in card.supported_interfaces:
        advertised = urlsplit(interface.url)
        interface.url = advertised._replace(scheme=configured.scheme, netloc=configured.netloc).geturl()
