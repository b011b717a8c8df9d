"""Merges two bench/run.sh tables (one instance on SQLite, one on PostgreSQL + Redis) into one, row by row.

Usage: python3 bench/side_by_side.py SQLITE_OUTPUT PG_OUTPUT
"""

import sys


def table(path):
    """The header lines and the rows (metric -> cells) of one bench/run.sh output."""
    header, rows = [], {}
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("| ") and not line.startswith("| metric"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[cells[0]] = cells[1:]
        elif not line.startswith("|") and line and not rows:
            header.append(line)
    return header, rows


(h1, sqlite), (h2, pg) = table(sys.argv[1]), table(sys.argv[2])
print("\n".join(h1))
print("\n".join(x for x in h2 if x.startswith("store:")))
print()
heads = ("metric", "mock direct", "SQLite", "adds", "PostgreSQL + Redis", "adds")
rows = []
for metric, cells in sqlite.items():
    other = pg.get(metric, ["", "", ""])
    rows.append((metric, cells[0], cells[1], cells[2], other[1], other[2]))
widths = [max(len(r[i]) for r in rows + [heads]) for i in range(len(heads))]


def line(cells):
    return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"


print(line(heads))
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for r in rows:
    print(line(r))
