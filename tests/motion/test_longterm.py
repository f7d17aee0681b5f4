"""Long-term weights: each earlier frame counts only where no closer one does."""

import torch

from vidstyle.motion.longterm import closest_first



def test_closest_first_weights_do_not_double_count():
    near = torch.tensor([[[[1.0, 1.0, 0.0, 0.0]]]])
    far = torch.tensor([[[[1.0, 0.0, 1.0, 0.0]]]])
    w_near, w_far = closest_first([near, far])
    assert torch.equal(w_near, near)
    assert torch.equal(w_far, torch.tensor([[[[0.0, 0.0, 1.0, 0.0]]]]))
