"""Semantic masks from segmentation-models-pytorch (smp) checkpoints.

A model is a local directory saved with smp's ``save_pretrained`` or a
Hugging Face id smp can load (``smp-hub/segformer-b2-1024x1024-city-160k``).
Hub models are downloaded into the Hugging Face cache once, online; after
that they load offline (``HF_HUB_OFFLINE=1``, or whenever the hub cannot be
reached). Class names come from ``--labels labels.json``, a ``labels.json``
or ``config.json`` beside a local checkpoint, or, for ids of the ADE20K and
Cityscapes families (``*-ade-*``, ``*-city-*``), the lists shipped in
``vidstyle/assets/labels``.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import os
import re
import socket
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import SettingError
from .. import assets

FAMILIES = {  # hub id pattern -> shipped class list
    re.compile(r"(?:^|[-_/])ade(?:20k)?(?:[-_/]|$)", re.IGNORECASE): "ade20k.json",
    re.compile(r"(?:^|[-_/])city(?:scapes)?(?:[-_/]|$)", re.IGNORECASE): "cityscapes.json",
}
# The ImageNet statistics every imagenet-pretrained smp encoder is normalised with (smp's own
# get_preprocessing_params fetches them from the hub, which may be out of reach).
IMAGENET = {"input_space": "RGB", "input_range": [0, 1], "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def offline() -> bool:
    """No hub: ``HF_HUB_OFFLINE`` is set, or huggingface.co does not resolve (fail now, not after retries)."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    try:
        socket.getaddrinfo("huggingface.co", 443)
    except OSError:
        return True
    return False


def load_model(model: str) -> tuple[torch.nn.Module, dict]:
    """``(network, its config.json)`` from a local directory or a hub id; one clear error when it cannot be had."""
    import segmentation_models_pytorch as smp

    local = Path(model).expanduser()
    if local.exists():
        if not (local / "config.json").is_file():
            raise ValueError(f"expected an smp model directory with config.json (save_pretrained), got {model!r}")
        config = json.loads((local / "config.json").read_text())
        with contextlib.redirect_stdout(io.StringIO()):  # smp prints "Loading weights from ..."
            return smp.from_pretrained(str(local)).eval(), config
    cut_off = offline()
    try:
        from huggingface_hub import hf_hub_download

        config_file = hf_hub_download(model, "config.json", local_files_only=cut_off)
        with contextlib.redirect_stdout(io.StringIO()):
            network = smp.from_pretrained(model, local_files_only=cut_off).eval()
    except Exception as exc:  # the hub client raises many types for a missing file, id or network
        where = ("it is not in the Hugging Face cache and the hub is out of reach: run once online to cache it"
                 if cut_off else "the Hugging Face hub did not provide it (is the id right?)")
        raise ValueError(f"cannot load segmentation model {model!r}: no such local directory, and {where} "
                         f"({type(exc).__name__})") from None
    return network, json.loads(Path(config_file).read_text())


def label_names(model: str, labels: Path | None, num_classes: int) -> list[str]:
    """Class names, index-ordered: ``labels``, labels.json / config.json of a local model, or a known family."""
    local = Path(model).expanduser()
    candidates = [labels] if labels is not None else []
    if local.is_dir():
        candidates += [local / "labels.json", local / "config.json"]
    for path in candidates:
        if not path.is_file():
            if path is labels:
                raise SettingError("labels", f"labels file {os.fspath(labels)!r} does not exist")
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
    for pattern, shipped in FAMILIES.items():
        if pattern.search(model):
            names = json.loads(assets.path("labels", shipped).read_text())
            if len(names) == num_classes:
                return names
    raise SettingError("labels", f"model {model!r} has no class names: give `labels` labels.json (a list of "
                                  f"{num_classes} names)")


def preprocessing(config: dict) -> dict:
    """Normalisation of the model's encoder: smp's own parameters when they are at hand, else ImageNet's."""
    encoder = config.get("encoder_name")
    if encoder and not offline():
        try:
            from segmentation_models_pytorch.encoders import get_preprocessing_params

            return get_preprocessing_params(encoder, pretrained="imagenet")
        except Exception:  # an encoder without ImageNet settings, or a hub hiccup
            pass
    return IMAGENET


class SmpSegmenter:
    """Callable ``frames -> soft masks``: the summed probabilities of the chosen classes per pixel."""

    def __init__(self, model: str, classes: Sequence[str], labels: Path | None = None,
                 device: torch.device | str = "cpu") -> None:
        if not classes:
            raise SettingError("classes", "expected `classes` with an smp `segment` model, e.g. sky,building")
        self.net, config = load_model(model)
        self.device = torch.device(device)
        self.net = self.net.to(self.device)
        head = getattr(self.net, "segmentation_head", None)
        num_classes = int(config.get("classes") or (head[0].out_channels if head is not None else 0))
        names = label_names(model, labels, num_classes)
        for name in classes:
            if name not in names:
                close = difflib.get_close_matches(name, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"unknown class {name!r}{hint} for model {model!r}: expected one of "
                                 f"{', '.join(names)}")
        self.indices = [names.index(c) for c in classes]
        self.binary = num_classes == 1
        self.params = preprocessing(config)

    @torch.no_grad()
    def __call__(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        from segmentation_models_pytorch.encoders._preprocessing import preprocess_input

        batch = preprocess_input(np.stack(frames).astype(np.float32) / 255.0, **self.params)
        x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().to(self.device)
        h, w = x.shape[-2:]
        pad_h, pad_w = (-h) % 32, (-w) % 32  # smp encoders need multiples of 32
        padded = (h + pad_h, w + pad_w)
        logits = self.net(F.pad(x, (0, pad_w, 0, pad_h), mode="reflect"))
        if tuple(logits.shape[-2:]) != padded:  # heads that predict at a fraction of the input size
            logits = F.interpolate(logits, size=padded, mode="bilinear", align_corners=False)
        logits = logits[..., :h, :w]
        probs = logits.sigmoid() if self.binary else logits.softmax(1)
        chosen = probs[:, self.indices].sum(1).clamp(0, 1)
        return [m.cpu().numpy().astype(np.float32) for m in chosen]
