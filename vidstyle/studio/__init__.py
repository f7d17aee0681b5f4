"""The browser studio (``vidstyle studio``, the ``studio`` extra): the only package that imports Gradio."""
