"""Bit-exact integer model of the NEURAL core (numpy), the package loader and per-layer functions.

Spike maps are uint8 0/1 arrays laid out ``[C, H, W]`` per image (``[N, C, H, W]`` batched);
pixels enter as uint8 ``[3, H, W]``. See :mod:`golden.layers` and :mod:`golden.model`.
"""

from .model import Trace, predict, run
from .package import Package, PackageError, load_package

__all__ = ["Package", "PackageError", "Trace", "load_package", "predict", "run"]
