"""vidstyle's benchmark suite: ``python -m bench``."""
