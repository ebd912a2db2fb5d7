"""Durable, quota-bounded store of clips waiting for the cloud's ack."""

from edge_agent.outbox.processed import ProcessedSources, source_key
from edge_agent.outbox.store import EntryState, EntryStatus, Outbox, OutboxEntry

__all__ = ["EntryState", "EntryStatus", "Outbox", "OutboxEntry", "ProcessedSources", "source_key"]
