"""pynn_backend stage of neurocosim (see DESIGN.md)."""
