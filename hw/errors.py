"""Errors raised while describing, compiling or mapping a network."""


class NeurocosimError(Exception):
    """Base class of every error neurocosim raises on purpose."""


class NetworkError(NeurocosimError, ValueError):
    """The network description itself is invalid (bad name, value, index or unit)."""


class TargetError(NeurocosimError, ValueError):
    """Unknown target, or a target cannot run this network."""


class LimitError(TargetError):
    """The network does not fit a target limit; the message names the limit and the excess."""

    def __init__(self, limit: str, value, maximum, detail: str = ""):
        self.limit, self.value, self.maximum = limit, value, maximum
        msg = f"{limit}: needs {value}, the target allows {maximum}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)
