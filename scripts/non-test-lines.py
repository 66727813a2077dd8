#!/usr/bin/env python3
"""Counts the non-test lines of the Rust files under each folder given: every line, less the
items marked `#[cfg(test)]` (matched by braces). The figure the closing notes and
docs/PERFORMANCE.md quote for `sdk/src`, `sim/src` and `xtask/src`.

    scripts/non-test-lines.py sdk/src sim/src xtask/src
"""
import os
import sys


def non_test_lines(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    kept, i = 0, 0
    while i < len(lines):
        if lines[i].strip() != "#[cfg(test)]":
            kept, i = kept + 1, i + 1
            continue
        # Skip the attribute and the item it marks: up to its closing brace, or its `;`.
        depth, opened, i = 0, False, i + 1
        while i < len(lines):
            line = lines[i]
            depth += line.count("{") - line.count("}")
            opened = opened or "{" in line
            i += 1
            if (opened and depth <= 0) or (not opened and line.rstrip().endswith(";")):
                break
    return kept


def main(folders):
    if not folders:
        sys.exit(__doc__)
    for folder in folders:
        total = sum(
            non_test_lines(os.path.join(root, name))
            for root, _, names in os.walk(folder)
            for name in names
            if name.endswith(".rs")
        )
        print(f"{folder}: {total}")


if __name__ == "__main__":
    main(sys.argv[1:])
