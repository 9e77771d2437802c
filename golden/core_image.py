"""Compiles a model package into what the RTL core loads: layer program, store rows, packets.

The core (`rtl/neural_top.sv`) runs a program of ops, four 32-bit words each, over spike maps
held in numbered slots; weights and thresholds sit in on-chip stores in the conv engine's row
layout. Field layouts are documented in docs/architecture.md ("Layer program")."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .package import Package

MAGIC = 0xA5
ATTN_NONE, ATTN_Q, ATTN_K = 0, 1, 2
MAX_HEADS = 8
EXT_GRANULE = 4096  # an external layer starts at EXT_BASE + its row field x 4 KiB
EXTERNAL = ("auto", "all", "none")
K_PROGRAM, K_WEIGHTS, K_THRESH, K_IMAGE, K_CLS_W, K_CLS_BIAS = 1, 2, 3, 4, 5, 6


class CoreImageError(ValueError):
    """The package cannot run on this core configuration; the message names the layer."""


@dataclass(frozen=True)
class CoreConfig:
    """Synthesis parameters of `neural_top` that the program must respect."""

    lanes: int = 8
    max_c: int = 128
    max_side_log2: int = 5
    acc_w: int = 24
    w_rows: int = 8192
    eng_w_rows: int = 2048
    th_rows: int = 256
    slots: int = 4
    prog_ops: int = 32
    classes: int = 10
    cls_hw_log2: int = 2
    cls_acc_w: int = 24
    ext_mem: int = 1  # the AXI4 weight port is present
    ext_data_w: int = 64

    @property
    def row_bytes(self) -> int:
        """Bytes of one engine weight row (9 weights of 8 bits per lane)."""
        return 9 * self.lanes

    @classmethod
    def from_rtl_parameters(cls, params: dict[str, int]) -> CoreConfig:
        """The configuration of a core built with these RTL parameters (others at default)."""
        names = {v: k for k, v in _RTL_NAMES.items()}
        return cls(**{names[k]: int(v) for k, v in params.items() if k in names})

    def rtl_parameters(self) -> dict[str, int]:
        return {rtl: getattr(self, name) for name, rtl in _RTL_NAMES.items()}


_RTL_NAMES = {
    "lanes": "Lanes",
    "max_c": "MaxC",
    "max_side_log2": "MaxSideLog2",
    "acc_w": "AccW",
    "w_rows": "WRows",
    "eng_w_rows": "EngWRows",
    "th_rows": "ThRows",
    "slots": "Slots",
    "prog_ops": "ProgOps",
    "classes": "Classes",
    "cls_hw_log2": "ClsHwLog2",
    "cls_acc_w": "ClsAccW",
    "ext_mem": "ExtMem",
    "ext_data_w": "ExtDataW",
}


@dataclass
class Op:
    """One program entry, with what it computes (for per-layer comparison with the golden trace)."""

    words: list[int]
    layer: str  # the package layer whose value this op writes (after fused pool/residual)
    kind: str  # "conv" or "classify"
    dst_slot: int | None
    out_shape: tuple[int, int, int]  # [C, H, W] written to the slot


@dataclass
class CoreImage:
    config: CoreConfig
    ops: list[Op]
    weight_rows: list[int] = field(default_factory=list)
    threshold_rows: list[int] = field(default_factory=list)
    cls_rows: list[int] = field(default_factory=list)
    cls_bias: list[int] = field(default_factory=list)
    # Weight rows of layers kept in external memory, as bytes from EXT_BASE (4 KiB aligned).
    ext_image: bytearray = field(default_factory=bytearray)


# ------------------------------------------------------------------------ engine row layouts


def weight_rows(w: np.ndarray, lanes: int) -> list[int]:
    """Conv weights [cout, cin, k, k] as engine rows: group-major, then input channel; byte
    (k * lanes + lane) holds the weight of output group*lanes+lane at offset k = ky*3 + kx
    (a 1x1 kernel sits at k = 4, the centre)."""
    cout, cin, kh, _ = w.shape
    groups = -(-cout // lanes)
    rows = []
    for g in range(groups):
        for c in range(cin):
            row = 0
            for lane in range(lanes):
                o = g * lanes + lane
                if o >= cout:
                    continue
                for ky in range(kh):
                    for kx in range(kh):
                        k = ky * 3 + kx if kh == 3 else 4
                        row |= (int(w[o, c, ky, kx]) & 0xFF) << ((k * lanes + lane) * 8)
            rows.append(row)
    return rows


def threshold_rows(theta: np.ndarray, lanes: int, acc_w: int) -> list[int]:
    """Per-channel thresholds as rows of `lanes` two's-complement fields of `acc_w` bits."""
    mask = (1 << acc_w) - 1
    rows = []
    for g in range(-(-len(theta) // lanes)):
        row = 0
        for lane in range(lanes):
            o = g * lanes + lane
            if o < len(theta):
                row |= (int(theta[o]) & mask) << (lane * acc_w)
        rows.append(row)
    return rows


def map_words(spikes: np.ndarray) -> list[int]:
    """[C, H, W] 0/1 map as raster-order words, bit c = channel c."""
    c, h, w = spikes.shape
    weights = [1 << i for i in range(c)]
    flat = spikes.reshape(c, h * w).astype(bool)
    return [sum(wt for wt, b in zip(weights, flat[:, p], strict=True) if b) for p in range(h * w)]


def words_to_map(words: list[int], channels: int, h: int, w: int) -> np.ndarray:
    """Inverse of `map_words`."""
    out = np.zeros((channels, h * w), np.uint8)
    for p, word in enumerate(words):
        for c in range(channels):
            out[c, p] = (word >> c) & 1
    return out.reshape(channels, h, w)


def image_words(image: np.ndarray) -> list[int]:
    """uint8 [3, H, W] (or [H, W, 3]) image as one word per position, byte c = channel c."""
    x = np.asarray(image)
    if x.dtype != np.uint8 or x.ndim != 3:
        raise CoreImageError(f"image must be uint8 [3,H,W] or [H,W,3], got {x.dtype}{x.shape}")
    if x.shape[0] != 3 and x.shape[2] == 3:
        x = x.transpose(2, 0, 1)
    if x.shape[0] != 3:
        raise CoreImageError(f"image must have 3 channels, got shape {x.shape}")
    return pixel_words(x)


def pixel_words(x: np.ndarray) -> list[int]:
    """[C, H, W] pixels (0..255, C <= 4) as engine input words: byte c = channel c."""
    c, h, w = x.shape
    if c > 4 or np.min(x, initial=0) < 0 or np.max(x, initial=0) > 255:
        raise CoreImageError(f"pixel map must be [C<=4, H, W] in 0..255, got {x.shape}")
    flat = np.asarray(x, np.uint32).reshape(c, h * w)
    return [int(sum(int(flat[ch, p]) << (8 * ch) for ch in range(c))) for p in range(h * w)]


# ------------------------------------------------------------------------ program fields


def conv_words(
    cin: int,
    cout: int,
    h: int,
    w: int,
    k3: bool,
    s2: bool,
    pool: bool,
    res: bool,
    pix: bool,
    src: int,
    dst: int,
    rsl: int,
    dst_en: bool,
    wbase: int,
    wrows: int,
    thbase: int,
    attn: int = ATTN_NONE,
    channel_attn: bool = False,
    heads: int = 0,
    theta: int = 0,
    external: bool = False,
) -> list[int]:
    """A conv op; `attn` ATTN_Q makes its output words build attention masks (token attention
    with `heads` and threshold `theta`, or channel attention), ATTN_K masks its output words.
    With `external` the weight rows come over the AXI4 port from EXT_BASE + wbase x 4 KiB."""
    w0 = cin | cout << 10 | h << 20 | w << 26
    w1 = (
        int(k3)
        | int(s2) << 1
        | int(pool) << 2
        | int(res) << 3
        | int(pix) << 4
        | src << 8
        | dst << 10
        | rsl << 12
        | int(dst_en) << 14
        | int(external) << 15
        | attn << 16
        | int(channel_attn) << 18
        | heads << 20
    )
    return [w0, w1, wbase | wrows << 16, thbase | theta << 16]


def classify_words(channels: int, h: int, w: int, src: int, hw_log2: int, ws_log2: int) -> list:
    w0 = channels << 10 | h << 20 | w << 26
    w1 = 1 << 31 | src << 8 | hw_log2 << 20 | ws_log2 << 24
    return [w0, w1, 0, 0]


# ------------------------------------------------------------------------ compiler


def _shapes(pkg: Package) -> dict[str, tuple[int, int, int]]:
    """[C, H, W] of every value in the layer graph."""
    _, h, w = pkg.manifest["input"].get("shape", [3, 32, 32])
    shapes = {"input": (3, h, w)}
    for n in pkg.layers:
        c, hh, ww = shapes[n["src"][0]]
        kind = n["kind"]
        if kind == "conv":
            if n["stride"] == 2:
                hh, ww = (hh + 1) // 2, (ww + 1) // 2
            shapes[n["name"]] = (n["cout"], hh, ww)
        elif kind == "maxpool":
            shapes[n["name"]] = (c, hh // 2, ww // 2)
        elif kind == "w2ttfs":
            ws = n["ws"]
            shapes[n["name"]] = (c, hh // ws, ww // ws)
        elif kind == "fc":
            shapes[n["name"]] = (n["cout"], 1, 1)
        else:
            shapes[n["name"]] = (c, hh, ww)
    return shapes


def compile_package(
    pkg: Package, cfg: CoreConfig | None = None, external: str = "auto"
) -> CoreImage:
    """Fuse pooling and residuals into the convs that feed them, allocate map slots, and lay the
    weights out in the engine's rows. `external` places layers' weights in external memory:
    "auto" those that no longer fit the on-chip store (in program order), "all" every layer,
    "none" no layer. Raises CoreImageError for anything this core cannot run."""
    cfg = cfg or CoreConfig()
    if external not in EXTERNAL:
        raise CoreImageError(f"external must be one of {', '.join(EXTERNAL)}, not {external!r}")
    if external == "all" and not cfg.ext_mem:
        raise CoreImageError(f"{pkg.name}: external weights asked for, but the core has no port")
    layers = pkg.layers
    by_name = {n["name"]: n for n in layers}
    order = {n["name"]: i for i, n in enumerate(layers)}
    shapes = _shapes(pkg)
    if pkg.manifest["acc_bits"] > cfg.acc_w:
        raise CoreImageError(
            f"{pkg.name}: accumulators need {pkg.manifest['acc_bits']} bits, core has {cfg.acc_w}"
        )
    users: dict[str, list[str]] = {}
    for n in layers:
        for s in n["src"]:
            users.setdefault(s, []).append(n["name"])

    def sole_user(name: str) -> dict | None:
        u = users.get(name, [])
        return by_name[u[0]] if len(u) == 1 else None

    # Which value each layer's output really is (pool and OR fold into their producer).
    alias: dict[str, str] = {}
    pool: dict[str, bool] = {}
    residual: dict[str, str] = {}
    # Attention: the Q conv's words build masks on their way to the map store (Q itself is not
    # stored), the K conv's words are masked there and stored as the attention's output.
    attn: dict[str, tuple] = {}
    pending_q = None
    for n in layers:
        if n["kind"] in ("qkta", "qkca"):
            q, k = n["src"]
            for role, s in (("Q", q), ("K", k)):
                if by_name.get(s, {}).get("kind") != "conv" or users[s] != [n["name"]]:
                    raise CoreImageError(
                        f"layer {n['name']}: {role} ({s}) must be a conv read only by the attention"
                    )
            if order[q] > order[k]:
                raise CoreImageError(f"layer {n['name']}: Q ({q}) must come before K ({k})")
            channel = n["kind"] == "qkca"
            theta = n["theta_ch"] if channel else n["theta_tok"]
            heads = 1 if channel else n["heads"]
            c, h, w = shapes[q]
            theta_bits = (2 * cfg.max_side_log2 + 1) if channel else cfg.max_c.bit_length()
            if not channel and not 1 <= heads <= min(MAX_HEADS, c):
                raise CoreImageError(f"layer {n['name']}: {heads} heads (1..{MAX_HEADS})")
            if not 0 <= theta < 1 << theta_bits:
                raise CoreImageError(
                    f"layer {n['name']}: threshold {theta} does not fit {theta_bits} bits"
                )
            attn[q] = (ATTN_Q, channel, heads, theta)
            attn[k] = (ATTN_K, False, 0, 0)
            alias[n["name"]] = k
    for n in layers:
        # One mask store: a Q op's masks must be used by its K op before the next Q op.
        role = attn.get(n["name"], (ATTN_NONE,))[0]
        if role == ATTN_Q:
            if pending_q is not None:
                raise CoreImageError(f"layer {n['name']}: attention Q while {pending_q} waits")
            pending_q = n["name"]
        elif role == ATTN_K:
            pending_q = None
    for n in layers:
        if n["kind"] != "conv":
            continue
        name = n["name"]
        nxt = sole_user(name)
        if nxt is not None and nxt["kind"] == "maxpool":
            pool[name] = True
            alias[nxt["name"]] = name
            nxt = sole_user(nxt["name"])
        if nxt is not None and nxt["kind"] == "or":
            me = next(s for s in nxt["src"] if alias.get(s, s) == name)
            other = next(s for s in nxt["src"] if s != me)
            other_v = alias.get(other, other)
            other_producer = by_name.get(other_v)
            # Fold the OR into whichever input is computed last.
            if other_producer is None or order[other_v] < order[name]:
                residual[name] = other
                alias[nxt["name"]] = name
    for n in layers:
        if n["kind"] in ("maxpool", "or") and n["name"] not in alias:
            raise CoreImageError(f"layer {n['name']}: {n['kind']} not directly after a conv")

    def value(name: str) -> str:
        while name in alias:
            name = alias[name]
        return name

    convs = [n for n in layers if n["kind"] == "conv"]
    w2 = [n for n in layers if n["kind"] == "w2ttfs"]
    fcs = [n for n in layers if n["kind"] == "fc"]
    if len(w2) != 1 or len(fcs) != 1 or layers[-1]["kind"] != "fc":
        raise CoreImageError(f"{pkg.name}: the core needs one W2TTFS and a final fc layer")

    # Last reader of every value, in program order (convs, then the classifier).
    prog_layers = [*convs, w2[0]]
    last_use: dict[str, int] = {}
    for i, n in enumerate(prog_layers):
        reads = [value(n["src"][0])]
        if n["name"] in residual:
            reads.append(value(residual[n["name"]]))
        for r in reads:
            last_use[r] = i

    img = CoreImage(cfg, [])
    slot_of = {"input": 0}
    holder = {0: "input"}  # slot -> the value it holds now
    free = list(range(1, cfg.slots))
    for i, n in enumerate(prog_layers):
        src = value(n["src"][0])  # the op that holds the input (for its slot)
        c, h, w = shapes[n["src"][0]]  # the input as this layer sees it (after pool/OR)
        if n["kind"] == "w2ttfs":
            side = h
            if h != w or side & (side - 1) or side > 1 << cfg.cls_hw_log2:
                raise CoreImageError(f"layer {n['name']}: last map {h}x{w} not supported")
            ws = n["ws"]
            fc = fcs[0]
            if fc["cout"] != cfg.classes or c > cfg.max_c or ws != side:
                raise CoreImageError(
                    f"layer {fc['name']}: {fc['cout']} classes / {c} channels / window {ws} "
                    f"do not fit this core ({cfg.classes} classes, global window)"
                )
            words = classify_words(
                c, h, w, slot_of[src], side.bit_length() - 1, ws.bit_length() - 1
            )
            img.ops.append(Op(words, fc["name"], "classify", None, (fc["cout"], 1, 1)))
            wfc = pkg.weight(fc["name"]).astype(np.int64)
            for ch in range(c):
                row = 0
                for o in range(cfg.classes):
                    row |= (int(wfc[o, ch]) & 0xFF) << (8 * o)
                img.cls_rows.append(row)
            img.cls_bias = [int(b) for b in pkg.bias(fc["name"])]
            limit = 1 << (cfg.cls_acc_w - 1)
            if any(not -limit <= b < limit for b in img.cls_bias):
                raise CoreImageError(f"layer {fc['name']}: bias beyond {cfg.cls_acc_w} bits")
            break
        name = n["name"]
        pix = n["src"] == ["input"]
        too_wide = (pix and 8 * c > cfg.max_c) or max(c, n["cout"]) > cfg.max_c
        if too_wide or max(h, w) > 1 << cfg.max_side_log2:
            side = 1 << cfg.max_side_log2
            planes = f"; its 8 bit planes of {c} channels need MaxC >= {8 * c}" if pix else ""
            raise CoreImageError(
                f"layer {name}: {c}->{n['cout']} channels at {h}x{w} too big for this core "
                f"(MaxC {cfg.max_c}, maps up to {side}x{side}{planes})"
            )
        wt = pkg.weight(name)
        rows = weight_rows(wt, cfg.lanes)
        if len(rows) > cfg.eng_w_rows:
            raise CoreImageError(f"layer {name}: {len(rows)} weight rows > {cfg.eng_w_rows}")
        fits = len(img.weight_rows) + len(rows) <= cfg.w_rows
        ext = cfg.ext_mem and (external == "all" or (external == "auto" and not fits))
        thbase = len(img.threshold_rows)
        if ext:
            wbase = len(img.ext_image) // EXT_GRANULE
            if wbase >= 1 << 16:
                raise CoreImageError(f"layer {name}: external weights beyond 256 MiB")
            for r in rows:
                img.ext_image += r.to_bytes(cfg.row_bytes, "little")
            img.ext_image += bytes(-len(img.ext_image) % EXT_GRANULE)
        else:
            wbase = len(img.weight_rows)
            img.weight_rows += rows
        img.threshold_rows += threshold_rows(pkg.theta(name), cfg.lanes, cfg.acc_w)
        # Slots whose value is not read after this op may take its output (the engine has
        # loaded its inputs before it writes anything back).
        for slot, v in list(holder.items()):
            if last_use.get(v, -1) <= i:
                del holder[slot]
                free.append(slot)
        role, channel, heads, theta = attn.get(name, (ATTN_NONE, False, 0, 0))
        store = role != ATTN_Q
        if store and not free:
            raise CoreImageError(f"layer {name}: more live spike maps than {cfg.slots} slots")
        dst = min(free) if store else 0
        if store:
            free.remove(dst)
            holder[dst] = name
        rsl = slot_of[value(residual[name])] if name in residual else 0
        words = conv_words(
            c,
            n["cout"],
            h,
            w,
            n["k"] == 3,
            n["stride"] == 2,
            pool.get(name, False),
            name in residual,
            pix,
            slot_of[src],
            dst,
            rsl,
            store,
            wbase,
            len(rows),
            thbase,
            role,
            channel,
            heads,
            theta,
            ext,
        )
        # The op writes the last alias in the chain (pool, then OR) of this conv.
        chain = [a for a, v in alias.items() if value(a) == name]
        out_name = max(chain, key=lambda a: order[a]) if chain else name
        img.ops.append(Op(words, out_name, "conv", dst if store else None, shapes[out_name]))
        if store:
            slot_of[name] = dst
    if len(img.weight_rows) > cfg.w_rows or len(img.threshold_rows) > cfg.th_rows:
        raise CoreImageError(
            f"{pkg.name}: {len(img.weight_rows)} weight rows / {len(img.threshold_rows)} "
            f"threshold rows exceed the stores ({cfg.w_rows} / {cfg.th_rows})"
        )
    if len(img.ops) > cfg.prog_ops:
        raise CoreImageError(f"{pkg.name}: {len(img.ops)} ops > {cfg.prog_ops} program entries")
    return img


# ------------------------------------------------------------------------ packets


def _row_words(row: int, nwords: int) -> list[int]:
    return [(row >> (32 * i)) & 0xFFFFFFFF for i in range(nwords)]


def packet(kind: int, payload: list[int], target: int = 0) -> list[int]:
    """Header, length and payload of one input-stream packet."""
    return [MAGIC << 24 | kind << 16 | (target & 0xFFFF), len(payload), *payload]


def model_packets(img: CoreImage) -> list[list[int]]:
    """Every packet that loads a compiled model (send before the images)."""
    cfg = img.config
    row_words = 9 * cfg.lanes * 8 // 32
    cls_words = -(-cfg.classes * 8 // 32)
    prog = [w & 0xFFFFFFFF for op in img.ops for w in op.words]
    weights = [w for r in img.weight_rows for w in _row_words(r, row_words)]
    th = [
        ((r >> (lane * cfg.acc_w)) & ((1 << cfg.acc_w) - 1))
        for r in img.threshold_rows
        for lane in range(cfg.lanes)
    ]
    cls = [w for r in img.cls_rows for w in _row_words(r, cls_words)]
    return [
        packet(K_PROGRAM, prog),
        packet(K_WEIGHTS, weights),
        packet(K_THRESH, th),
        packet(K_CLS_W, cls),
        packet(K_CLS_BIAS, [b & 0xFFFFFFFF for b in img.cls_bias]),
    ]


def image_packet(image: np.ndarray) -> list[int]:
    return packet(K_IMAGE, image_words(image))


# ------------------------------------------------------------------------ program model


def _sext(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) & 1 else v


def decode_weights(rows: list[int], cout: int, cin: int, k: int, lanes: int) -> np.ndarray:
    """Inverse of `weight_rows` for one layer."""
    w = np.zeros((cout, cin, k, k), np.int64)
    for i, row in enumerate(rows):
        g, c = divmod(i, cin)
        for lane in range(lanes):
            o = g * lanes + lane
            if o >= cout:
                continue
            for ky in range(k):
                for kx in range(k):
                    kk = ky * 3 + kx if k == 3 else 4
                    w[o, c, ky, kx] = _sext((row >> ((kk * lanes + lane) * 8)) & 0xFF, 8)
    return w


def run_program(img: CoreImage, image: np.ndarray) -> np.ndarray:
    """Executes a compiled program the way the core does (slots, fused pool/OR, engine row
    layouts decoded back), with the golden layer functions; returns the logits. Agreement with
    `golden.model.run` shows the compiler right before any RTL runs."""
    from . import layers as gl

    cfg = img.config
    x = np.asarray(image)
    if x.shape[-1] == 3:
        x = x.transpose(2, 0, 1)
    slots: dict[int, np.ndarray] = {0: x.astype(np.int64)}
    mask = None  # [C, H, W] attention mask from the last Q op
    for op in img.ops:
        w0, w1, w2, w3 = op.words
        cin, cout, h, w = w0 & 0x3FF, (w0 >> 10) & 0x3FF, (w0 >> 20) & 63, (w0 >> 26) & 63
        src = (w1 >> 8) & 3
        if w1 >> 31:
            # The classify op keeps its channel count in the cout field.
            counts = slots[src][:cout, :h, :w].reshape(cout, -1).sum(axis=1)
            wc = np.array(
                [
                    [_sext((r >> (8 * o)) & 0xFF, 8) for o in range(cfg.classes)]
                    for r in img.cls_rows[:cout]
                ]
            )
            return counts @ wc + np.array(img.cls_bias, np.int64)
        inp = slots[src][:cin, :h, :w]
        k = 3 if w1 & 1 else 1
        stride = 2 if w1 & 2 else 1
        wbase, wrows = w2 & 0xFFFF, w2 >> 16
        if w1 >> 15 & 1:
            rb, off = cfg.row_bytes, wbase * EXT_GRANULE
            mem = img.ext_image
            rows = [
                int.from_bytes(mem[off + i * rb : off + (i + 1) * rb], "little")
                for i in range(wrows)
            ]
        else:
            rows = img.weight_rows[wbase : wbase + wrows]
        wt = decode_weights(rows, cout, cin, k, cfg.lanes)
        groups = -(-cout // cfg.lanes)
        th_rows = img.threshold_rows[w3 & 0xFFFF : (w3 & 0xFFFF) + groups]
        theta = np.array(
            [
                _sext(
                    (th_rows[o // cfg.lanes] >> ((o % cfg.lanes) * cfg.acc_w))
                    & ((1 << cfg.acc_w) - 1),
                    cfg.acc_w,
                )
                for o in range(cout)
            ]
        )
        pad = 1 if k == 3 else 0
        if w1 & 16:
            acc = gl.first_layer_acc(inp[None].astype(np.uint8), wt, stride, pad)[0]
        else:
            acc = gl.conv_acc(inp[None], wt, stride, pad)[0]
        out = gl.fire(acc, theta).astype(np.int64)
        if w1 & 4:
            out = gl.maxpool_or(out[None])[0].astype(np.int64)
        if w1 & 8:
            res = slots[(w1 >> 12) & 3][:, : out.shape[1], : out.shape[2]]
            out = gl.or_residual(out[None], res[None, :cout])[0].astype(np.int64)
        role = (w1 >> 16) & 3
        if role == ATTN_Q:
            theta = w3 >> 16
            if (w1 >> 18) & 1:
                mask = gl.qkca(out, np.ones_like(out), theta)[0]
            else:
                mask = gl.qkta(out, np.ones_like(out), (w1 >> 20) & 15, theta)[0]
        elif role == ATTN_K:
            out = out & mask
        if (w1 >> 14) & 1:
            slots[(w1 >> 10) & 3] = out
    raise CoreImageError("program has no classify op")
