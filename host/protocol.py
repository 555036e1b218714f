"""The board link protocol (defined in neurocosim.rtl.uart.protocol, beside the board side
that must not import host; see docs/protocol.md): re-exported for the host driver."""

from ..rtl.uart.protocol import *  # noqa: F401,F403
