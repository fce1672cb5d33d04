"""Prints the N slowest tests of JUnit XML reports (cargo-nextest's, node's test runner's).

Usage: python infra/scripts/slowest.py N report.xml [report.xml ...]
A report that is missing is skipped (a tier that did not run that suite).
"""

import os
import sys
import xml.etree.ElementTree as ET


def cases(path):
    for case in ET.parse(path).getroot().iter("testcase"):
        # nextest: classname is the binary (crate::binary), name the test's path in it.
        where = case.get("classname") or os.path.basename(path)
        yield float(case.get("time") or 0), f"{where} {case.get('name')}"


def main():
    count, reports = int(sys.argv[1]), sys.argv[2:]
    found = [c for path in reports if os.path.exists(path) for c in cases(path)]
    for seconds, name in sorted(found, reverse=True)[:count]:
        print(f"{seconds:8.1f} s  {name}")


if __name__ == "__main__":
    main()
