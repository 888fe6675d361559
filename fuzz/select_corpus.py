#!/usr/bin/env python3
"""Pick at most CAP inputs of a fuzz corpus that keep (nearly) all of its edge coverage.

libFuzzer's merge keeps every input that adds a feature, smallest first, which leaves hundreds of
files. This runs each input alone through the built target (a one-file `-merge=1` with
`-use_counters=0`, whose control file lists the edges it covers) and then chooses greedily the
input adding the most uncovered edges until CAP inputs or full coverage.

usage (from fuzz/, after `RUSTC_BOOTSTRAP=1 cargo fuzz build -O -a`):
    python3 select_corpus.py TARGET POOL_DIR OUT_DIR [CAP=200]
"""
import os
import shutil
import subprocess
import sys
import tempfile

target, pool, out = sys.argv[1], sys.argv[2], sys.argv[3]
cap = int(sys.argv[4]) if len(sys.argv) > 4 else 200
binary = os.path.join("target", "x86_64-unknown-linux-gnu", "release", target)

edges = {}
with tempfile.TemporaryDirectory() as scratch:
    for name in sorted(os.listdir(pool)):
        one = tempfile.mkdtemp(dir=scratch)
        merged = tempfile.mkdtemp(dir=scratch)
        shutil.copy(os.path.join(pool, name), os.path.join(one, name))
        control = os.path.join(merged, "control")
        subprocess.run([binary, "-merge=1", "-use_counters=0", "-max_len=8192", "-timeout=10",
                        f"-merge_control_file={control}", merged, one], capture_output=True)
        covered = set()
        if os.path.exists(control):
            for line in open(control):
                if line.startswith("FT "):
                    covered |= set(line.split()[2:])
        edges[name] = covered

every = set().union(*edges.values()) if edges else set()
chosen, covered = [], set()
while len(chosen) < cap:
    best = max(edges, key=lambda n: (len(edges[n] - covered), -os.path.getsize(os.path.join(pool, n))))
    if not edges[best] - covered:
        break
    chosen.append(best)
    covered |= edges[best]
os.makedirs(out, exist_ok=True)
for name in chosen:
    shutil.copy(os.path.join(pool, name), os.path.join(out, name))
print(f"{target}: {len(edges)} inputs, {len(every)} edges; kept {len(chosen)} covering {len(covered)}")
