"""The board side of the UART link in Amaranth, one Component per module: 8N1 receiver and
transmitter (rx, tx), COBS decoder (cobs), CRC-32 (crc), frame receiver and sender, the
command dispatcher over a HostBus (signature), the whole link (link) and the bridge to the
fpga chip (chip_bridge); `protocol` is the wire format they share with the host.

Components are imported on first use, so `protocol` alone does not load Amaranth.
"""

import importlib

_WHERE = {"UartRx": "rx", "UartTx": "tx", "Crc32": "crc", "CRC32_RESIDUE": "crc",
          "CobsDecoder": "cobs", "FrameReceiver": "receiver", "FrameSender": "sender",
          "CommandDispatcher": "dispatcher", "HostBus": "signature", "UartLink": "link"}


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_WHERE)
