"""Scheduler: care plans, the durable check-in outbox and its dispatcher."""
