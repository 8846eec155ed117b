"""Rule-shapes benchmark: matching CPU per event for each rule shape, at T templates.

    .venv/bin/python benchmarks/rule_shapes.py [--templates 10,1000,10000] [--events 20000] [--repeat 3]

Pure matching (``badges.rules.match_event``), no database and no Django: what every event pays in
the consumer before it touches the database. Every template has one requirement and one penalty
of the shape under test (see ``SHAPES``); the event stream is the processing workload's: 20% of
the events name a template's course, the others a course no template uses, all passing. Prints
one JSON line per (shape, T), then a table. Each figure is the median of ``--repeat`` passes.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from badges.rules import PenaltySpec, RequirementSpec, Rule, Rulebook, TemplateSpec, match_event

SEED = 20240607
RULELESS_TEMPLATES = 10


def course_key(index: int) -> str:
    return f"course-v1:BenchX+T{index}+2025"


#: Rules of template ``i``'s requirement and penalty, per shape. Requirements that are all ``ne``
#: or boolean match every event of their type but one value, so the shapes pair rules such that a
#: passing event matches a bounded number of templates (at most one, or ``RULELESS_TEMPLATES``).
SHAPES: dict[str, Callable[[int], tuple[Rule, ...]]] = {
    "eq": lambda i: (Rule.of("course.course_key", "eq", course_key(i)),),
    "boolean": lambda i: (Rule.of("is_passing", "eq", "false"), Rule.of("course.course_key", "ne", course_key(i))),
    "ne": lambda i: (Rule.of("is_passing", "ne", "true"), Rule.of("course.course_key", "ne", course_key(i))),
    "ne text": lambda i: (Rule.of("course.org", "ne", "BenchX"), Rule.of("course.course_key", "ne", course_key(i))),
    "rule-less": lambda i: () if i < RULELESS_TEMPLATES else (Rule.of("course.course_key", "eq", course_key(i)),),
}


def rulebook(shape: str, templates: int) -> Rulebook:
    rules = SHAPES[shape]
    specs = [TemplateSpec(i, f"uuid-{i}", "credly", f"T{i}", "", "", {i: "A"}, 1) for i in range(templates)]
    requirements = [RequirementSpec(i, i, "A", rules(i)) for i in range(templates)]
    penalties = [PenaltySpec(i, i, frozenset({i}), rules(i)) for i in range(templates)]
    return Rulebook.build("bench", "v", specs, requirements, penalties)


def events(templates: int, count: int) -> list[dict]:
    rng = random.Random(SEED)
    stream = []
    for _ in range(count):
        matching = rng.random() < 0.2
        key = course_key(rng.randrange(templates)) if matching else f"course-v1:BenchX+Unused{rng.randrange(500)}+2025"
        stream.append({
            "is_passing": True,
            "course": {"course_key": key, "org": key.split(":")[1].split("+")[0], "display_name": "Bench course"},
            "user": {"id": rng.randrange(10_000), "pii": {"username": "bench", "email": "b@example.com"}},
        })
    return stream


def measure(shape: str, templates: int, count: int, repeat: int) -> dict:
    begin = time.perf_counter()
    book = rulebook(shape, templates)
    build_ms = (time.perf_counter() - begin) * 1000
    stream = events(templates, count)
    per_event = []
    for _ in range(repeat):
        begin = time.perf_counter()
        matched = sum(len(match_event(book, payload).requirements) for payload in stream)
        per_event.append((time.perf_counter() - begin) / count * 1e6)
    candidates = sum(1 for p in stream for index in (book.requirements, book.penalties) for _ in index.candidates(p))
    return {"shape": shape, "templates": templates, "events": count,
            "us_per_event": round(statistics.median(per_event), 2),
            "matches_per_event": round(matched / count, 3), "candidates_per_event": round(candidates / count, 3),
            "build_ms": round(build_ms, 1)}


COLUMNS = [("shape", "shape"), ("T", "templates"), ("µs/event", "us_per_event"), ("matches/event", "matches_per_event"),
           ("candidates/event", "candidates_per_event"), ("build ms", "build_ms")]


def table(results: list[dict]) -> str:
    rows = [[title for title, _ in COLUMNS]] + [[str(r[key]) for _, key in COLUMNS] for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [" | ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--templates", default="10,1000,10000")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    args = parser.parse_args()
    results = []
    for shape in args.shapes.split(","):
        for templates in (int(t) for t in args.templates.split(",")):
            result = measure(shape, templates, args.events, args.repeat)
            print(json.dumps(result), flush=True)
            results.append(result)
    print()
    print(table(results))


if __name__ == "__main__":
    main()
