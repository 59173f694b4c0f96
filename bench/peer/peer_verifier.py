#!/usr/bin/python3
"""peer_verifier.py — the peer's verifier stage: a confluent-kafka consumer on
<prefix>verify feeding a process pool of tesserocr workers (one Tesseract handle per
process, pressroom's OCR settings: eng, LSTM only, dictionaries off, lstm_use_matrix=0,
300 dpi, no pitch test, no inverted pass; page segmentation 7, a single line, or 6 when
the job has several lines). An image passes when the text read, line by line, equals the
job's text exactly. The verdict (schemas/outcome.schema.json) goes to <prefix>results
(accepted) or <prefix>rejected; the task's offset is committed once the broker
acknowledged the verdict.

What it skips of pressroom's verifier (common/verify/): the text-line locator and the
second model (it reads the whole image), case-insensitive and normalised comparisons,
extra-text, layout/safe-zone, contrast, palette and blank/sharpness checks, the re-render
of a failed image on the production topic (a failed image is rejected here).

Environment: PRESSROOM_BROKERS, PRESSROOM_BLOBS; PEER_WORKERS (processes, default the
cores this process may run on), PEER_VERIFIER_INFLIGHT (images queued or in OCR, default 8 per process),
PEER_GROUP, PEER_READY_FILE. `peer_verifier.py --check IMAGE [TEXT...]` checks one
image offline, `--check-batch FILE` the lines of pressctl verify --batch's input."""
import json
import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from confluent_kafka import Consumer, Producer

import peercommon as pc

_api = None


def _init_worker():
    global _api
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    import tesserocr
    from tesserocr import OEM, PSM, PyTessBaseAPI
    init_only = {k: "0" for k in ("load_system_dawg", "load_freq_dawg", "load_punc_dawg", "load_number_dawg",
                                  "load_unambig_dawg", "load_bigram_dawg", "lstm_use_matrix")}
    _api = PyTessBaseAPI(init=False)
    _api.InitFull(path=tesserocr.get_languages()[0], lang="eng", oem=OEM.LSTM_ONLY, variables=init_only)
    for k, v in (("user_defined_dpi", "300"), ("textord_disable_pitch_test", "1"), ("tessedit_do_invert", "0")):
        _api.SetVariable(k, v)
    _api.SetPageSegMode(PSM.SINGLE_LINE)


def otsu(hist):
    total = sum(hist)
    sum_all = sum(i * h for i, h in enumerate(hist))
    w0 = sum0 = 0
    best, best_t = -1.0, 127
    for t in range(256):
        w0 += hist[t]
        if w0 == 0 or w0 == total:
            continue
        sum0 += t * hist[t]
        m0, m1 = sum0 / w0, (sum_all - sum0) / (total - w0)
        between = w0 * (total - w0) * (m0 - m1) ** 2
        if between > best:
            best, best_t = between, t
    return best_t


def ink_on_white(path):
    """The image as black ink on white, cropped to the ink with a margin: Otsu's
    threshold on the grey levels, the smaller class taken as the ink (the verifier's
    Tesseract handle reads dark text on a light ground, as pressroom's does)."""
    from PIL import Image, ImageOps
    with Image.open(path) as im:
        grey = im.convert("L")
    t = otsu(grey.histogram())
    binary = grey.point(lambda v: 255 if v > t else 0)
    hist = binary.histogram()
    if hist[0] > hist[255]:  # more dark than light: light ink on a dark ground
        binary = ImageOps.invert(binary)
    box = ImageOps.invert(binary).getbbox()
    if not box:
        return None
    m = 12
    box = (max(0, box[0] - m), max(0, box[1] - m), min(binary.width, box[2] + m), min(binary.height, box[3] + m))
    return binary.crop(box)


def check(path, expected):
    """(passed, reason, detail) for the PNG at path against the expected lines."""
    from tesserocr import PSM
    if not os.path.isfile(path):
        return False, "undecodable", f"no image at {path}"
    _api.SetPageSegMode(PSM.SINGLE_LINE if len(expected) <= 1 else PSM.SINGLE_BLOCK)
    try:
        img = ink_on_white(path)
    except (OSError, ValueError) as e:
        return False, "undecodable", str(e)
    if img is None:
        return False, "blank", "no text found"
    _api.SetImage(img)
    read = [ln.strip() for ln in _api.GetUTF8Text().splitlines() if ln.strip()]
    if read == expected:
        return True, "", ""
    return False, "text_mismatch", f"expected {expected!r}, read {read!r}"


class Stage(pc.GroupMember):
    name = "peer-verifier"

    def __init__(self):
        self.workers = int(os.environ.get("PEER_WORKERS", len(os.sched_getaffinity(0))))
        self.max_inflight = int(os.environ.get("PEER_VERIFIER_INFLIGHT", 8 * self.workers))
        self.consumer = Consumer(pc.consumer_conf(os.environ.get("PEER_GROUP", "peer.verifier")))
        self.producer = Producer(pc.producer_conf())
        self.pool = ProcessPoolExecutor(self.workers, initializer=_init_worker)
        self.offsets = pc.OffsetTracker()
        self.inflight = {}  # future -> (msg, task)
        self.stop = False

    def verdict(self, msg, task, passed, reason, detail):
        tp, offset = (msg.topic(), msg.partition()), msg.offset()
        out = pc.outcome(task, "accepted" if passed else "rejected", reason, detail, task.get("image", ""))

        def delivered(err, m):
            if err:
                print(f"peer-verifier: delivery failed: {err}", file=sys.stderr)
            else:
                self.offsets.done(tp, offset)
        self.producer.produce(pc.topic("results" if passed else "rejected"), json.dumps(out, separators=(",", ":")),
                              key=task["job"]["job_id"], on_delivery=delivered)

    def start(self, msg):
        self.offsets.start(msg)
        try:
            task = json.loads(msg.value())
            path = pc.blob_path(task["image"])
            expected = pc.job_text(task["job"])
        except (ValueError, KeyError, TypeError) as e:
            tp, offset = (msg.topic(), msg.partition()), msg.offset()
            self.producer.produce(pc.topic("dlq"), msg.value(), key=msg.key(),
                                  headers={"pressroom-dlq-reason": str(e)[:200]},
                                  on_delivery=lambda err, m: err or self.offsets.done(tp, offset))
            return
        self.inflight[self.pool.submit(check, path, expected)] = (msg, task)

    def run(self):
        self.consumer.subscribe([pc.topic("verify")], on_assign=self.on_assign, on_revoke=self.on_revoke)
        while not self.stop or self.inflight:
            room = self.max_inflight - len(self.inflight)
            if room > 0 and not self.stop:
                for m in self.consumer.consume(min(room, 500), 0.005 if self.inflight else 0.1):
                    if not m.error():
                        self.start(m)
            else:
                time.sleep(0.002)
            for fut in [f for f in self.inflight if f.done()]:
                msg, task = self.inflight.pop(fut)
                try:
                    passed, reason, detail = fut.result()
                except Exception as e:  # a worker died: the check did not happen
                    passed, reason, detail = False, "verifier_error", str(e)
                self.verdict(msg, task, passed, reason, detail)
            self.producer.poll(0)
            self.commit()
        self.producer.flush(5)
        self.commit()
        self.consumer.close()
        self.pool.shutdown()


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--check":
        # peer_verifier.py --check IMAGE [TEXT...]: one image, offline (bench/peer/smoke.sh
        # compares it with pressctl verify). Exit 0 pass, 1 fail.
        _init_worker()
        passed, reason, detail = check(os.path.abspath(sys.argv[2]), sys.argv[3:])
        print(json.dumps({"image": sys.argv[2], "pass": passed, "reason": reason, "detail": detail}))
        sys.exit(0 if passed else 1)
    if len(sys.argv) == 3 and sys.argv[1] == "--check-batch":
        # One verdict per line of FILE ({"image": PATH, "text": [...]}, pressctl verify --batch's input).
        _init_worker()
        for line in open(sys.argv[2]):
            row = json.loads(line)
            passed, reason, detail = check(os.path.abspath(row["image"]), row.get("text", []))
            print(json.dumps({"image": row["image"], "pass": passed, "reason": reason, "detail": detail}))
        return
    stage = Stage()

    def stop(*_):
        stage.stop = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stage.run()


if __name__ == "__main__":
    main()
