"""sim stage of neurocosim (see DESIGN.md)."""
