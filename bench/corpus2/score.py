#!/usr/bin/python3
"""bench/corpus2/score.py: runs the verifier over a corpus drawn by make_corpus.py and
prints how it did against the labels.

  score.py --corpus DIR --pressctl build/bin/pressctl [--threads 2] [--verbose]
           [--name NAME] [--strict] [--order-check]

The images go through `pressctl verify --batch` (the verifier-worker's own code: the
OCR pool, one Tesseract handle per thread) with the EXPECTED text, never the drawn one.
Prints recall per mistake kind (rejected / drawn), the false-reject rate of the images
that should pass (kinds ok and ok_notext) overall and per background, effect and font,
the reason codes the mistakes were caught with, and images per CPU-second (the
verifier process's user + system time, decoding included). The issue's targets are
printed next to each figure; --strict exits 1 when one is missed. --order-check reads
the batch again backwards and counts the line readings and verdicts that changed
(a reading that depends on what a thread read before is a verdict that depends on
the scheduling)."""
import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import time

PASS_KINDS = ("ok", "ok_notext")
# A mistake drawn with the very pixels of the correct text (make_corpus.py's
# same_pixels: Bebas Neue's O and 0 are one glyph) is no mistake any reader can see:
# it is counted here, apart from its kind's recall and from the false rejects.
SAME_PIXELS = "same pixels as the text"
TARGETS = {  # look: (recall per kind >=, false rejects overall <=, per background/effect <=)
    "styled": (0.98, 0.05, 0.10),
    "plain": (0.97, 0.02, 0.02),
}


def run_verifier(pressctl, corpus, threads, batch=None):
    batch = batch or os.path.join(corpus, "batch.jsonl")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    p = subprocess.run([pressctl, "verify", "--batch", batch, "--threads", str(threads)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode not in (0, 1):
        sys.exit("score.py: pressctl verify --batch %s exited %d: %s" % (batch, p.returncode,
                                                                       p.stderr.decode()[-2000:]))
    reports = {}
    for line in p.stdout.decode().splitlines():
        r = json.loads(line)
        if "error" in r:
            sys.exit("score.py: %s: %s" % (r.get("image"), r["error"]))
        reports[r["image"]] = r
    return reports, cpu, wall


def rate_line(name, n, bad, target, higher_better):
    rate = bad / n if n else float("nan")
    ok = n == 0 or (rate >= target if higher_better else rate <= target)
    rel = ">=" if higher_better else "<="
    return "  %-26s %4d %5d %7.1f%%   %s %4.0f%%  %s" % (name, n, bad, 100 * rate, rel, 100 * target,
                                                       "ok" if ok else "MISS"), ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--pressctl", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--name", default=None)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--strict", action="store_true")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--order-check", action="store_true",
                    help="read the batch again backwards and count the readings and verdicts that changed")
    a = ap.parse_args()
    labels = [json.loads(l) for l in open(os.path.join(a.corpus, "labels.jsonl"))]
    look = labels[0]["look"]
    reports, cpu, wall = run_verifier(a.pressctl, a.corpus, a.threads)
    rec_t, frr_t, frr_group_t = TARGETS[look]

    by_kind = collections.defaultdict(lambda: [0, 0])
    groups = {g: collections.defaultdict(lambda: [0, 0]) for g in ("background", "effect", "font")}
    reasons = collections.defaultdict(collections.Counter)
    misses = []
    for l in labels:
        r = reports.get(l["image"])
        if r is None:
            sys.exit("score.py: no verdict for %s" % l["image"])
        failed = not r["pass"]
        k = SAME_PIXELS if l.get("same_pixels") else l["kind"]
        by_kind[k][0] += 1
        by_kind[k][1] += failed
        if k in PASS_KINDS:
            for g in groups:
                groups[g][l[g]][0] += 1
                groups[g][l[g]][1] += failed
        elif failed:
            for code in r.get("reasons", []):
                reasons[k][code] += 1
        if k != SAME_PIXELS and failed == (k in PASS_KINDS):
            misses.append((l, r))

    name = a.name or "%s (%s)" % (os.path.basename(os.path.normpath(a.corpus)), look)
    print("corpus %s: %d images, Pillow-drawn (bench/corpus2), %s look" % (name, len(labels), look))
    print("  %-26s %4s %5s %8s   %s" % ("kind", "n", "fail", "rate", "target"))
    all_ok = True
    kinds = sorted(by_kind, key=lambda k: (k == SAME_PIXELS, k in PASS_KINDS, k))
    for k in kinds:
        n, f = by_kind[k]
        if k == SAME_PIXELS:
            print("  %-26s %4d %5d %7.1f%%   (no target: a mistake drawn as the text's own pixels)"
                  % (k, n, f, 100.0 * f / n))
            continue
        if k in PASS_KINDS:
            line, ok = rate_line(k + " (false reject)", n, f, frr_t, False)
        else:
            line, ok = rate_line(k + " (recall)", n, f, rec_t, True)
        all_ok &= ok
        print(line)
    n = sum(by_kind[k][0] for k in PASS_KINDS)
    f = sum(by_kind[k][1] for k in PASS_KINDS)
    line, ok = rate_line("all clean (false reject)", n, f, frr_t, False)
    all_ok &= ok
    print(line)
    for g in ("background", "effect", "font"):
        print("  false rejects per %s:" % g)
        for key in sorted(groups[g]):
            n, f = groups[g][key]
            # per-font figures are printed for reading, the issue sets no target per font
            line, ok = rate_line(key, n, f, frr_group_t if g != "font" else 1.0, False)
            if g != "font":
                all_ok &= ok
            print("  " + line if g != "font" else "  " + line.replace("<=  100%  ok", ""))
    print("  caught with (reason codes per mistake kind):")
    for k in kinds:
        if reasons[k]:
            print("    %-14s %s" % (k, ", ".join("%s %d" % kv for kv in reasons[k].most_common())))
    ips = len(labels) / cpu if cpu > 0 else float("nan")
    print("  speed: %.1f images per CPU-second (target >= 20), %.1f images/s wall on %d threads"
          % (ips, len(labels) / wall, a.threads))
    all_ok &= ips >= 20
    if a.order_check:
        # A pool thread reads lines of many images one after another: a reading that
        # depends on what was read before makes a verdict depend on the scheduling.
        back = os.path.join(a.corpus, "batch.reversed.jsonl")
        with open(os.path.join(a.corpus, "batch.jsonl")) as f:
            rows = f.readlines()
        with open(back, "w") as f:
            f.writelines(reversed(rows))
        again, _, _ = run_verifier(a.pressctl, a.corpus, a.threads, back)
        os.unlink(back)
        lines = changed = verdicts = 0
        for img, r in reports.items():
            verdicts += r["pass"] != again[img]["pass"]
            for x, y in zip(((r.get("checks") or {}).get("text") or []),
                            ((again[img].get("checks") or {}).get("text") or [])):
                lines += 1
                changed += any(x.get(k) != y.get(k) for k in ("read", "second_read", "glyph_read"))
        print("  order: read backwards, %d of %d line readings and %d of %d verdicts changed (target 0)"
              % (changed, lines, verdicts, len(reports)))
        all_ok &= changed == 0 and verdicts == 0
    if a.verbose:
        for l, r in misses:
            what = "FALSE-REJECT" if l["kind"] in PASS_KINDS else "MISSED"
            print("  %s %s %s bg=%s effect=%s font=%s expected=%s drawn=%s reasons=%s guidance=%s" % (
                what, os.path.basename(l["image"]), l["kind"], l["background"], l["effect"], l["font"],
                json.dumps(l["expected"]), json.dumps(l["drawn"] + ([l["extra_text"]] if "extra_text" in l else [])),
                ",".join(r.get("reasons", [])), r.get("guidance", "")))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"name": name, "look": look, "kinds": by_kind, "groups": groups,
                       "images_per_cpu_second": ips}, f, indent=1)
    if a.strict and not all_ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
