"""Region control (Gatys et al. 2017): mask inputs, propagation, segmentation backends, guides, compositing, export."""
