"""The reference realtime agent backend: AG-UI over SSE, OpenAI, MCP tools, A2A delegation, PostgreSQL."""
