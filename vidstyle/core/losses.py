"""Loss terms as pure functions. No state, no I/O.

Normalisation (why the default weights carry across image sizes):

* Gram matrices are divided by the number of positions, so they are
  per-position feature statistics, not sums that grow with the image.
* Content and style terms are *relative* errors: squared error divided by the
  squared magnitude of the target. They are dimensionless, independent of
  resolution and of the very different activation scales of VGG layers, so
  every style layer contributes on the same footing without per-layer
  weights. (Gatys et al. 2016 use raw sums with a fixed 1/(4N^2M^2); the
  relative form is our departure, chosen so the weights need no retuning.)
* Total variation and the temporal term are means over pixels in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

EPS = 1e-8


def _at_least_fp32(tensor: torch.Tensor) -> torch.Tensor:
    """Half-precision activations are promoted: Grams and reductions run in fp32 (or fp64)."""
    return tensor.float() if tensor.dtype in (torch.float16, torch.bfloat16) else tensor


class _Gram(torch.autograd.Function):
    """``scale * X^T X`` for rows ``X (B, N, C)``, with a one-product backward ``X (dG + dG^T)``.

    Autograd would treat the two uses of X separately and run two products;
    this halves the backward cost of every Gram (see BENCHMARKS.md, overhead).
    bf16 rows (activations of a bf16 network) are multiplied in bf16 with fp32
    accumulation, 3-4x faster on CPUs and GPUs with bf16 units; the Gram itself
    is returned in fp32, so every loss reduction stays fp32.
    """

    @staticmethod
    def forward(ctx, rows: torch.Tensor, scale: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(rows)
        ctx.scale = scale
        product = torch.bmm(rows.transpose(1, 2), rows)
        return product.to(torch.promote_types(product.dtype, torch.float32)) * scale

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (rows,) = ctx.saved_tensors
        # Scale the (C, C) matrix, not the (N, C) product: one pass less over the largest rows.
        symmetric = ((grad + grad.transpose(1, 2)) * ctx.scale).to(rows.dtype)
        return torch.bmm(rows, symmetric), None


def _rows(features: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W) -> (B, H*W, C)``: free for channels-last activations, so positions can be gathered as rows.

    bf16 stays bf16 (see :class:`_Gram`); float16 is promoted (no fp32 accumulation guarantee everywhere).
    """
    b, c, h, w = features.shape
    rows = features if features.dtype == torch.bfloat16 else _at_least_fp32(features)
    return rows.permute(0, 2, 3, 1).reshape(b, h * w, c)


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix per position: ``(B, C, H, W) -> (B, C, C)`` in fp32 (bf16 inputs: bf16 products)."""
    if features.ndim != 4:
        raise ValueError(f"expected features of shape (B, C, H, W), got {tuple(features.shape)}")
    b, c, h, w = features.shape
    return _Gram.apply(_rows(features), 1.0 / (h * w))


def masked_gram(features: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """Guided Gram (Gatys et al. 2017): ``sum_p T_p^2 f_p f_p^T / sum_p T_p^2``.

    ``features (B, C, H, W)``, ``guide (B, 1, H, W)`` in [0, 1] at the
    features' resolution. Normalising by the guide's mass makes the statistics
    independent of the region's area. Computed as the Gram of ``T * F``.
    """
    if guide.shape[-2:] != features.shape[-2:] or guide.shape[1] != 1:
        raise ValueError(f"expected a guide of shape (B, 1, {features.shape[-2]}, {features.shape[-1]}), got {tuple(guide.shape)}")
    b = features.shape[0]
    weight = _rows(_at_least_fp32(guide))  # (B, HW, 1)
    mass = float(weight.pow(2).sum().clamp_min(EPS)) / b
    rows = _rows(features)
    return _Gram.apply(rows * weight.to(rows.dtype), 1.0 / mass)


def sparse_masked_gram(features: torch.Tensor, positions: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """:func:`masked_gram` over the guide's support only: ``positions (P,)`` flat indices, ``values (P,)`` = T_p.

    Same value as the dense form; the matrix product shrinks to the region's
    size, so several regions cost about one whole-image Gram.
    """
    rows = _rows(features).index_select(1, positions) * values[:, None].to(features.dtype)
    return _Gram.apply(rows, 1.0 / float(values.pow(2).sum().clamp_min(EPS)))


def relative_error(value: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``||value - target||^2 / ||target||^2`` over all but the batch axis, averaged over the batch."""
    value, target = _at_least_fp32(value), _at_least_fp32(target)
    dims = tuple(range(1, value.ndim))
    num = (value - target).pow(2).sum(dims)
    den = target.pow(2).sum(dims).clamp_min(EPS)
    return (num / den).mean()


def content_loss(features: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Mean over layers of the relative squared error of the activations."""
    losses = [relative_error(features[name], target) for name, target in targets.items()]
    return torch.stack(losses).mean()


def style_loss(grams: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Mean over layers of the relative squared error of the Gram matrices."""
    losses = [relative_error(grams[name], target) for name, target in targets.items()]
    return torch.stack(losses).mean()


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring pixels of ``(B, 3, H, W)``."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return _at_least_fp32(dx).pow(2).mean() + _at_least_fp32(dy).pow(2).mean()


def temporal_loss(image: torch.Tensor, warped: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Ruder et al. 2016: ``(1/D) sum c * (x - w)^2`` with ``D = 3 H W``.

    ``image`` and ``warped`` are ``(B, 3, H, W)``; ``weight`` is the per-pixel
    reliability ``c`` of shape ``(B, 1, H, W)`` in [0, 1].
    """
    if weight.shape[-2:] != image.shape[-2:]:
        raise ValueError(f"expected a weight of spatial size {tuple(image.shape[-2:])}, got {tuple(weight.shape[-2:])}")
    return (weight * (_at_least_fp32(image) - _at_least_fp32(warped)).pow(2)).mean()
