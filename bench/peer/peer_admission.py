#!/usr/bin/python3
"""peer_admission.py — the peer's admission decisions/s on $PRESSROOM_REDIS: reserve then
settle per job (two decisions, one EVALSHA each, admission.lua), no cap, from one
connection serially and from N processes, one connection each (like
bench/admission_bench.c's runs). Prints, per run:
  peer admission, <label>: <jobs/s> jobs/s <decisions/s> decisions/s
Usage: peer_admission.py [--seconds S] [--procs N,M]"""
import argparse
import multiprocessing as mp
import os
import time

import redis

import peercommon as pc


def worker(tag, seconds, q):
    host, _, port = pc.env("PRESSROOM_REDIS").rpartition(":")
    r = redis.Redis(host=host, port=int(port))
    sha = r.script_load(pc.admission_script())
    holder = f"peer-admission-{os.getpid()}"
    wk, lk = "peer:bench:window", "peer:bench:leases"
    jobs = decisions = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        dk = f"peer:bench:decision:{tag}-{os.getpid()}-{jobs}"
        d = r.evalsha(sha, 3, dk, wk, lk, "reserve", 2000, 0, 60000, holder, 600)
        decisions += 1
        if d[0] != b"admitted":
            raise SystemExit(f"peer-admission: unexpected answer {d!r}")
        r.evalsha(sha, 3, dk, wk, lk, "settle", 2000, 0, 60000, holder, 600)
        decisions += 1
        jobs += 1
    q.put((jobs, decisions))


def run(procs, seconds, label):
    q = mp.Queue()
    ps = [mp.Process(target=worker, args=(f"p{procs}-{i}", seconds, q)) for i in range(procs)]
    t0 = time.monotonic()
    for p in ps:
        p.start()
    results = [q.get() for _ in ps]
    for p in ps:
        p.join()
    secs = max(seconds, time.monotonic() - t0 - 0.0)  # the processes ran `seconds` each
    jobs, decisions = sum(r[0] for r in results), sum(r[1] for r in results)
    print(f"peer admission, {label}: {jobs / seconds:.0f} jobs/s {decisions / seconds:.0f} decisions/s "
          f"({jobs} jobs in {secs:.1f} s)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2)
    ap.add_argument("--procs", default="4")
    a = ap.parse_args()
    run(1, a.seconds, "1 connection, admit+settle")
    for n in [int(x) for x in a.procs.split(",") if x]:
        run(n, a.seconds, f"{n} processes, admit+settle")


if __name__ == "__main__":
    main()
