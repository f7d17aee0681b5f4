"""Segmentation masks from segmentation-models-pytorch (smp) checkpoints.

A model is a local directory saved with smp's ``save_pretrained`` or a
Hugging Face id that smp can load (downloaded only when online). Class names
come from ``--labels labels.json``, a ``labels.json`` beside the checkpoint,
or ``id2label``/``labels`` in its ``config.json``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_model(model: str) -> torch.nn.Module:
    """smp.from_pretrained on a local directory or a hub id; one clear error when it cannot be had."""
    import segmentation_models_pytorch as smp

    local = Path(model).expanduser()
    if local.exists() and not (local / "config.json").is_file():
        raise ValueError(f"expected an smp model directory with config.json (save_pretrained), got {model!r}")
    if not local.exists() and not os.environ.get("HF_HUB_OFFLINE") and not _hub_reachable():
        # fail at once instead of the hub client's retries with back-off
        raise ValueError(f"cannot load segmentation model {model!r}: no such local directory and the Hugging Face "
                         "hub is unreachable (offline?); save one with save_pretrained and pass its directory")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # smp prints "Loading weights from ..."
            return smp.from_pretrained(str(local) if local.exists() else model).eval()
    except Exception as exc:  # the hub client raises many types when offline or the id is wrong
        raise ValueError(
            f"cannot load segmentation model {model!r}: not a local smp directory and the Hugging Face hub "
            f"did not provide it ({type(exc).__name__}); save one with save_pretrained and pass its directory"
        ) from None


def _hub_reachable(host: str = "huggingface.co") -> bool:
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def label_names(model: str, labels: Path | None, num_classes: int) -> list[str]:
    """Class names, index-ordered, from --labels, labels.json or config.json."""
    candidates = [labels] if labels is not None else []
    local = Path(model).expanduser()
    if local.is_dir():
        candidates += [local / "labels.json", local / "config.json"]
    for path in candidates:
        if path is None or not path.is_file():
            if path is labels and labels is not None:
                raise FileNotFoundError(f"labels file {str(labels)!r} does not exist")
            continue
        data = json.loads(path.read_text())
        if isinstance(data, dict):
            data = data.get("id2label") or data.get("labels") or (data if path.name == "labels.json" else None)
        if isinstance(data, dict):
            data = [data[k] for k in sorted(data, key=int)]
        if isinstance(data, list):
            if len(data) != num_classes:
                raise ValueError(f"{path} names {len(data)} classes but the model has {num_classes}")
            return [str(name) for name in data]
    raise ValueError(f"model {model!r} has no class names: pass --labels labels.json (a list of {num_classes} names)")


class SmpSegmenter:
    """Callable ``frames -> soft masks``: the summed probabilities of the chosen classes per pixel."""

    def __init__(self, model: str, classes: Sequence[str], labels: Path | None = None,
                 device: torch.device | str = "cpu") -> None:
        if not classes:
            raise ValueError("expected --classes with --segment, e.g. --classes sky,building")
        self.net = load_model(model).to(device)
        self.device = torch.device(device)
        head = getattr(self.net, "segmentation_head", None)
        num_classes = int(head[0].out_channels) if head is not None else 0
        names = label_names(model, labels, num_classes)
        unknown = [c for c in classes if c not in names]
        if unknown:
            raise ValueError(f"unknown class {unknown[0]!r} for model {model!r}: expected one of {', '.join(names)}")
        self.indices = [names.index(c) for c in classes]
        self.binary = num_classes == 1

    @torch.no_grad()
    def __call__(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        batch = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(255).to(self.device)
        mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)
        h, w = batch.shape[-2:]
        pad_h, pad_w = (-h) % 32, (-w) % 32  # smp encoders need multiples of 32
        x = F.pad((batch - mean) / std, (0, pad_w, 0, pad_h), mode="reflect")
        logits = self.net(x)[..., :h, :w]
        probs = logits.sigmoid() if self.binary else logits.softmax(1)
        chosen = probs[:, self.indices].sum(1).clamp(0, 1)
        return [m.cpu().numpy().astype(np.float32) for m in chosen]
