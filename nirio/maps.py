"""Linear maps between NIR nodes as sparse records: what Affine, Linear, Scale, Delay,
Flatten, Conv1d, Conv2d, SumPool2d and AvgPool2d do to a signal, composed along paths.

A `SparseMap` is y = W x + b where W is a list of entries (post, pre, weight, delay): one
IR synapse per entry, the delay in ms. Maps compose (`then`) and add (`plus`), so every
chain of linear nodes between two neuron nodes becomes one map, hence one projection
per receptor. Convolutions and pooling are unrolled here into such entries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hw.errors import NetworkError


@dataclass
class SparseMap:
    """y[post] += weight * x[pre] (delayed by `delay` ms), plus the constant `bias`."""

    n_out: int
    n_in: int
    post: np.ndarray
    pre: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    bias: np.ndarray

    @classmethod
    def identity(cls, n: int, delay: np.ndarray | float = 0.0,
                 scale: np.ndarray | float = 1.0) -> "SparseMap":
        idx = np.arange(n, dtype=np.int64)
        return cls(n, n, idx, idx.copy(), np.broadcast_to(scale, n).astype(np.float64),
                   np.broadcast_to(delay, n).astype(np.float64), np.zeros(n))

    @classmethod
    def dense(cls, w: np.ndarray, bias: np.ndarray | None = None) -> "SparseMap":
        """From a (n_out, n_in) matrix; zero entries carry nothing and are left out."""
        post, pre = np.nonzero(w)
        b = np.zeros(w.shape[0]) if bias is None else np.asarray(bias, np.float64)
        return cls(w.shape[0], w.shape[1], post.astype(np.int64), pre.astype(np.int64),
                   w[post, pre].astype(np.float64), np.zeros(len(post)), b)

    def then(self, outer: "SparseMap") -> "SparseMap":
        """outer(self(x)): entries joined on the middle index, delays added."""
        if outer.n_in != self.n_out:
            raise NetworkError(f"a map of {outer.n_in} inputs follows one of {self.n_out} "
                               "outputs")
        order = np.argsort(self.post, kind="stable")
        mid = self.post[order]
        lo = np.searchsorted(mid, outer.pre, side="left")
        hi = np.searchsorted(mid, outer.pre, side="right")
        count = hi - lo
        a = np.repeat(np.arange(len(outer.pre)), count)
        b = order[np.concatenate([np.arange(s, e) for s, e in zip(lo, hi)])
                  if len(a) else np.zeros(0, np.int64)]
        bias = outer.bias + np.bincount(outer.post, outer.weight * self.bias[outer.pre],
                                        minlength=outer.n_out)
        return SparseMap(outer.n_out, self.n_in, outer.post[a], self.pre[b],
                         outer.weight[a] * self.weight[b], outer.delay[a] + self.delay[b],
                         bias).merged()

    def plus(self, other: "SparseMap") -> "SparseMap":
        """Sum of two maps of one shape (two paths into one node)."""
        if (self.n_out, self.n_in) != (other.n_out, other.n_in):
            raise NetworkError(f"maps of shapes {(self.n_out, self.n_in)} and "
                               f"{(other.n_out, other.n_in)} cannot be summed")
        return SparseMap(self.n_out, self.n_in, np.concatenate([self.post, other.post]),
                         np.concatenate([self.pre, other.pre]),
                         np.concatenate([self.weight, other.weight]),
                         np.concatenate([self.delay, other.delay]),
                         self.bias + other.bias).merged()

    def merged(self) -> "SparseMap":
        """Entries with the same (post, pre, delay) summed; exact zeros left out."""
        if len(self.post) == 0:
            return self
        keys = np.stack([self.post, self.pre, self.delay.view(np.int64)])
        uniq, inv = np.unique(keys, axis=1, return_inverse=True)
        w = np.bincount(inv.ravel(), self.weight, minlength=uniq.shape[1])
        keep = w != 0
        return SparseMap(self.n_out, self.n_in, uniq[0][keep], uniq[1][keep], w[keep],
                         uniq[2][keep].view(np.float64), self.bias)


def _pair(value, what: str, node: str) -> tuple[int, int]:
    arr = np.atleast_1d(np.asarray(value)).astype(np.int64)
    if arr.size == 1:
        return int(arr[0]), int(arr[0])
    if arr.size != 2:
        raise NetworkError(f"node {node!r}: {what} {value!r} is not one or two integers")
    return int(arr[0]), int(arr[1])


def _same_padding(size: int, k: int, dil: int) -> int:
    """Left padding of 'same' (PyTorch's rule: the odd pixel goes on the right)."""
    return (dil * (k - 1)) // 2


def conv2d(node: str, weight: np.ndarray, in_shape: tuple[int, int, int], stride,
           padding, dilation, groups: int, bias: np.ndarray | None) -> SparseMap:
    """Conv2d (PyTorch semantics, zero padding) unrolled: input (C_in, H, W) flattened
    C-order, output (C_out, H_out, W_out) likewise, one entry per tap that lands inside."""
    c_out, c_grp, kh, kw = weight.shape
    c_in, h, w = in_shape
    if c_in != c_grp * groups or c_out % groups:
        raise NetworkError(f"node {node!r}: weight {weight.shape} with groups={groups} "
                           f"does not fit {c_in} input channels")
    sh, sw = _pair(stride, "stride", node)
    dh, dw = _pair(dilation, "dilation", node)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise NetworkError(f"node {node!r}: padding {padding!r}")
        ph, pw = ((_same_padding(h, kh, dh), _same_padding(w, kw, dw))
                  if padding == "same" else (0, 0))
        if padding == "same" and (sh, sw) != (1, 1):
            raise NetworkError(f"node {node!r}: padding 'same' needs stride 1, got "
                               f"{(sh, sw)}")
        ho, wo = (h, w) if padding == "same" else ((h - dh * (kh - 1) - 1) // sh + 1,
                                                   (w - dw * (kw - 1) - 1) // sw + 1)
    else:
        ph, pw = _pair(padding, "padding", node)
        ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if ho < 1 or wo < 1:
        raise NetworkError(f"node {node!r}: input {in_shape} is smaller than the kernel")
    co, cg, ky, kx, oy, ox = np.meshgrid(np.arange(c_out), np.arange(c_grp), np.arange(kh),
                                         np.arange(kw), np.arange(ho), np.arange(wo),
                                         indexing="ij")
    ci = (co // (c_out // groups)) * c_grp + cg
    iy = oy * sh - ph + ky * dh
    ix = ox * sw - pw + kx * dw
    inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    wv = weight[co, cg, ky, kx]
    keep = inside & (wv != 0)
    post = (co * ho + oy) * wo + ox
    pre = (ci * h + iy) * w + ix
    b = np.zeros(c_out) if bias is None else np.broadcast_to(
        np.asarray(bias, np.float64).ravel(), (c_out,))
    return SparseMap(c_out * ho * wo, c_in * h * w, post[keep].astype(np.int64),
                     pre[keep].astype(np.int64), wv[keep].astype(np.float64),
                     np.zeros(int(keep.sum())), np.repeat(b, ho * wo)).merged()


def pool2d(node: str, in_shape: tuple[int, int, int], kernel, stride, padding,
           average: bool) -> SparseMap:
    """SumPool2d / AvgPool2d as a depthwise convolution of ones (AvgPool: 1/(kh*kw),
    padding counted, as PyTorch's default count_include_pad=True)."""
    c = in_shape[0]
    kh, kw = _pair(kernel, "kernel_size", node)
    w = np.zeros((c, 1, kh, kw))
    w[:] = 1.0 / (kh * kw) if average else 1.0
    return conv2d(node, w, in_shape, stride, padding, 1, c, None)
