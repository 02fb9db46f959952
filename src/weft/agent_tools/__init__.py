"""weft as an agent's tools: the same tools over MCP (`weft mcp`) and as OpenAI function schemas (`weft tools export`)."""
