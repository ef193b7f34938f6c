"""Benchmark: signed webhook deliveries by ONE worker process, and event-commit-to-delivery latency.

    .venv/bin/python -m bench.webhooks --rate 500 --seconds 20 --threads 8
    .venv/bin/python -m bench.webhooks --backlog 10000 --threads 8     # throughput alone: a backlog, then one worker

On a throwaway database of the PostgreSQL server in CHATASSIST_TEST_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres) and the Redis of CHATASSIST_TEST_REDIS_URL (default
redis://127.0.0.1:6379/5, a broker namespace of its own): a workspace with one webhook endpoint subscribed to
``message.created``, pointing at a receiver process on loopback (``http.server``, HTTP/1.1 keep-alive, Nagle off,
answers 204; it verifies one request in 50 with the ``standardwebhooks`` package and counts failures). One
``chatassist worker --actors-only --threads N`` process sends; the outbox follower runs in this process (a thread
with its own connection, as it would in any worker), and so does the writer.

The writer appends visitor messages through the event store at --rate per second (10 messages of one conversation
per transaction, every 10/rate seconds): each message is one ``message.created`` delivery. Latency per delivery =
``delivered_at`` (the database's clock when the worker recorded the 2xx) minus ``event_at`` (the event's timestamp,
taken just before its commit): commit-to-delivery, including the follower, Redis, the worker's claim, the HTTP round
trip and the record. Throughput = deliveries / (last delivered_at - first delivered_at).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg

from chatassist.bootstrap import bootstrap
from chatassist.integrations import start_follower
from chatassist.settings import Settings
from commands.create_workspace import cmd as create_ws
from commands.integrations import webhooks as wh
from commands.provider_keys.cipher import KeyCipher, generate_key_spec
from domain.conversation import Conversation
from projections.integrations.projection import DELIVERIES
from tests.support.services import throwaway_database
from workers.broker import setup_broker

ROOT = Path(__file__).resolve().parent.parent


def receiver_main(port_file: str, secret: str) -> None:
    """The receiver process: 204 to every POST; verifies one in 50 and writes its counts on SIGTERM."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    signer = Webhook(secret)
    counts = {"received": 0, "verified": 0, "bad_signature": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            with lock:
                counts["received"] += 1
                check = counts["received"] % 50 == 0
            if check:
                try:
                    signer.verify(body, {k.lower(): v for k, v in self.headers.items()})
                    counts["verified"] += 1
                except WebhookVerificationError:
                    counts["bad_signature"] += 1
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    Path(port_file).write_text(str(server.server_address[1]))

    def stop(*_: Any) -> None:
        Path(port_file + ".counts").write_text(json.dumps(counts))
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=500.0, help="messages (deliveries) per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--backlog", type=int, default=0, help="write this many first, then start the worker")
    parser.add_argument("--threads", type=int, default=8, help="the worker's actor threads")
    args = parser.parse_args()

    server_url = os.environ.get("CHATASSIST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("CHATASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
    spec, namespace = generate_key_spec("b1"), f"chatassist-bench-{uuid.uuid4().hex[:8]}"
    with throwaway_database(server_url) as database_url:
        settings = Settings(
            database_url=database_url,
            redis_url=redis_url,
            secret_key="bench-secret-key-0123456789-abcdefghijklmnop",
            keys_encryption_key=spec,
            integrations_allow_private_urls=True,
            broker_namespace=namespace,
        )
        container = bootstrap(settings)
        port_file = f"/tmp/bench-webhooks-{namespace}.port"
        workspace_id = create_ws.execute(container.app, create_ws.CreateWorkspace("Bench")).workspace_id
        ctx = wh.Context(container.app, KeyCipher(spec), allow_private=True)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            # the endpoint's secret is known only after it is added: add it first, then start its receiver
            created = wh.add_endpoint(
                ctx, wh.AddEndpoint(workspace_id, uuid.uuid4(), "http://127.0.0.1:1/", ["message.created"])
            )
            code = f"import bench.webhooks as b; b.receiver_main({port_file!r}, {created.secret!r})"
            procs.append(subprocess.Popen([sys.executable, "-c", code], cwd=ROOT))
            while not Path(port_file).exists():
                time.sleep(0.05)
            url = f"http://127.0.0.1:{Path(port_file).read_text()}/hooks"
            wh.change_endpoint(ctx, workspace_id, uuid.uuid4(), created.endpoint.endpoint_id, {"url": url})
            broker = setup_broker(redis_url, namespace)
            from workers import delivery_actors

            for actor in delivery_actors.ACTORS.values():
                actor.broker = broker
                broker.declare_actor(actor)
            follower = start_follower(container, delivery_actors.enqueue)
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "CHATASSIST_KEYS_ENCRYPTION_KEY": spec,
                "CHATASSIST_INTEGRATIONS_ALLOW_PRIVATE_URLS": "true",
                "CHATASSIST_BROKER_NAMESPACE": namespace,
                "CHATASSIST_DB_POOL_SIZE": "1",
                "CHATASSIST_LOG_LEVEL": "WARNING",
            }

            def start_worker() -> None:
                cmd = [
                    sys.executable,
                    "-m",
                    "chatassist.cli",
                    "worker",
                    "--actors-only",
                    "--threads",
                    str(args.threads),
                ]
                proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE)
                assert proc.stdout is not None and b"worker running" in proc.stdout.readline()
                procs.append(proc)

            total = args.backlog or int(args.rate * args.seconds)
            if not args.backlog:
                start_worker()
            started = time.monotonic()
            written = 0
            per_tx = 10
            while written < total:
                conversation = Conversation(workspace_id, "web", {"user_id": f"v-{written}"})
                for i in range(per_tx):
                    conversation.receive(f"m{i}", f"message {written + i}")
                container.app.save(conversation)
                written += per_tx
                if not args.backlog:
                    delay = started + written / args.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
            write_s = time.monotonic() - started
            if args.backlog:
                follower.wait(container.app.recorder.max_notification_id(), timeout=120)
                start_worker()
            with psycopg.connect(database_url) as conn:
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    done = conn.execute(f"SELECT count(*) FROM {DELIVERIES} WHERE status = 'delivered'").fetchone()
                    if done and done[0] >= total:
                        break
                    time.sleep(0.2)
                rows = conn.execute(
                    f"SELECT extract(epoch FROM delivered_at - event_at), extract(epoch FROM delivered_at),"
                    f" attempts FROM {DELIVERIES} WHERE status = 'delivered'"
                ).fetchall()
                statuses = dict(conn.execute(f"SELECT status, count(*) FROM {DELIVERIES} GROUP BY status").fetchall())
            latencies = [float(r[0]) for r in rows]
            times = sorted(float(r[1]) for r in rows)
            result = {
                "mode": "backlog" if args.backlog else "rate",
                "target_rate": None if args.backlog else args.rate,
                "written": written,
                "write_s": round(write_s, 2),
                "delivered": len(rows),
                "statuses": statuses,
                "worker_threads": args.threads,
                "deliveries_per_s": round(len(times) / max(times[-1] - times[0], 1e-9), 1) if times else 0,
                "retried": sum(1 for r in rows if r[2] > 1),
            }
            if not args.backlog:
                result |= {
                    "commit_to_delivery_ms": {
                        "p50": round(percentile(latencies, 0.5) * 1000, 1),
                        "p99": round(percentile(latencies, 0.99) * 1000, 1),
                        "max": round(max(latencies) * 1000, 1),
                    }
                }
        finally:
            for proc in reversed(procs):
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
            counts_file = Path(port_file + ".counts")
            if counts_file.exists():
                result["receiver"] = json.loads(counts_file.read_text())
                counts_file.unlink()
            Path(port_file).unlink(missing_ok=True)
            container.close()
            with contextlib.suppress(Exception):
                setup_broker(redis_url, namespace).flush_all()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
