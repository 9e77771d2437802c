"""Command-line front end for pyslang, equivalent to the `slang` driver (PyPI ships no CLI)."""

import shlex
import sys

import pyslang


def main(argv: list[str]) -> int:
    driver = pyslang.driver.Driver()
    driver.addStandardArgs()
    opts = pyslang.driver.CommandLineOptions()
    if not driver.parseCommandLine(shlex.join(["slang", *argv]), opts):
        return 2
    if not driver.processOptions():
        return 2
    ok = driver.parseAllSources()
    ok = driver.runFullCompilation(quiet=False) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
