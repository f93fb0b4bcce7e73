"""coach: a local interview coach."""
