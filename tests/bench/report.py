#!/usr/bin/env python3
"""Print the benchmark table and the targets from a run.sh scratch dir.

usage: report.py DIR   (DIR holds results.tsv, checks.tsv, time/*.txt,
                        www/manifest.json, written by run.sh)

Seconds are wall-clock; MB/s uses MB = 10^6 bytes; memory is the peak
resident set size (max RSS of the largest process in the run) in MiB.
Exit status: 0 if every target is met and every check passed, else 1.
"""

import json
import os
import re
import sys

D = sys.argv[1]
man = json.load(open(os.path.join(D, "www", "manifest.json")))
FEEDS, ITEMS, BYTES = man["feeds"], man["items"], man["bytes"]
MBYTES, MFILES = man["merged_bytes"], man["merged_files"]

runs = {}
repeats = {}
for line in open(os.path.join(D, "results.tsv")):
    full, wall, rc = line.rstrip("\n").split("\t")
    name = full.partition("#")[0]
    r = {"wall": float(wall), "rc": int(rc)}
    tf = os.path.join(D, "time", full + ".txt")
    if os.path.exists(tf):
        t = open(tf).read()
        def num(key):
            m = re.search(re.escape(key) + r":\s*([0-9.]+)", t)
            return float(m.group(1)) if m else None
        r["rss"] = (num("Maximum resident set size (kbytes)") or 0) / 1024
        r["cpu"] = (num("User time (seconds)") or 0) + \
                   (num("System time (seconds)") or 0)
    # Repeated runs (NAME#k): the fastest counts, every one must have
    # succeeded, and the peak memory is the largest of them.
    repeats[name] = repeats.get(name, 0) + 1
    if name in runs:
        old = runs[name]
        best = r if r["wall"] < old["wall"] else old
        best = dict(best)
        best["rc"] = old["rc"] or r["rc"]
        best["rss"] = max(old.get("rss", 0), r.get("rss", 0))
        r = best
    runs[name] = r

checks = []
for line in open(os.path.join(D, "checks.tsv")):
    name, ok, detail = line.rstrip("\n").split("\t", 2)
    checks.append((name, ok == "ok", detail))
failed_checks = [c for c in checks if not c[1]]


def good(*names):
    """True if every named run exited 0 and none of its checks failed."""
    for n in names:
        if n not in runs or runs[n]["rc"] != 0:
            return False
        if any(c[0].startswith(n) and not c[1] for c in checks):
            return False
    return True


def wall(n):
    return runs[n]["wall"] if n in runs else None


def fmt(x, f="%.2f"):
    return "-" if x is None else f % x


def status(n):
    if n not in runs:
        return "not run"
    if runs[n]["rc"] != 0:
        return "exit %d" % runs[n]["rc"]
    return "ok" if good(n) else "CHECK FAILED"


# sfeed's parse-only time on the same bytes as the fetch cycle: its time
# on the merged documents, scaled from their size to the feeds' total size.
sfeed_parse = wall("parse-sfeed")
if sfeed_parse is not None and good("parse-sfeed"):
    sfeed_parse_all = sfeed_parse * BYTES / MBYTES
else:
    sfeed_parse_all = None
curl = wall("curl-cold")
ceiling = curl + sfeed_parse_all \
    if curl is not None and sfeed_parse_all and good("curl-cold") else None
b_cold = wall("bulletin-cold")

print()
print("Fetch cycles: %d feeds, %d items, %.1f MB, served by nginx on 127.0.0.1"
      % (FEEDS, ITEMS, BYTES / 1e6))
print("ceiling = curl --parallel fetch %s s + sfeed parse-only %s s = %s s"
      % (fmt(curl), fmt(sfeed_parse_all), fmt(ceiling)))
print()
hdr = "%-16s %8s %10s %8s %8s %8s %9s  %s" % (
    "tool", "cold s", "no-chg s", "peak MiB", "x bull.", "x ceil.",
    "cpu s", "status (cold / no-change)")
print(hdr)
print("-" * len(hdr))
for label, key in [("bulletin", "bulletin"), ("newsboat", "newsboat"),
                   ("sfeed_update", "sfeed"), ("curl --parallel", "curl")]:
    c, n = wall(key + "-cold"), wall(key + "-nochange")
    peak = max([runs[k]["rss"] for k in (key + "-cold", key + "-nochange")
                if k in runs and "rss" in runs[k]] or [0])
    cpu = runs.get(key + "-cold", {}).get("cpu")
    rb = c / b_cold if c is not None and b_cold else None
    rc = c / ceiling if c is not None and ceiling else None
    st = status(key + "-cold")
    if key != "curl":
        st += " / " + status(key + "-nochange")
    print("%-16s %8s %10s %8s %8s %8s %9s  %s" % (
        label, fmt(c), fmt(n), fmt(peak, "%.1f"), fmt(rb), fmt(rc),
        fmt(cpu), st))
print("(x bull. = cold time / bulletin's cold time; x ceil. = cold time / "
      "ceiling; cpu s = user+sys of the cold run)")
best = sorted(n for n, k in repeats.items() if k > 1)
if best:
    print("(best of %d runs: %s; peak memory the largest of them)"
          % (max(repeats.values()), ", ".join(best)))

print()
print("Parse-only: the same %d items merged into %d documents (%.1f MB); "
      "output to /dev/null" % (ITEMS, MFILES, MBYTES / 1e6))
print("then per file: one process per original file (%.1f MB), beside the "
      "cost of spawning cat" % (BYTES / 1e6))
hdr = "%-30s %8s %8s %8s %9s  %s" % ("parser", "seconds", "MB/s",
                                      "peak MiB", "x sfeed", "status")
print(hdr)
print("-" * len(hdr))
for label, key, nbytes, ref in [
        ("sfeed", "parse-sfeed", MBYTES, "parse-sfeed"),
        ("bulletinctl parse", "parse-bulletin", MBYTES, "parse-sfeed"),
        ("python3-feedparser", "parse-feedparser", MBYTES, "parse-sfeed"),
        ("per file: spawn+cat baseline", "perfile-baseline", BYTES,
         "perfile-sfeed"),
        ("per file: sfeed", "perfile-sfeed", BYTES, "perfile-sfeed"),
        ("per file: bulletinctl parse", "perfile-bulletin", BYTES,
         "perfile-sfeed")]:
    w, rw = wall(key), wall(ref)
    mbs = nbytes / 1e6 / w if w else None
    rmbs = nbytes / 1e6 / rw if rw else None
    print("%-30s %8s %8s %8s %9s  %s" % (
        label, fmt(w), fmt(mbs, "%.1f"),
        fmt(runs.get(key, {}).get("rss"), "%.1f"),
        fmt(mbs / rmbs if mbs and rmbs else None), status(key)))

# ---- targets ----
print()
print("Targets (issue 3):")
results = []


def target(ok, valid, text):
    mark = "MET    " if ok and valid else \
        ("NOT MET" if valid else "NOT MET (bulletin's run failed)")
    results.append(ok and valid)
    print("  %s  %s" % (mark, text))


bvalid = good("bulletin-cold")
peers = [(k, wall(k + "-cold")) for k in ("newsboat", "sfeed")]
target(b_cold is not None and all(p is not None and b_cold < p
                                  for _, p in peers),
       bvalid,
       "cold cycle faster than every peer: bulletin %s s; %s"
       % (fmt(b_cold), ", ".join("%s %s s" % (k, fmt(p)) for k, p in peers)))
target(b_cold is not None and ceiling is not None and b_cold <= 3 * ceiling,
       bvalid,
       "cold cycle within 3x the ceiling: %s s vs 3 x %s = %s s"
       % (fmt(b_cold), fmt(ceiling),
          fmt(3 * ceiling if ceiling is not None else None)))
b_nc = wall("bulletin-nochange")
target(b_nc is not None and b_nc < 1.0, good("bulletin-nochange"),
       "no-change cycle under 1 s: %s s" % fmt(b_nc, "%.3f"))
bp = wall("parse-bulletin")
target(bp is not None and sfeed_parse is not None and bp <= sfeed_parse,
       good("parse-bulletin"),
       "parse throughput at least sfeed's: %s MB/s vs %s MB/s"
       % (fmt(MBYTES / 1e6 / bp if bp else None, "%.1f"),
          fmt(MBYTES / 1e6 / sfeed_parse if sfeed_parse else None, "%.1f")))
peak = max([runs[k]["rss"] for k in ("bulletin-cold", "bulletin-nochange",
                                     "parse-bulletin", "perfile-bulletin")
            if k in runs and "rss" in runs[k]] or [0])
target(peak < 64, bvalid, "peak memory under 64 MB: %.1f MiB (largest of "
       "fetch cold, no-change, parse)" % peak)

print()
if failed_checks:
    print("Checks that FAILED:")
    for n, _, d in failed_checks:
        print("  %s: %s" % (n, d))
else:
    print("All %d correctness checks passed." % len(checks))
sys.exit(0 if all(results) and not failed_checks else 1)
