import pytest
import torch

from vidstyle.core import device as runtime


@pytest.mark.parametrize("capability, expected", [((7, 5), "fp32"), ((7, 0), "fp32"), ((8, 0), "bf16"), ((9, 0), "bf16")])
def test_auto_precision_needs_native_bf16_on_cuda(monkeypatch, capability, expected):
    # torch.cuda.is_bf16_supported() says yes on a T4 (7.5), where bf16 is emulated and slow.
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert runtime.resolve_precision("auto", torch.device("cuda")) == expected
    assert runtime.resolve_precision("fp32", torch.device("cuda")) == "fp32"


def test_devices_are_checked_with_a_suggestion():
    with pytest.raises(ValueError, match="unknown device 'cuad' \\(did you mean 'cuda'\\?\\)"):
        runtime.resolve_device("cuad")
    assert runtime.resolve_device("cpu") == torch.device("cpu")


def test_the_memory_estimate_refuses_what_cannot_fit(monkeypatch):
    monkeypatch.setattr(runtime, "available_bytes", lambda device: 8 * 2**30)
    runtime.check_memory(512, 512, torch.device("cpu"))  # about 2 GiB
    with pytest.raises(ValueError, match=r"a 4096x4096 image needs about 69\.8 GiB on cpu, 8\.0 GiB are available"):
        runtime.check_memory(4096, 4096, torch.device("cpu"))


def test_threads_default_to_the_cores_this_process_may_use():
    before = torch.get_num_threads()
    try:
        assert runtime.set_threads(None) == runtime.available_cpus() == torch.get_num_threads()
        assert runtime.set_threads(1) == 1 == torch.get_num_threads()
        with pytest.raises(ValueError, match="threads: expected a value >= 1"):
            runtime.set_threads(0)
    finally:
        torch.set_num_threads(before)


def test_a_side_thread_runs_torch_on_one_thread_and_leaves_the_others_as_they_were():
    import threading

    before = torch.get_num_threads()
    seen = {}

    def side(name, limited):
        torch.nn.functional.interpolate(torch.rand(1, 2, 8, 8), size=(4, 4), mode="bilinear")  # torch used first
        if limited:
            with runtime.side_thread():
                torch.nn.functional.interpolate(torch.rand(1, 2, 8, 8), size=(4, 4), mode="bilinear")
                seen[name] = torch.get_num_threads()
        else:
            seen[name] = torch.get_num_threads()

    def fresh(name):  # the limit set before torch's first use in the thread still holds
        with runtime.side_thread():
            seen[name] = torch.get_num_threads()

    try:
        torch.set_num_threads(2)
        for target, args in [(side, ("plain", False)), (side, ("limited", True)), (fresh, ("fresh",))]:
            thread = threading.Thread(target=target, args=args)
            thread.start()
            thread.join()
        assert seen == {"plain": 2, "limited": 1, "fresh": 1}
        assert torch.get_num_threads() == 2  # the caller's own count is untouched
    finally:
        torch.set_num_threads(before)
