"""A small weather HTTP API, the dependency behind the MCP ``weather`` tool."""
