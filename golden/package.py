"""Versioned model package (npz with a JSON manifest): loading, validation and overflow proof.

A package is one ``.npz`` file (no pickles) with:

- ``manifest``: a 0-d unicode array holding JSON (see ``docs/results.md`` / the exporter), with
  ``format = "neural-snn-package"``, ``version = 1``, ``network``, ``width``, ``dataset``,
  ``classes``, ``acc_bits``, ``input`` and ``layers`` (the layer graph in execution order).
- ``<layer>.weight``: int8, ``[cout, cin, k, k]`` for conv, ``[cout, cin]`` for fc.
- ``<layer>.theta``: int32 ``[cout]`` thresholds of conv layers (spike = acc >= theta).
- ``<layer>.bias``: int32 ``[cout]`` of the fc layer (added to its accumulators).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = "neural-snn-package"
VERSION = 1
KINDS = ("conv", "maxpool", "or", "qkta", "qkca", "w2ttfs", "fc")
_REQUIRED = {
    "conv": ("cin", "cout", "k", "stride", "pad"),
    "maxpool": (),
    "or": (),
    "qkta": ("heads", "theta_tok"),
    "qkca": ("theta_ch",),
    "w2ttfs": ("ws",),
    "fc": ("cin", "cout"),
}


class PackageError(ValueError):
    """A model package is missing, malformed, or could overflow its accumulators."""


class OverflowRiskError(PackageError):
    """Some accumulator of a layer could leave the signed ``acc_bits`` range."""


@dataclass
class Package:
    """A loaded package: the manifest, its layer list and the integer arrays."""

    manifest: dict
    arrays: dict[str, np.ndarray]
    path: str = ""

    @property
    def layers(self) -> list[dict]:
        """Layer graph in execution order."""
        return self.manifest["layers"]

    @property
    def name(self) -> str:
        """File stem, e.g. ``vgg11_w025_kd``."""
        return Path(self.path).stem

    def weight(self, layer: str) -> np.ndarray:
        """int8 weights of a conv or fc layer."""
        return self.arrays[f"{layer}.weight"]

    def theta(self, layer: str) -> np.ndarray:
        """int32 thresholds of a conv layer."""
        return self.arrays[f"{layer}.theta"]

    def bias(self, layer: str) -> np.ndarray:
        """int32 bias of the fc layer."""
        return self.arrays[f"{layer}.bias"]


def max_inputs(layers: list[dict]) -> dict[str, int]:
    """Largest input value of each conv/fc layer: 255 for pixels, ws*ws after W2TTFS, else 1."""
    by_name = {n["name"]: n for n in layers}
    out = {}
    for n in layers:
        if n["kind"] in ("conv", "fc"):
            src = n["src"][0]
            if src == "input":
                out[n["name"]] = 255
            elif by_name[src]["kind"] == "w2ttfs":
                out[n["name"]] = int(by_name[src]["ws"]) ** 2
            else:
                out[n["name"]] = 1
    return out


def accumulator_bounds(layers: list[dict], arrays: dict[str, np.ndarray]) -> dict[str, dict]:
    """Worst-case accumulator magnitude per conv/fc layer and the signed bits it needs.

    For output channel o, every partial sum is bounded by ``sum|w[o]| * max_in`` (+ ``|bias[o]|``
    for fc), whatever the order of accumulation (bit-planes, events or time slots). Thresholds
    must be representable too. Returns ``{layer: {"bound", "theta_max", "bits"}}``.
    """
    mx = max_inputs(layers)
    out = {}
    for n in layers:
        if n["kind"] not in ("conv", "fc"):
            continue
        name = n["name"]
        w = arrays[f"{name}.weight"].astype(np.int64)
        per = np.abs(w.reshape(w.shape[0], -1)).sum(axis=1) * mx[name]
        extra = 0
        if n["kind"] == "fc":
            per = per + np.abs(arrays[f"{name}.bias"].astype(np.int64))
        else:
            extra = int(np.abs(arrays[f"{name}.theta"].astype(np.int64)).max(initial=0))
        bound = int(per.max(initial=0))
        need = max(bound, extra)
        out[name] = {"bound": bound, "theta_max": extra, "bits": need.bit_length() + 1}
    return out


def check_overflow(layers: list[dict], arrays: dict[str, np.ndarray], acc_bits: int) -> dict:
    """Raise :class:`OverflowRiskError` naming the first layer that needs more than ``acc_bits``."""
    bounds = accumulator_bounds(layers, arrays)
    for name, b in bounds.items():
        if b["bits"] > acc_bits:
            raise OverflowRiskError(
                f"layer {name!r}: worst-case accumulator {b['bound']} (threshold up to "
                f"{b['theta_max']}) needs {b['bits']} signed bits, more than acc_bits={acc_bits}"
            )
    return bounds


def validate(manifest: dict, arrays: dict[str, np.ndarray], where: str = "package") -> None:
    """Check the manifest and arrays against each other; raise :class:`PackageError`."""
    if not isinstance(manifest, dict):
        raise PackageError(f"{where}: manifest is not a JSON object")
    if manifest.get("format") != FORMAT:
        raise PackageError(f"{where}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    if manifest.get("version") != VERSION:
        raise PackageError(f"{where}: version {manifest.get('version')!r} unsupported")
    for key in ("network", "classes", "acc_bits", "layers", "input"):
        if key not in manifest:
            raise PackageError(f"{where}: manifest lacks {key!r}")
    layers = manifest["layers"]
    if not isinstance(layers, list) or not layers:
        raise PackageError(f"{where}: 'layers' must be a non-empty list")
    seen = {"input"}
    for i, n in enumerate(layers):
        if not isinstance(n, dict) or "name" not in n or "kind" not in n or "src" not in n:
            raise PackageError(f"{where}: layer #{i} lacks name/kind/src")
        name, kind = n["name"], n["kind"]
        if kind not in KINDS:
            raise PackageError(f"{where}: layer {name!r} has unknown kind {kind!r}")
        for f in _REQUIRED[kind]:
            if f not in n:
                raise PackageError(f"{where}: layer {name!r} ({kind}) lacks field {f!r}")
        for s in n["src"]:
            if s not in seen:
                raise PackageError(f"{where}: layer {name!r} reads {s!r} before it is computed")
        if kind in ("or", "qkta", "qkca") and len(n["src"]) != 2:
            raise PackageError(f"{where}: layer {name!r} needs two sources")
        if kind == "conv":
            _check_array(
                arrays, f"{name}.weight", np.int8, (n["cout"], n["cin"], n["k"], n["k"]), where
            )
            _check_array(arrays, f"{name}.theta", np.int32, (n["cout"],), where)
            if n["k"] not in (1, 3) or n["stride"] not in (1, 2) or n["pad"] != n["k"] // 2:
                raise PackageError(f"{where}: layer {name!r}: unsupported k/stride/pad")
        if kind == "fc":
            _check_array(arrays, f"{name}.weight", np.int8, (n["cout"], n["cin"]), where)
            _check_array(arrays, f"{name}.bias", np.int32, (n["cout"],), where)
        if kind == "qkta" and n.get("out_shape") and n["out_shape"][0] % n["heads"]:
            raise PackageError(f"{where}: layer {name!r}: channels not divisible by heads")
        seen.add(name)
    if layers[-1]["kind"] != "fc":
        raise PackageError(f"{where}: the last layer must be the fc classifier")
    if layers[-1]["cout"] != manifest["classes"]:
        raise PackageError(
            f"{where}: classifier has {layers[-1]['cout']} outputs, "
            f"manifest says {manifest['classes']} classes"
        )


def _check_array(arrays, key, dtype, shape, where):
    if key not in arrays:
        raise PackageError(f"{where}: array {key!r} missing")
    a = arrays[key]
    if a.dtype != dtype or tuple(a.shape) != tuple(shape):
        raise PackageError(
            f"{where}: array {key!r} is {a.dtype}{list(a.shape)}, expected "
            f"{np.dtype(dtype)}{list(shape)}"
        )


def load_package(path: str | Path) -> Package:
    """Load, validate and overflow-check a package; raises :class:`PackageError` on any problem."""
    path = Path(path)
    if not path.is_file():
        raise PackageError(f"{path}: no such package")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise PackageError(f"{path}: not a readable npz package ({e})") from e
    if "manifest" not in arrays:
        raise PackageError(f"{path}: no 'manifest' entry")
    try:
        manifest = json.loads(str(arrays.pop("manifest")))
    except (json.JSONDecodeError, TypeError) as e:
        raise PackageError(f"{path}: manifest is not valid JSON ({e})") from e
    validate(manifest, arrays, str(path))
    check_overflow(manifest["layers"], arrays, int(manifest["acc_bits"]))
    return Package(manifest, arrays, str(path))
