"""The numpy layers of the torch-free decoder (training/numpy_decode.py): dense, 3x3 ConvTranspose2d, sigmoid.

Each ``*_step`` turns a torch layer's weights into a function on float32 NHWC (or (N, F)) arrays, equal to
the torch layer to float32 rounding. No torch and no Qt here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SMALL_BATCH", "conv_t_step", "conv_t_weights", "conv_transpose2d", "conv_transpose2d_scatter", "dense_step", "f32",
           "sigmoid"]


def f32(a: np.ndarray) -> np.ndarray:
    return np.array(a, dtype=np.float32, order="C")  # a copy: nothing here aliases the caller's arrays


def dense_step(w: np.ndarray, b: np.ndarray, relu: bool, transpose: bool = True):
    """x (N, in) -> x @ W.T + b (W (out, in), torch's Linear); ``transpose=False``: x @ W + b (tied)."""
    wt, b = f32(w.T if transpose else w), f32(b)

    def step(x: np.ndarray) -> np.ndarray:
        y = x @ wt
        y += b
        return np.maximum(y, 0, out=y) if relu else y

    return step


# ConvTranspose2d(k=3, padding=1) as taps: output pixel (r, c) sums x[i, j] @ W[:, :, kr, kc] over the
# input pixels with r = i * stride + kr - 1 (and likewise for columns). With the input zero-padded, each
# output phase reads a few shifted copies of it, so the layer is ONE matmul of the shifted copies side by
# side (im2col) with a block weight: a handful of numpy calls per layer, each releasing and retaking the
# GIL once, instead of k * k strided adds -- the decode shares the GIL with the GUI thread (issue 11).
# stride 2 (output_padding 1): output row 2m reads input row m with kr = 1; row 2m + 1 reads input row
# m with kr = 2 and row m + 1 with kr = 0. Per phase p (row parity): [(shift, kr), ...].
_S2_TAPS = {0: [(0, 1)], 1: [(0, 2), (1, 0)]}


def conv_t_weights(w: np.ndarray, stride: int) -> np.ndarray:
    """The block weight (shifts * Cin, phases * Cout) of a torch ConvTranspose2d weight (Cin, Cout, 3, 3)."""
    cin, cout = w.shape[:2]
    if stride == 2:  # shifts (dy, dx) in {0, 1}^2; phases (pr, pc) in {0, 1}^2
        big = np.zeros((2, 2, cin, 2, 2, cout), np.float32)
        for pr, rows in _S2_TAPS.items():
            for pc, cols in _S2_TAPS.items():
                for dy, kr in rows:
                    for dx, kc in cols:
                        big[dy, dx, :, pr, pc, :] = w[:, :, kr, kc]
        return big.reshape(4 * cin, 4 * cout)
    # stride 1: output row r reads padded input row r + dy with kr = 2 - dy, dy in {0, 1, 2}
    big = np.zeros((3, 3, cin, cout), np.float32)
    for dy in range(3):
        for dx in range(3):
            big[dy, dx] = w[:, :, 2 - dy, 2 - dx]
    return big.reshape(9 * cin, cout)


def conv_transpose2d(x: np.ndarray, big: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    """torch's ConvTranspose2d(k=3, padding=1; stride 2 with output_padding=1, or stride 1) on NHWC input:
    x (N, H, W, Cin) -> (N, stride * H, stride * W, Cout); ``big`` from :func:`conv_t_weights`."""
    n, h, w, cin = x.shape
    cout = len(bias)
    pad = 1 if stride == 2 else 2  # stride 2 reads rows m and m + 1; stride 1 rows r - 1 .. r + 1
    off = 0 if stride == 2 else 1
    xp = np.zeros((n, h + pad, w + pad, cin), np.float32)
    xp[:, off : off + h, off : off + w] = x
    span = range(2) if stride == 2 else range(3)
    cols = np.concatenate([xp[:, dy : dy + h, dx : dx + w] for dy in span for dx in span], axis=3)
    y = cols.reshape(n * h * w, -1) @ big
    if stride == 2:  # (N, H, W, pr, pc, Cout) -> rows 2m + pr, columns 2j + pc
        y = y.reshape(n, h, w, 2, 2, cout).transpose(0, 1, 3, 2, 4, 5).reshape(n, 2 * h, 2 * w, cout)
    else:
        y = y.reshape(n, h, w, cout)
    y += bias
    return y


def conv_transpose2d_scatter(x: np.ndarray, wmat: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    """The same layer for large batches: one matmul with ``wmat`` (Cin, 3 * 3 * Cout), the torch weight laid
    out (Cin, kr, kc, Cout), then 9 strided adds into the full output and the padding cut off. More numpy
    calls than :func:`conv_transpose2d`, but no shifted copies and no zero blocks: about twice as fast for
    the 900 cells of a manifold grid."""
    n, h, w, cin = x.shape
    cout = len(bias)
    cols = (x.reshape(-1, cin) @ wmat).reshape(n, h, w, 3, 3, cout)
    extra = 1 if stride == 2 else 0  # output_padding
    full = np.zeros((n, (h - 1) * stride + 3 + extra, (w - 1) * stride + 3 + extra, cout), np.float32)
    for a in range(3):
        for b in range(3):
            full[:, a : a + stride * (h - 1) + 1 : stride, b : b + stride * (w - 1) + 1 : stride] += cols[:, :, :, a, b]
    return full[:, 1 : 1 + stride * h, 1 : 1 + stride * w] + bias


SMALL_BATCH = 16  # up to this many rows (the pane's 1 or 2, a class row): the few-calls form of the layer


def conv_t_step(w: np.ndarray, b: np.ndarray, stride: int, relu: bool):
    if w.shape[2:] != (3, 3) or stride not in (1, 2):
        raise ValueError("only the family's 3x3 transposed convolutions are covered")
    w = np.asarray(w, np.float32)
    big, wmat, b = conv_t_weights(w, stride), f32(np.transpose(w, (0, 2, 3, 1)).reshape(len(w), -1)), f32(b)

    def step(x: np.ndarray) -> np.ndarray:
        if len(x) <= SMALL_BATCH:
            y = conv_transpose2d(x, big, b, stride)
        else:
            y = conv_transpose2d_scatter(x, wmat, b, stride)
        return np.maximum(y, 0, out=y) if relu else y

    return step


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) as 0.5 + 0.5 tanh(x / 2): no overflow for large |x|."""
    x *= 0.5
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x
