"""PyTorch's time for the workloads of `jeat bench`, on the same machine (needs torch; the
AutoAttack workloads also need the official fra31/auto-attack, autoattack-500 safetensors and
numpy as well).

    python xtask/python/bench_workloads.py --json out.json [--repeats 3] [--workloads a,b]
        [--device cpu|cuda] [--quick]
        [--inception-weights data/inception/default_1.pt] [--fashion-mnist DIR]

`cargo xtask bench-vs-pytorch` runs it beside `jeat bench` on the CPU, `cargo xtask gpu-check`
on the GPU (`--device cuda`). PyTorch at its best settings: its default thread count, inference
mode where no gradient is needed, input-only gradients with `torch.autograd.grad` for attack and
SGLD steps, and each convolutional workload timed in both memory layouts (NCHW and
channels_last), the faster one reported. Every workload runs once to warm up, then `--repeats`
times; the median is reported, as `jeat bench` does. On CUDA each run ends with
`torch.cuda.synchronize()` and the peak memory PyTorch's allocator reserved is reported.

`--quick` mirrors `jeat bench --quick`: tiny shapes (WRN-10-1, batch 4, 2 Inception images;
APGD-CE and Square with 20 queries on 2 points for wrn-16-4-autoattack-20), each run once
without a warm-up. It checks that the script runs, not how fast.
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
sys.path.insert(0, str(ROOT / "crates" / "jeat-attacks" / "tests" / "fixtures"))
from make_fixtures import WRN  # noqa: E402

# The sizes the workloads run at, as in `jeat bench`: their names' sizes, or tiny ones.
NAMED = {"large": (34, 10), "small": (16, 4), "batch": 128, "inception_images": 50,
         "autoattack_points": 20, "autoattack_quick": False}
QUICK = {"large": (10, 1), "small": (10, 1), "batch": 4, "inception_images": 2,
         "autoattack_points": 2, "autoattack_quick": True}

DEVICE = torch.device("cpu")


def sync():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def cifar_batch(batch):
    torch.manual_seed(1)
    return torch.rand(batch, 3, 32, 32).to(DEVICE), (torch.arange(batch) % 10).to(DEVICE)


def wrn(arch, layout):
    torch.manual_seed(0)
    return WRN(*arch).to(DEVICE).to(memory_format=layout)


def forward(arch, batch):
    def make(layout):
        model = wrn(arch, layout).eval()
        x, _ = cifar_batch(batch)
        x = x.to(memory_format=layout)

        def run():
            with torch.inference_mode():
                model(x)
        return run
    return make


def attack_step(arch, batch):
    def make(layout):
        model = wrn(arch, layout).eval()
        for p in model.parameters():
            p.requires_grad_(False)
        x, y = cifar_batch(batch)
        x = x.to(memory_format=layout)

        def run():
            xg = x.clone().requires_grad_(True)
            torch.autograd.grad(F.cross_entropy(model(xg), y, reduction="sum"), xg)
        return run
    return make


def pgd_at_iteration(arch, batch):
    def make(layout):
        model = wrn(arch, layout)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        x, y = cifar_batch(batch)
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
    return make


def sgld_step(arch, batch):
    # JEM's update: x += step * d logsumexp f(x) / dx + noise * N(0, I), step 1, noise 0.01.
    def make(layout):
        model = wrn(arch, layout).eval()
        for p in model.parameters():
            p.requires_grad_(False)
        x, _ = cifar_batch(batch)
        x = x.to(memory_format=layout)

        def run():
            xg = x.clone().requires_grad_(True)
            grad, = torch.autograd.grad(model(xg).logsumexp(1).sum(), xg)
            (xg.detach() + 1.0 * grad + 0.01 * torch.randn_like(x))
        return run
    return make


def wrn_16_4_convs(pattern):
    # The three 3x3 convolutions of a WRN-16-4 at batch 128, summed (jeat-models' conv_paths
    # bench): forward, forward + input gradient, forward + input and weight gradients.
    def make(layout):
        torch.manual_seed(0)
        layers = []
        for channels, side in ((64, 32), (128, 16), (256, 8)):
            conv = torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False).to(DEVICE)
            conv = conv.to(memory_format=layout)
            x = torch.rand(128, channels, side, side).to(DEVICE).to(memory_format=layout)
            layers.append((conv, x))

        def run():
            for conv, x in layers:
                if pattern == "forward":
                    with torch.inference_mode():
                        conv(x)
                elif pattern == "input-gradient":
                    xg = x.clone().requires_grad_(True)
                    torch.autograd.grad(conv(xg).sum(), xg)
                else:
                    xg = x.clone().requires_grad_(True)
                    torch.autograd.grad(conv(xg).sum(), [xg, conv.weight])
        return run
    return make


def inception(weights, images):
    def make(layout):
        net = torch.jit.load(str(weights), map_location=DEVICE).eval()
        x, _ = cifar_batch(images)

        def run():
            with torch.inference_mode():
                big = F.interpolate(x * 255.0, size=(299, 299), mode="bilinear", align_corners=False)
                net(((big - 128.0) / 128.0).contiguous(memory_format=layout))
        return run
    return make


def wrn_autoattack(arch, points, quick):
    """The official AutoAttack (Linf 8/255) on `points` CIFAR-shaped points of a random WRN,
    labelled with its own predictions, as `jeat bench`'s wrn-16-4-autoattack-20 does: the
    standard suite, or under `--quick` APGD-CE and Square with 20 queries."""
    def run():
        from autoattack import AutoAttack
        model = wrn(arch, torch.contiguous_format).eval()
        x, _ = cifar_batch(points)
        with torch.inference_mode():
            y = model(x).argmax(1)
        if quick:
            adversary = AutoAttack(model, norm="Linf", eps=8 / 255, version="custom", seed=0,
                                   attacks_to_run=["apgd-ce", "square"], device=DEVICE, log_path=os.devnull)
            adversary.square.n_queries = 20
        else:
            adversary = AutoAttack(model, norm="Linf", eps=8 / 255, version="standard", seed=0,
                                   device=DEVICE, log_path=os.devnull)
        adversary.run_standard_evaluation(x, y, bs=points)
    return run


def fashion_mnist_autoattack(data):
    def run():
        import numpy as np
        from autoattack import AutoAttack
        from make_autoattack_reference import MnistCnn, idx
        from safetensors.torch import load_file
        model = MnistCnn()
        model.load_state_dict(load_file(str(ROOT / "crates/jeat-attacks/tests/fixtures/cpu_pgd_at_cnn.safetensors")))
        model.to(DEVICE).eval()
        images = idx(pathlib.Path(data) / "t10k-images-idx3-ubyte.gz")[:500]
        labels = idx(pathlib.Path(data) / "t10k-labels-idx1-ubyte.gz")[:500]
        x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1).to(DEVICE)
        y = torch.from_numpy(labels.astype(np.int64)).to(DEVICE)
        adversary = AutoAttack(model, norm="Linf", eps=0.1, version="standard", seed=0, device=DEVICE,
                               log_path=os.devnull)
        adversary.run_standard_evaluation(x, y, bs=250)
    return run


def in_precision(run, precision):
    """`run` under autocast to bf16 for `precision` bf16 (PyTorch's own mixed precision)."""
    if precision == "f32":
        return run

    def autocast():
        with torch.autocast(DEVICE.type, dtype=torch.bfloat16):
            run()
    return autocast


def timed(run, repeats, warm_up):
    if warm_up:
        run()
        sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return times


def main():
    global DEVICE
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workloads", default="")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--precision", default="f32", choices=["f32", "bf16"],
                        help="bf16: every workload under torch.autocast(device, torch.bfloat16)")
    parser.add_argument("--inception-weights", default=str(ROOT / "data" / "inception" / "default_1.pt"))
    parser.add_argument("--fashion-mnist", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit(f"--device cuda: this torch ({torch.__version__}) sees no CUDA device")
    DEVICE = torch.device(args.device)
    s = QUICK if args.quick else NAMED
    batch = s["batch"]
    layered = {
        "wrn-16-4-forward": forward(s["small"], batch),
        "wrn-16-4-attack-step": attack_step(s["small"], batch),
        "wrn-16-4-pgd10-at-iteration": pgd_at_iteration(s["small"], batch),
        "wrn-34-10-attack-step": attack_step(s["large"], max(batch // 4, 1)),
        "wrn-34-10-pgd10-at-iteration": pgd_at_iteration(s["large"], batch),
        "wrn-16-4-sgld-step": sgld_step(s["small"], batch),
        "inception-50": inception(args.inception_weights, s["inception_images"]),
        "wrn-16-4-convs-forward": wrn_16_4_convs("forward"),
        "wrn-16-4-convs-input-gradient": wrn_16_4_convs("input-gradient"),
        "wrn-16-4-convs-weight-gradient": wrn_16_4_convs("weight-gradient"),
    }
    # Timed once, in one layout: they take minutes, and AutoAttack is deterministic given its seed.
    single = {
        "wrn-16-4-autoattack-20": wrn_autoattack(s["small"], s["autoattack_points"], s["autoattack_quick"]),
        "autoattack-500": fashion_mnist_autoattack(args.fashion_mnist),
    }
    valid = list(layered) + list(single)
    chosen = [w for w in args.workloads.split(",") if w] or [
        w for w in layered if not w.startswith("wrn-16-4-convs")] + ["autoattack-500"]
    results = {"torch": torch.__version__, "threads": torch.get_num_threads(), "device": args.device,
               "quick": args.quick, "precision": args.precision, "workloads": {}}
    where = torch.cuda.get_device_name() if DEVICE.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"torch {torch.__version__} on {args.device} ({where})")
    for name in chosen:
        if DEVICE.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        if name in single:
            runs = {"default": timed(single[name], 1, False)}
        elif name in layered:
            runs = {label: timed(in_precision(layered[name](layout), args.precision), args.repeats, not args.quick)
                    for label, layout in (("nchw", torch.contiguous_format), ("channels_last", torch.channels_last))}
        else:
            sys.exit(f"unknown workload {name}; valid: {', '.join(valid)}")
        medians = {label: statistics.median(t) for label, t in runs.items()}
        best = min(medians, key=medians.get)
        reserved = torch.cuda.max_memory_reserved() if DEVICE.type == "cuda" else None
        results["workloads"][name] = {"median_s": medians[best], "layout": best, "medians_s": medians,
                                      "runs_s": runs, "device_bytes_reserved_peak": reserved}
        shown = ", ".join(f"{label} {m:.3f} s" for label, m in medians.items())
        print(f"{name:<28} median {medians[best]:8.3f} s ({shown})", flush=True)
    pathlib.Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
