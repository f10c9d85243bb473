"""hwp_bench.synth (see DESIGN.md)."""
