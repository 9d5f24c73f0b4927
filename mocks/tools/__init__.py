"""The MCP tool server stand-in: calculator, weather (over HTTP) and notes, with faults."""
