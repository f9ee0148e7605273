"""The GPU bundle's report: the selftest and bench JSON files `run.sh` wrote into DIR, merged
into DIR/report.md (Markdown tables) and DIR/report.json. Exits 1 where a selftest failed.

    python3 report.py DIR [--quick]
"""
import json
import pathlib
import sys

BACKENDS = ["cuda", "wgpu"]


def load(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def checks_of(selftest):
    """The list of checks of one selftest file (a list, or an object with "checks")."""
    if selftest is None:
        return []
    return selftest["checks"] if isinstance(selftest, dict) else selftest


def seconds(value):
    return "–" if value is None else f"{value:.3f}"


def ratio(jeat, torch, quick):
    if quick or jeat is None or not torch:
        return "–"
    return f"{jeat / torch:.2f}×"


def number(value):
    return "–" if value is None else f"{value:.2e}"


def mebibytes(value):
    return "–" if value is None else f"{value / 2**20:.0f} MiB"


def main():
    out = pathlib.Path(sys.argv[1])
    quick = "--quick" in sys.argv[2:]
    selftests = {b: load(out / f"selftest-{b}.json") for b in BACKENDS}
    benches = {b: load(out / f"bench-{b}.json") or {} for b in BACKENDS}
    pytorch = load(out / "pytorch.json") or {}
    torch_workloads = pytorch.get("workloads", {})
    lines = []
    if quick:
        lines += ["(--quick: tiny shapes, times include kernel compilation; no ratios)", ""]
    lines += ["## jeat selftest", "", "| check | " + " | ".join(BACKENDS) + " |",
              "|---|" + "---|" * len(BACKENDS)]
    names = []
    for backend in BACKENDS:
        for check in checks_of(selftests[backend]):
            if check["name"] not in names:
                names.append(check["name"])
    failed = []
    for name in names:
        cells = []
        for backend in BACKENDS:
            found = [c for c in checks_of(selftests[backend]) if c["name"] == name]
            if not found:
                cells.append("not run")
                continue
            check = found[0]
            verdict = "pass" if check["passed"] else "FAIL"
            if not check["passed"]:
                failed.append(f"{backend}/{name}")
            sign = "≤" if check["passed"] else ">"
            cells.append(f"{verdict} ({number(check.get('error'))} {sign} {number(check.get('tolerance'))})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for backend in BACKENDS:
        if selftests[backend] is None:
            lines.append(f"\n{backend}: no selftest result (not run, or it stopped before writing one; see run.log)")
    device = pytorch.get("device", "–")
    lines += ["", "## Timings (medians)", "",
              f"| workload | jeat cuda (s) | jeat wgpu (s) | PyTorch {device} (s) | cuda ÷ PyTorch | wgpu ÷ PyTorch "
              "| jeat cuda memory | jeat wgpu memory | PyTorch peak memory |",
              "|---|---|---|---|---|---|---|---|---|"]
    workloads = []
    for source in [benches["cuda"], benches["wgpu"], torch_workloads]:
        workloads += [w for w in source if w not in workloads]
    for workload in workloads:
        cuda = benches["cuda"].get(workload, {}).get("median_s")
        wgpu = benches["wgpu"].get(workload, {}).get("median_s")
        torch = torch_workloads.get(workload, {}).get("median_s")
        lines.append(f"| {workload} | {seconds(cuda)} | {seconds(wgpu)} | {seconds(torch)} | "
                     f"{ratio(cuda, torch, quick)} | {ratio(wgpu, torch, quick)} | "
                     f"{mebibytes(benches['cuda'].get(workload, {}).get('device_bytes_reserved'))} | "
                     f"{mebibytes(benches['wgpu'].get(workload, {}).get('device_bytes_reserved'))} | "
                     f"{mebibytes(torch_workloads.get(workload, {}).get('device_bytes_reserved_peak'))} |")
    aa = {b: benches[b].get("wrn-16-4-autoattack-20", {}).get("median_s") for b in BACKENDS}
    if not quick and any(aa.values()):
        lines += ["", "AutoAttack standard on 10,000 points, projected linearly from the 20-point run "
                  "(random WRN-16-4 labelled with its own predictions: a lower bound for a robust WRN-34-10): "
                  + ", ".join(f"{b} {v * 500 / 3600:.2f} h" for b, v in aa.items() if v)]
    text = "\n".join(lines) + "\n"
    (out / "report.md").write_text(text)
    (out / "report.json").write_text(json.dumps(
        {"quick": quick, "selftest": selftests, "bench": benches, "pytorch": pytorch, "failed": failed},
        indent=1) + "\n")
    print(text)
    if failed:
        print("selftest failed: " + ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
