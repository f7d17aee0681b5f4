"""Files in and out: stills, video probe/decode/encode, atomic output, sizes. The only place BGR<->RGB and ffmpeg happen. No torch."""
