"""hwp_bench.metrics (see DESIGN.md)."""
