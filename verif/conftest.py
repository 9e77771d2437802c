"""pytest set-up for verif/: the cocotb test modules are collected by cocotb, not by pytest."""

collect_ignore_glob = ["tests/*", "neural_tb/*"]
