"""The agent card: one JSON-RPC endpoint announced for both A2A 1.0 and the legacy 0.3 protocol."""

from __future__ import annotations

from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from a2a.utils.constants import PROTOCOL_VERSION_0_3, PROTOCOL_VERSION_1_0, TransportProtocol

CARD_VERSION = "1.0.0"


def build_agent_card(agent_name: str, rpc_url: str) -> AgentCard:
    """Card for the research agent at ``rpc_url`` (streaming, text in and out, one skill).

    The 1.0 interface comes first so 1.0 clients pick it; the SDK also renders the 0.3 fields
    (``url``, ``preferredTransport``, ``protocolVersion``) from the 0.3 interface for legacy clients.
    """
    return AgentCard(
        name=agent_name,
        description="Deterministic research agent stand-in for chaos and soak tests: answers every "
                    "question with the same short findings after a configurable processing time.",
        version=CARD_VERSION,
        supported_interfaces=[
            AgentInterface(url=rpc_url, protocol_binding=TransportProtocol.JSONRPC,
                           protocol_version=PROTOCOL_VERSION_1_0),
            AgentInterface(url=rpc_url, protocol_binding=TransportProtocol.JSONRPC,
                           protocol_version=PROTOCOL_VERSION_0_3),
        ],
        capabilities=AgentCapabilities(streaming=True, push_notifications=False, extended_agent_card=False),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(
            id="research",
            name="Research",
            description="Summarises what is known about a question in three sentences.",
            tags=["research", "summary"],
            examples=["What drives battery degradation in electric buses?"],
        )],
    )
