"""Draws the bridge's RSS curves (rss_overload.sh) and prints their figures."""

import csv
import sys
from pathlib import Path

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402


def main(folder: str, svg: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for mode in ("core", "durable"):
        path = Path(folder) / f"{mode}.csv"
        if not path.exists():
            continue
        rows = list(csv.DictReader(path.open()))
        seconds = [int(r["second"]) for r in rows]
        mib = [int(r["rss_kib"]) / 1024 for r in rows]
        ax.plot(seconds, mib, label=f"{mode} import")
        late = mib[len(mib) // 6:]
        print(f"{mode}: RSS {mib[0]:.1f} MiB at start, {min(late):.1f}-{max(late):.1f} MiB after "
              f"{seconds[len(mib) // 6]} s, {mib[-1]:.1f} MiB at {seconds[-1]} s; last row {rows[-1]}")
    ax.set_xlabel("seconds of overload")
    ax.set_ylabel("resident set (MiB)")
    ax.set_ylim(bottom=0)
    ax.set_title("bridge RSS, 1 KiB at 10,000/s in, 1,000/s drained")
    ax.legend()
    fig.tight_layout()
    fig.savefig(svg)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
