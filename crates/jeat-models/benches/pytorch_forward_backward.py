"""PyTorch's time for what benches/forward_backward.rs measures, on the same machine (needs torch).

    python crates/jeat-models/benches/pytorch_forward_backward.py [--quick]

Forward in eval mode under no_grad, and forward+backward (gradients of the weights and of the
input) in train mode, of WRN-16-4 at batch 128 and WRN-34-10 at batch 32; the median of 10 runs
after 2 warm-up runs, with torch's default thread count, in both memory layouts (NCHW and
channels_last; the faster is PyTorch's best setting).
"""
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from make_fixtures import WRN  # noqa: E402


def median_seconds(fn, runs=10, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(depth, width, batch, layout):
    model = WRN(depth, width).to(memory_format=layout)
    x = torch.rand(batch, 3, 32, 32).contiguous(memory_format=layout)
    y = torch.arange(batch) % 10

    def forward():
        model.eval()
        with torch.no_grad():
            model(x)

    def forward_backward():
        model.train()
        xg = x.clone().requires_grad_(True)
        F.cross_entropy(model(xg), y).backward()
        model.zero_grad(set_to_none=True)

    name = f"wrn-{depth}-{width}/batch{batch} {'channels_last' if layout == torch.channels_last else 'nchw'}"
    print(f"{name} forward (inference mode): {median_seconds(forward) * 1e3:.0f} ms")
    print(f"{name} forward+backward (weights and input): {median_seconds(forward_backward) * 1e3:.0f} ms")


if __name__ == "__main__":
    print("torch", torch.__version__, "threads", torch.get_num_threads())
    for layout in (torch.contiguous_format, torch.channels_last):
        bench(16, 4, 128, layout)
        if "--quick" not in sys.argv:
            bench(34, 10, 32, layout)
