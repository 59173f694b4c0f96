#!/usr/bin/python3
"""peer_preview.py — the peer's preview stage: asyncio + aiohttp with many renders in
flight. For each job on <prefix>jobs: one EVALSHA reserve (admission.lua), the raw
provider's request to the renderer (POST /render -> PNG), the PNG into the blob layout
(<root>/<job_id>/<revision>-preview-1.png), one EVALSHA settle, the verify task
(schemas/task.schema.json) produced with confluent-kafka; the job's offset is committed
once the broker acknowledged the task.

Environment: PRESSROOM_BROKERS, PRESSROOM_REDIS, PRESSROOM_RENDERER, PRESSROOM_BLOBS;
PEER_MODEL (the model name sent), PEER_PRICE_MICROS, PEER_CAP_MICROS (0: no cap),
PEER_PREVIEW_INFLIGHT (renders in flight, default 1024), PEER_READY_FILE (touched once the
consumer has its partitions)."""
import asyncio
import json
import os
import signal
import sys

import aiohttp
import redis.asyncio as aioredis
from confluent_kafka import Consumer, Producer

import peercommon as pc

MODEL = os.environ.get("PEER_MODEL", "instant")
PRICE = int(os.environ.get("PEER_PRICE_MICROS", "2000"))
CAP = int(os.environ.get("PEER_CAP_MICROS", "0"))
INFLIGHT = int(os.environ.get("PEER_PREVIEW_INFLIGHT", "1024"))
HOLDER = f"peer-preview-{os.getpid()}"


class Stage(pc.GroupMember):
    name = "peer-preview"

    def __init__(self):
        self.consumer = Consumer(pc.consumer_conf(os.environ.get("PEER_GROUP", "peer.preview")))
        self.producer = Producer(pc.producer_conf())
        host, _, port = pc.env("PRESSROOM_REDIS").rpartition(":")
        pool = aioredis.BlockingConnectionPool(host=host, port=int(port), max_connections=64, timeout=30)
        self.redis = aioredis.Redis(connection_pool=pool)
        self.renderer = pc.env("PRESSROOM_RENDERER").rstrip("/")
        self.root = pc.blob_root()
        self.offsets = pc.OffsetTracker()
        self.inflight = 0
        self.stop = asyncio.Event()

    async def admit(self, op, dk, micros):
        wk = "peer:budget:preview:window"
        return await self.redis.evalsha(self.sha, 3, dk, wk, "peer:budget:preview:leases", op, micros, CAP,
                                        60000, HOLDER, 86400)

    async def handle(self, msg, session):
        tp, offset = (msg.topic(), msg.partition()), msg.offset()
        try:
            job = json.loads(msg.value())
            rev = pc.revision(job)
            dk = f"peer:decision:preview:{job['job_id']}@{rev}:1"
            started = pc.now_ms()
            d = await self.admit("reserve", dk, PRICE)
            if d[0] != b"admitted":
                task = {"job": job, "stage": "preview", "attempt": 1, "model": MODEL, "charges": [],
                        "started_at_ms": started}
                self.publish(pc.topic("rejected"), job["job_id"],
                             pc.outcome(task, "rejected", "over_budget", d[2].decode(), ""), tp, offset)
                return
            w, h = pc.size(job)
            body = {"prompt": pc.render_prompt(job), "seed": int(job.get("seed", 0)) % 4294967295,
                    "size": f"{w}x{h}", "model": MODEL, "guidance": 7.0}
            async with session.post(self.renderer + "/render", json=body, headers={"Accept": "image/png"}) as r:
                data = await r.read()
                if r.status != 200 or not data.startswith(b"\x89PNG"):
                    raise RuntimeError(f"render failed: HTTP {r.status}: {data[:200]!r}")
            uri = f"{self.root}/{job['job_id']}/{rev}-preview-1.png"
            path = pc.blob_path(uri)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:  # ~20 KB onto the store: the write itself is not worth a thread
                f.write(data)
            os.replace(tmp, path)
            await self.admit("settle", dk, PRICE)
            task = {"job": job, "stage": "preview", "attempt": 1, "model": MODEL, "image": uri,
                    "charges": [{"stage": "preview", "attempt": 1, "model": MODEL, "usd_micros": PRICE}],
                    "started_at_ms": started, "failed_checks": 0,
                    "render": {"width": w, "height": h, "seed_sent": True}}
            self.publish(pc.topic("verify"), job["job_id"], task, tp, offset)
        except Exception as e:
            # A bad job goes to the dead-letter topic with its original bytes.
            print(f"peer-preview: {e}", file=sys.stderr)
            self.producer.produce(pc.topic("dlq"), msg.value(), key=msg.key(),
                                  headers={"pressroom-dlq-reason": str(e)[:200]},
                                  on_delivery=lambda err, m: self.delivered(tp, offset))
        finally:
            self.inflight -= 1

    def publish(self, topic, key, value, tp, offset):
        self.producer.produce(topic, json.dumps(value, separators=(",", ":")), key=key,
                              on_delivery=lambda err, m: self.delivered(tp, offset, err))

    def delivered(self, tp, offset, err=None):
        if err:
            print(f"peer-preview: delivery failed: {err}", file=sys.stderr)
            return  # not committed: redelivered after a restart
        self.offsets.done(tp, offset)

    async def serve_producer(self):
        while not self.stop.is_set():
            self.producer.poll(0)
            self.commit()
            await asyncio.sleep(0.005)

    async def run(self):
        self.sha = await self.redis.script_load(pc.admission_script())
        self.consumer.subscribe([pc.topic("jobs")], on_assign=self.on_assign, on_revoke=self.on_revoke)
        loop = asyncio.get_running_loop()
        conn = aiohttp.TCPConnector(limit=INFLIGHT, limit_per_host=INFLIGHT)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
            serving = asyncio.create_task(self.serve_producer())
            while not self.stop.is_set():
                room = INFLIGHT - self.inflight
                if room <= 0:
                    await asyncio.sleep(0.002)
                    continue
                # consume() blocks: on the default executor, so the loop keeps serving.
                msgs = await loop.run_in_executor(None, self.consumer.consume, min(room, 500), 0.02)
                for m in msgs:
                    if m.error():
                        continue
                    self.offsets.start(m)
                    self.inflight += 1
                    asyncio.create_task(self.handle(m, session))
            while self.inflight > 0:
                await asyncio.sleep(0.01)
            self.producer.flush(5)
            self.commit()
            serving.cancel()
        self.consumer.close()


def main():
    stage = Stage()
    loop = asyncio.new_event_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stage.stop.set)
    loop.run_until_complete(stage.run())


if __name__ == "__main__":
    main()
