"""PyTorch's time for what benches/pgd_at_iteration.rs measures, on the same machine (needs torch).

    python crates/jeat-train/benches/pytorch_pgd_at_iteration.py

One PGD-10 adversarial-training iteration of WRN-16-4 at batch 128: the attack in eval mode
(eps 8/255, step 2/255, uniform start), the loss in train mode, backward, an SGD step; the median of
3 after one warm-up, with torch's default thread count.
"""
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "jeat-models", "tests", "fixtures"))
from make_fixtures import WRN  # noqa: E402


def main():
    torch.manual_seed(0)
    model = WRN(16, 4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.rand(128, 3, 32, 32)
    y = torch.arange(128) % 10
    eps, step = 8 / 255, 2 / 255
    times = []
    for i in range(4):
        start = time.perf_counter()
        model.eval()
        adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
        for _ in range(10):
            adv.requires_grad_(True)
            grad, = torch.autograd.grad(F.cross_entropy(model(adv), y), adv)
            adv = torch.min(torch.max(adv.detach() + step * grad.sign(), x - eps), x + eps).clamp(0, 1)
        model.train()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(adv.detach()), y).backward()
        opt.step()
        if i > 0:
            times.append(time.perf_counter() - start)
    print("torch", torch.__version__, "threads", torch.get_num_threads())
    print(f"pgd-10 adversarial-training iteration, wrn-16-4, batch 128: median {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
