"""host stage of neurocosim (see DESIGN.md)."""
