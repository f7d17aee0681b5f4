"""Optical flow, backward warping, Ruder's reliability mask and cut cues."""
