"""PyTorch's time for the workloads of `jeat bench`, on the same machine (needs torch; the
autoattack-500 workload also needs safetensors, numpy and the official fra31/auto-attack).

    python xtask/python/bench_workloads.py --json out.json [--repeats 3] [--workloads a,b]
        [--inception-weights data/inception/default_1.pt] [--fashion-mnist DIR]

`cargo xtask bench-vs-pytorch` runs it beside `jeat bench`. PyTorch at its best CPU settings:
its default thread count, inference mode where no gradient is needed, input-only gradients with
`torch.autograd.grad` for attack and SGLD steps, and each convolutional workload timed in both
memory layouts (NCHW and channels_last), the faster one reported. Every workload runs once to warm
up, then `--repeats` times; the median is reported, as `jeat bench` does.
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import time

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "crates" / "jeat-models" / "tests" / "fixtures"))
from make_fixtures import WRN  # noqa: E402


def cifar_batch(batch):
    torch.manual_seed(1)
    return torch.rand(batch, 3, 32, 32), torch.arange(batch) % 10


def wrn(depth, width, layout):
    torch.manual_seed(0)
    return WRN(depth, width).to(memory_format=layout)


def forward(layout):
    model = wrn(16, 4, layout).eval()
    x, _ = cifar_batch(128)
    x = x.to(memory_format=layout)

    def run():
        with torch.inference_mode():
            model(x)
    return run


def attack_step(depth, width, batch):
    def make(layout):
        model = wrn(depth, width, layout).eval()
        for p in model.parameters():
            p.requires_grad_(False)
        x, y = cifar_batch(batch)
        x = x.to(memory_format=layout)

        def run():
            xg = x.clone().requires_grad_(True)
            torch.autograd.grad(F.cross_entropy(model(xg), y, reduction="sum"), xg)
        return run
    return make


def pgd_at_iteration(layout):
    model = wrn(16, 4, layout)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = cifar_batch(128)
    x = x.to(memory_format=layout)
    eps, step = 8 / 255, 2 / 255

    def run():
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
    return run


def sgld_step(layout):
    # JEM's update: x += step * d logsumexp f(x) / dx + noise * N(0, I), step 1, noise 0.01.
    model = wrn(16, 4, layout).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x, _ = cifar_batch(128)
    x = x.to(memory_format=layout)

    def run():
        xg = x.clone().requires_grad_(True)
        grad, = torch.autograd.grad(model(xg).logsumexp(1).sum(), xg)
        (xg.detach() + 1.0 * grad + 0.01 * torch.randn_like(x))
    return run


def inception(weights):
    def make(layout):
        net = torch.jit.load(str(weights), map_location="cpu").eval()
        x, _ = cifar_batch(50)

        def run():
            with torch.inference_mode():
                big = F.interpolate(x * 255.0, size=(299, 299), mode="bilinear", align_corners=False)
                net(((big - 128.0) / 128.0).contiguous(memory_format=layout))
        return run
    return make


def autoattack(data):
    def run():
        sys.path.insert(0, str(ROOT / "crates" / "jeat-attacks" / "tests" / "fixtures"))
        import numpy as np
        from autoattack import AutoAttack
        from make_autoattack_reference import MnistCnn, idx
        from safetensors.torch import load_file
        model = MnistCnn()
        model.load_state_dict(load_file(str(ROOT / "crates/jeat-attacks/tests/fixtures/cpu_pgd_at_cnn.safetensors")))
        model.eval()
        images = idx(pathlib.Path(data) / "t10k-images-idx3-ubyte.gz")[:500]
        labels = idx(pathlib.Path(data) / "t10k-labels-idx1-ubyte.gz")[:500]
        x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
        y = torch.from_numpy(labels.astype(np.int64))
        adversary = AutoAttack(model, norm="Linf", eps=0.1, version="standard", seed=0, device="cpu",
                               log_path=os.devnull)
        adversary.run_standard_evaluation(x, y, bs=250)
    return run


def timed(run, repeats):
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workloads", default="")
    parser.add_argument("--inception-weights", default=str(ROOT / "data" / "inception" / "default_1.pt"))
    parser.add_argument("--fashion-mnist", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    layered = {
        "wrn-16-4-forward": forward,
        "wrn-16-4-attack-step": attack_step(16, 4, 128),
        "wrn-16-4-pgd10-at-iteration": pgd_at_iteration,
        "wrn-34-10-attack-step": attack_step(34, 10, 32),
        "wrn-16-4-sgld-step": sgld_step,
        "inception-50": inception(args.inception_weights),
    }
    chosen = [w for w in args.workloads.split(",") if w] or list(layered) + ["autoattack-500"]
    results = {"torch": torch.__version__, "threads": torch.get_num_threads(), "workloads": {}}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name in chosen:
        if name == "autoattack-500":
            # One run: it takes many minutes, and AutoAttack is deterministic given its seed.
            start = time.perf_counter()
            autoattack(args.fashion_mnist)()
            runs = {"default": [time.perf_counter() - start]}
        elif name in layered:
            runs = {label: timed(layered[name](layout), args.repeats)
                    for label, layout in (("nchw", torch.contiguous_format), ("channels_last", torch.channels_last))}
        else:
            sys.exit(f"unknown workload {name}; valid: {', '.join(list(layered) + ['autoattack-500'])}")
        medians = {label: statistics.median(t) for label, t in runs.items()}
        best = min(medians, key=medians.get)
        results["workloads"][name] = {"median_s": medians[best], "layout": best, "medians_s": medians, "runs_s": runs}
        shown = ", ".join(f"{label} {m:.3f} s" for label, m in medians.items())
        print(f"{name:<28} median {medians[best]:8.3f} s ({shown})", flush=True)
    pathlib.Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
