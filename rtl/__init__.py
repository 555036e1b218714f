"""rtl stage of neurocosim (see DESIGN.md)."""
