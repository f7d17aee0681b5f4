"""One image's optimisation, shared by stills, video frames and previews: styling, a start, the paint."""
