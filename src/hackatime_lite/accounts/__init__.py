"""Account use cases: per-user settings and deleting a user's data or whole account."""
