"""peercommon.py — what the peer's stages share: the stack's environment (the same
variables pressroom reads), the job helpers (revision, the raw provider's prompt), the
admission script, offset tracking (commit after delivery) and the outcome message."""
import hashlib
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def env(name, default=None):
    v = os.environ.get(name, default)
    if v is None:
        raise SystemExit(f"peer: {name} is not set (bench/peer/run.sh sets it from tests/lib.sh)")
    return v


BROKERS = env("PRESSROOM_BROKERS", "127.0.0.1:9092")
TOPIC_PREFIX = os.environ.get("PEER_TOPIC_PREFIX", "pressroom.")


def topic(short):
    return TOPIC_PREFIX + short


def blob_root():
    root = env("PRESSROOM_BLOBS")
    if not root.startswith("file://"):
        raise SystemExit(f"peer: only file:// blob roots are supported, got {root!r}")
    return root.rstrip("/")


def blob_path(uri):
    """The file of a file:// URI, only inside the blob root (like blobstore.h)."""
    root = blob_root()
    if not uri.startswith(root + "/") or "/../" in uri or "/./" in uri:
        raise ValueError(f"blob_outside_store: {uri}")
    return uri[len("file://"):]


def now_ms():
    return int(time.time() * 1000)


_DQ = re.compile('["\u201c](.*?)["\u201d\u201c]')
_SQ = re.compile("(?<![A-Za-z0-9])['\u2018](.+?)['\u2019\u2018](?![A-Za-z0-9])")


def prompt_lines(prompt):
    """The quoted lines of a prompt (common/base/prompt.c, prompt_lines): double-quoted
    strings when it has a double quote, else single-quoted ones at word boundaries."""
    dbl = '"' in prompt or "\u201c" in prompt
    return [t for t in (_DQ if dbl else _SQ).findall(prompt) if t]


def job_text(job):
    """The lines the image must show: the job's text, else its prompt's quoted lines."""
    if "text" in job:
        return list(job["text"] or [])
    return prompt_lines(job.get("prompt", ""))


def revision(job):
    """A job's revision: its own, else a digest of the fields that decide the image."""
    if job.get("revision"):
        return job["revision"]
    canon = {k: v for k, v in job.items() if k not in ("job_id", "metadata", "submitted_at_ms")}
    digest = hashlib.sha256(json.dumps(canon, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return "r" + digest[:16]


def size(job):
    w, _, h = str(job.get("size", "1024x1024")).partition("x")
    return int(w), int(h)


def render_prompt(job):
    """The raw provider's prompt (common/base/prompt.c, job_render_prompt): the prompt as
    is when its quoted lines are the job's text, else unquoted plus the text, then the
    palette and the text area."""
    prompt, text = job["prompt"], job_text(job)
    if text and not all(f'"{t}"' in prompt or f"'{t}'" in prompt for t in text):
        prompt = prompt.replace('"', "") + ". Overlay text, exactly:" + "".join(f' "{t}"' for t in text)
    if job.get("palette"):
        prompt += ". Brand palette:" + "".join(" " + c.upper() for c in job["palette"])
    r = job.get("region")
    if r:
        prompt += ". text area: %d%%,%d%%,%d%%,%d%%" % tuple(round(r[k] * 100) for k in ("x", "y", "w", "h"))
    return prompt


def admission_script():
    with open(os.path.join(HERE, "admission.lua")) as f:
        return f.read()


class OffsetTracker:
    """Per partition: the offsets in flight; the committable offset is the lowest one
    still in flight (or one past the highest done) — an input's offset is committed only
    once its output was delivered."""

    def __init__(self):
        self.pending = {}   # (topic, partition) -> set of offsets in flight
        self.high = {}      # (topic, partition) -> highest offset seen + 1
        self.dirty = set()

    def start(self, msg):
        tp = (msg.topic(), msg.partition())
        self.pending.setdefault(tp, set()).add(msg.offset())
        self.high[tp] = max(self.high.get(tp, 0), msg.offset() + 1)

    def done(self, tp, offset):
        self.pending[tp].discard(offset)
        self.dirty.add(tp)

    def committable(self):
        from confluent_kafka import TopicPartition
        out = []
        for tp in self.dirty:
            p = self.pending.get(tp)
            out.append(TopicPartition(tp[0], tp[1], min(p) if p else self.high[tp]))
        self.dirty.clear()
        return out

    def forget(self, partitions):
        for p in partitions:
            self.pending.pop((p.topic, p.partition), None)
            self.high.pop((p.topic, p.partition), None)
            self.dirty.discard((p.topic, p.partition))


def consumer_conf(group):
    return {"bootstrap.servers": BROKERS, "group.id": group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
            "queued.max.messages.kbytes": 65536}


def producer_conf():
    return {"bootstrap.servers": BROKERS, "linger.ms": 5, "enable.idempotence": True,
            "compression.type": "none"}


def outcome(task, verdict, reason, detail, image):
    job = task["job"]
    charges = task.get("charges", [])
    out = {"job_id": job["job_id"], "asset_class": job.get("asset_class", ""), "prompt": job.get("prompt", ""),
           "verdict": verdict, "reason": reason, "detail": detail[:1000], "image": image,
           "stage": task.get("stage", ""), "attempt": task.get("attempt", 1), "model": task.get("model", ""),
           "cost_micros": sum(c.get("usd_micros", 0) for c in charges), "charges": charges,
           "latency_ms": max(0, now_ms() - int(job.get("submitted_at_ms") or task.get("started_at_ms") or now_ms())),
           "escalations": 0, "failed_checks": task.get("failed_checks", 0)}
    if job.get("revision"):
        out["revision"] = job["revision"]
    if job.get("metadata") is not None:
        out["metadata"] = job["metadata"]
    return out


class GroupMember:
    """A stage's consumer-group callbacks: touches PEER_READY_FILE once assigned, and
    commits what is done (self.offsets, an OffsetTracker) before partitions go. The stage
    sets self.consumer, self.offsets and self.name."""

    def on_assign(self, consumer, partitions):
        ready = os.environ.get("PEER_READY_FILE")
        if ready:
            open(ready, "w").close()

    def on_revoke(self, consumer, partitions):
        self.commit()
        self.offsets.forget(partitions)

    def commit(self):
        offs = self.offsets.committable()
        if offs:
            try:
                self.consumer.commit(offsets=offs, asynchronous=True)
            except Exception as e:  # no offsets to commit on a revoked partition
                print(f"{self.name}: commit: {e}", file=sys.stderr)
