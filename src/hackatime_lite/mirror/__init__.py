"""Mirroring to upstream WakaTime-compatible servers: targets, delivery from the outbox, outbound URL checks,
and the secret box that encrypts upstream keys at rest."""
