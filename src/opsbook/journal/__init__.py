"""The append-only audit journal: every action that changes something, with its actor."""
