"""cocotb bench: a pseudo-terminal bridged to the UART pins of the exported fpga board
(rtl.uart.fpga_board.FpgaBoard), so the host driver in the pytest process talks to the
Verilog under Icarus at 8N1, bit by bit.

Environment: UART_PTY_FILE (written with the pty's path once the board is out of reset),
UART_DONE_FILE (the host creates it when finished), UART_DIVISOR (clocks per bit),
UART_LIMIT_S (wall-clock limit of the bench).
"""

import os
import select
import time
import tty

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge, Timer

PERIOD_NS = 10


@cocotb.test()
async def serve_the_host(dut):
    divisor = int(os.environ["UART_DIVISOR"])
    bit_ns = divisor * PERIOD_NS
    limit = time.monotonic() + float(os.environ.get("UART_LIMIT_S", "300"))
    done_file = os.environ["UART_DONE_FILE"]
    master, slave = os.openpty()
    tty.setraw(slave)
    Clock(dut.clk, PERIOD_NS, unit="ns").start()
    dut.rst.value = 1
    dut.rx.value = 1
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)

    async def tx_to_pty():
        """Sample the board's tx pin mid-bit; whole bytes go to the host."""
        while True:
            await FallingEdge(dut.tx)
            await Timer(bit_ns // 2, unit="ns")
            await ReadOnly()
            if int(dut.tx.value):
                continue  # a glitch, not a start bit
            byte = 0
            for k in range(8):
                await Timer(bit_ns, unit="ns")
                await ReadOnly()
                byte |= int(dut.tx.value) << k
            await Timer(bit_ns, unit="ns")  # the stop bit's middle
            os.write(master, bytes([byte]))

    cocotb.start_soon(tx_to_pty())
    tmp = os.environ["UART_PTY_FILE"] + ".tmp"
    with open(tmp, "w") as f:
        f.write(os.ttyname(slave))
    os.replace(tmp, os.environ["UART_PTY_FILE"])
    # host bytes onto the rx pin, 8N1
    while not os.path.exists(done_file) and time.monotonic() < limit:
        if select.select([master], [], [], 0)[0]:
            for byte in os.read(master, 4096):
                for bit in [0] + [(byte >> k) & 1 for k in range(8)] + [1]:
                    dut.rx.value = bit
                    await Timer(bit_ns, unit="ns")
        else:
            await Timer(64 * PERIOD_NS, unit="ns")
    os.close(master)
    os.close(slave)
