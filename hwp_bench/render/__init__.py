"""hwp_bench.render (see DESIGN.md)."""
