"""hwp_bench.results (see DESIGN.md)."""
