"""Stand-ins for the dependencies of an LLM-agent backend, each with the shared fault API."""
