"""hwp_bench.hand (see DESIGN.md)."""
