"""A strict little parser of Prometheus' text format (0.0.4), for tests: it refuses what a scraper would refuse."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
HELP = re.compile(rf"^# HELP ({NAME}) (.*)$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
SAMPLE = re.compile(rf"^({NAME})(?:\{{(.*)\}})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
SUFFIXES = {"counter": ("",), "gauge": ("",), "untyped": ("",), "histogram": ("_bucket", "_sum", "_count"),
            "summary": ("", "_sum", "_count")}


@dataclass
class Family:
    name: str
    kind: str
    help: str
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def value(self, suffix: str = "", **labels: str) -> float:
        """The one sample named ``name + suffix`` whose labels include ``labels``."""
        found = [v for n, ls, v in self.samples if n == self.name + suffix and labels.items() <= ls.items()]
        assert len(found) == 1, f"{self.name}{suffix} {labels}: {len(found)} samples in {self.samples}"
        return found[0]


def parse(text: str) -> dict[str, Family]:
    """Families by name; raises AssertionError on any line out of format or out of place."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    families: dict[str, Family] = {}
    current: Family | None = None
    pending_help: tuple[str, str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        where = f"line {number}: {line!r}"
        if match := HELP.match(line):
            assert pending_help is None, f"{where}: two HELP lines without a TYPE"
            pending_help = match.groups()
        elif match := TYPE.match(line):
            name, kind = match.groups()
            assert pending_help is not None and pending_help[0] == name, f"{where}: TYPE without its HELP"
            assert name not in families, f"{where}: {name} declared twice"
            if kind == "counter":
                assert name.endswith("_total"), f"{where}: a counter's name ends in _total"
            current = families[name] = Family(name, kind, pending_help[1])
            pending_help = None
        elif match := SAMPLE.match(line):
            assert current is not None and pending_help is None, f"{where}: a sample outside a family"
            name, raw_labels, raw_value = match.groups()
            assert name in {current.name + s for s in SUFFIXES[current.kind]}, f"{where}: not of {current.name}"
            current.samples.append((name, _labels(raw_labels or "", where), _number(raw_value, where)))
        else:
            raise AssertionError(f"{where}: not a HELP, TYPE or sample line")
    for family in families.values():
        assert family.samples, f"{family.name} has no samples"
        if family.kind == "counter":
            assert all(v >= 0 for _, _, v in family.samples), f"{family.name}: a negative counter"
        if family.kind == "histogram":
            _check_histogram(family)
    return families


def _labels(raw: str, where: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    position = 0
    while position < len(raw):
        match = LABEL.match(raw, position)
        assert match, f"{where}: bad labels {raw!r}"
        assert match.group(1) not in labels, f"{where}: label {match.group(1)} twice"
        labels[match.group(1)] = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), match.group(2))
        position = match.end()
    return labels


def _number(raw: str, where: str) -> float:
    assert re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]Inf|NaN", raw), f"{where}: bad value {raw!r}"
    return float(raw)


def _check_histogram(family: Family) -> None:
    buckets = [(ls["le"], v) for n, ls, v in family.samples if n == family.name + "_bucket"]
    bounds = [float(le) for le, _ in buckets]
    counts = [v for _, v in buckets]
    assert bounds == sorted(bounds) and bounds[-1] == math.inf, f"{family.name}: buckets must rise to +Inf"
    assert counts == sorted(counts), f"{family.name}: bucket counts must be cumulative"
    assert counts[-1] == family.value("_count"), f"{family.name}: the +Inf bucket must equal _count"
