"""The board side of the UART link in Amaranth: 8N1 receiver and transmitter, COBS frame
decoder and CRC-32, one Component per module; they mirror neurocosim.host.protocol."""

from .cobs import CobsDecoder
from .crc import CRC32_RESIDUE, Crc32
from .rx import UartRx
from .tx import UartTx

__all__ = ["UartRx", "UartTx", "Crc32", "CRC32_RESIDUE", "CobsDecoder"]
