"""Video (Ruder et al. 2016): per-frame temporal inputs, the frame loop, checkpoints, metrics."""
