"""Stylizing still images: the library call behind ``vidstyle image``."""
