"""Built-in person segmentation: MediaPipe's Selfie Segmentation models (Apache 2.0), run by OpenCV's DNN.

Two models ship with the package (``vidstyle/assets/models``, credits in
``NOTICE.md``): a square one (256x256 input) and a landscape one (256x144).
Each frame goes to the model whose input aspect is closer to its own, at the
model's input size, as RGB in [0, 1]; the person-probability map comes back
at that size and is resized to the frame. No download, no extra dependency.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .. import assets

MODELS = {  # file -> (width, height) of its input
    "selfie_segmentation.tflite": (256, 256),
    "selfie_segmentation_landscape.tflite": (256, 144),
}


class PersonSegmenter:
    """Callable ``frames -> person probabilities``: one ``float32 (H, W)`` map in [0, 1] per RGB frame."""

    def __init__(self) -> None:
        self.models = {size: cv2.dnn.readNetFromTFLite(str(assets.path("models", name)))
                       for name, size in MODELS.items()}

    def _model_for(self, width: int, height: int) -> tuple[tuple[int, int], cv2.dnn.Net]:
        """The model whose input aspect is closest to the frame's; portrait frames use the square one."""
        aspect = math.log(width / height)
        size = min(self.models, key=lambda s: abs(math.log(s[0] / s[1]) - aspect))
        return size, self.models[size]

    def __call__(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        masks = []
        for frame in frames:
            height, width = frame.shape[:2]
            (in_width, in_height), net = self._model_for(width, height)
            blob = cv2.dnn.blobFromImage(frame, 1 / 255.0, (in_width, in_height), swapRB=False)  # RGB already
            net.setInput(blob)
            probability = net.forward().reshape(in_height, in_width)
            masks.append(np.clip(cv2.resize(probability, (width, height), interpolation=cv2.INTER_LINEAR), 0, 1)
                         .astype(np.float32))
        return masks
