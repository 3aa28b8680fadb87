#!/usr/bin/env python3
"""Writes a large, valid dialogue for the checking benchmark: N steps of every kind, with branches,
conditions, variables in texts and `on_fail` jumps, so that every check has work to do.

    make_dialogue.py STEPS OUT.yaml
"""
import sys

def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    lines = ["id: big", 'title: {en: "Big", fr: "Grand"}', "steps:"]
    for i in range(n):
        sid = f"s{i}"
        kind = i % 5
        if kind == 0:
            lines += [f"  - id: {sid}", f'    say: {{en: "Step {i}.", fr: "Étape {i}."}}']
            continue
        lines += [f"  - id: {sid}"]
        if kind == 1:
            lines += ["    ask: yesno"]
        elif kind == 2:
            lines += ["    ask: number", "    min: 0", "    max: 100"]
        elif kind == 3:
            lines += ["    ask: choice", "    options:",
                      '      - {value: a, label: {en: "A", fr: "A"}}', '      - {value: b, label: {en: "B", fr: "B"}}']
        else:
            lines += ["    ask: text"]
        prev = f"s{i - 3}" if i >= 3 and (i - 3) % 5 not in (0,) else None
        text = f"Question {i}" + (f" after {{{prev}}}" if prev else "")
        lines += [f'    question: {{en: "{text}?", fr: "{text} ?"}}']
        if kind == 1 and i + 2 < n:
            lines += ["    next:", f"      - if: {sid} == true", f"        goto: s{i + 2}", "      - goto: " + f"s{i + 1}"]
        if kind == 2 and i > 10:
            lines += [f"    on_fail: s{i + 1}" if i + 1 < n else "    on_fail: skip"]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")

if __name__ == "__main__":
    main()
