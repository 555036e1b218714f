"""emulator stage of neurocosim (see DESIGN.md)."""
