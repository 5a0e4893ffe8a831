"""JUnit XML of a test report, for CI systems that show test results (GitHub, GitLab, Jenkins).

One ``<testsuite>`` per assistant, one ``<testcase>`` per test (``classname`` the assistant,
``name`` the test); a failed test has a ``<failure>`` whose message is the first reason and
whose text is the transcript of its failing attempts (the same text ``assistops test`` prints).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from itertools import groupby

from assistops.conversations.results import TestReport, TestResult


def junit_xml(report: TestReport, transcript: Callable[[TestResult], str]) -> str:
    """The JUnit XML document of ``report``; ``transcript`` writes a failed test's details."""
    root = ET.Element(
        "testsuites",
        name=f"assistops test {report.project}/{report.environment}",
        tests=str(report.summary.tests),
        failures=str(report.summary.failed),
        errors="0",
        time=f"{report.duration_s:.3f}",
    )
    for assistant, grouped in groupby(report.tests, key=lambda t: t.assistant):
        tests = list(grouped)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"{report.environment}.{assistant}",
            tests=str(len(tests)),
            failures=str(sum(1 for t in tests if not t.passed)),
            errors="0",
            skipped="0",
            time=f"{sum(t.duration_s for t in tests):.3f}",
        )
        for test in tests:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=assistant,
                name=test.name,
                file=test.file,
                time=f"{test.duration_s:.3f}",
            )
            if not test.passed:
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=f"{test.passes}/{test.repeat} attempts passed, {test.needed} needed: "
                    f"{test.first_failure()}",
                    type="ConversationTestFailure",
                )
                failure.text = transcript(test)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
