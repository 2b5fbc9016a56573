"""The aiohttp application: HTTP API, WebSocket protocol, rooms, roles and permissions."""
