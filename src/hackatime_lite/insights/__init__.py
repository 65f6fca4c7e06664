"""Insights beyond coding time, as read use cases like `reports`: AI-coding stats (`ai`) and deep-work focus
(`focus`). The API, the dashboard, the CLI and the weekly report call these; they read through the same
window, zone and per-user rules (aliases, exclusions) as every coding-time read."""
