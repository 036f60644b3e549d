"""The live stream: reading db_events without losing events, and fanning them out to clients."""
