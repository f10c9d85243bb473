"""Methods that ship inside hwp_bench itself (trivial reference methods)."""
