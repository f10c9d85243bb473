"""``--seeds`` as every command reads it: ``0,1,2``, ranges ``0-4``, or both."""

from __future__ import annotations


def parse_seeds(text: str) -> list[int]:
    """Seeds in the order given, without repeats; ValueError (the message says how to write
    them) for anything else."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part[1:]:
            lo, hi = part.split("-", 1)
            if not (lo.isdigit() and hi.isdigit()) or int(hi) < int(lo):
                raise ValueError(f"--seeds: cannot read {part!r} (use e.g. 0,1,2 or 0-4)")
            seeds.extend(range(int(lo), int(hi) + 1))
        elif part.isdigit():
            seeds.append(int(part))
        else:
            raise ValueError(f"--seeds: {part!r} is not a non-negative integer (use e.g. 0,1,2)")
    if not seeds:
        raise ValueError("--seeds: give at least one seed")
    return list(dict.fromkeys(seeds))
