#!/usr/bin/env python3
"""Cold starts of every Lambda function, against two baselines built in the same run.

A small Lambda Runtime API emulator (the four routes a runtime calls) serves one event to a
freshly spawned binary, as Lambda does on a cold start; the process is then killed and its
resource usage read from wait4(). Every function is started cold RUNS times, alternating
with the bare `lambda_http` hello and the bare SDK function (one DynamoDB GetItem), against
DynamoDB on a local moto server. Writes the "Cold start" section of infra/bench/RESULTS.md
and its chart. Run by infra/scripts/bench (which builds the binaries and starts moto).

Measured per start: init (spawn to the runtime's first /next), first answer (spawn to the
response), CPU (user + sys of the whole process, which Lambda's CPU share stretches: at
256 MB a function gets 256/1769 of a vCPU), peak RSS. Every store call goes through a small
HTTP proxy in front of moto, which times it: the first answer splits into the time spent
waiting on the store and the function's own time (everything else: start, SDK, handler).
moto's time per call is no model of DynamoDB's (its queries walk the table in Python, and a
transaction copies every table first), so the own time is what compares functions that make
different store calls with the bare SDK function's one GetItem.
"""
import argparse
import gc
import gzip
import http.server
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEY = "0f0e0d0c0b0a09080706050403020100000102030405060708090a0b0c0d0e0f"
ORIGIN_SECRET = "origin-secret-of-the-bench-0123456789abcdef"
# Lambda gives a function one vCPU at 1,769 MB, in proportion below it.
FULL_VCPU_MB = 1769
MEMORY_MB = 256


class StoreProxy:
    """Forwards HTTP/1.1 calls to moto one at a time per connection, timing each from the
    call's first line to its answer passed back, so the proxy's own work counts as store wait,
    not as the function's. moto answers every call with `Connection: close`; DynamoDB keeps
    a connection open, so the proxy drops that header and keeps the function's connection
    for its next call (each call still reaches moto on a connection of its own): a function
    making four calls connects once, as it would to DynamoDB, not four times."""

    def __init__(self, upstream):
        host, _, port = upstream.removeprefix("http://").rstrip("/").partition(":")
        self.upstream = (host, int(port or 80))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.calls = []  # (started, ended, operation, request body)
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def accept(self):
        while True:
            conn, _ = self.listener.accept()
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        with conn:
            reader = conn.makefile("rb")
            while True:
                first = reader.readline()
                started = time.perf_counter()
                head = first + read_head(reader) if first.strip() else b""
                if not head:
                    return
                body = read_body(reader, head)
                operation = (header(head, b"x-amz-target") or "").rpartition(".")[2]
                with socket.create_connection(self.upstream) as up:
                    up.sendall(head + body)
                    # By its length, as the SDK reads it: moto's server closes the socket
                    # some 10 ms after its answer.
                    upstream = up.makefile("rb")
                    answer_head = read_head(upstream)
                    length = header(answer_head, b"content-length")
                    rest = upstream.read(int(length)) if length is not None else upstream.read()
                    kept = b"".join(line for line in answer_head.splitlines(keepends=True)
                                    if not line.lower().startswith(b"connection:"))
                conn.sendall(kept + rest)
                ended = time.perf_counter()
                with self.lock:
                    self.calls.append((started, ended, operation, body))
                if length is None:
                    return  # an answer without a length ends with its connection

    def waited(self, start, end):
        """Calls started in [start, end]: how many, and the time at least one was open."""
        with self.lock:
            spans = sorted((a, b) for a, b, _, _ in self.calls if start <= a <= end)
        total, reach = 0.0, None
        for a, b in spans:
            if reach is None or a > reach:
                total += b - a
                reach = b
            elif b > reach:
                total += b - reach
                reach = b
        return len(spans), total * 1000

    def recorded(self, start, end):
        """The calls started in [start, end], in order: [operation, request body]."""
        with self.lock:
            return [[op, body.decode()] for a, _, op, body in sorted(self.calls, key=lambda c: c[0])
                    if start <= a <= end]


def read_head(reader):
    lines = []
    while True:
        line = reader.readline()
        if not line:
            return b""
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            return b"".join(lines)


def header(head, name):
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().decode()
    return None


def read_body(reader, head):
    if (header(head, b"transfer-encoding") or "").lower() == "chunked":
        raise SystemExit("the store proxy does not read chunked requests")
    return reader.read(int(header(head, b"content-length") or 0))


class Emulator(http.server.ThreadingHTTPServer):
    """The Lambda Runtime API for one cold start: one event out, one answer back."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.events = queue.Queue()
        self.answers = queue.Queue()
        self.first_next = None
        # When each event was handed over (after the runtime asked for it).
        self.handed = []

    @property
    def address(self):
        return f"127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if not self.path.endswith("/runtime/invocation/next"):
            return self.reply(404)
        server = self.server
        if server.first_next is None:
            server.first_next = time.perf_counter()
        event = server.events.get()
        server.handed.append(time.perf_counter())
        request_id = str(uuid.uuid4())
        deadline = int((time.time() + 30) * 1000)
        self.reply(200, json.dumps(event).encode(), {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:eu-south-1:123456789012:function:bench",
            "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
        })

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.endswith("/response"):
            self.server.answers.put((time.perf_counter(), "response", body))
        elif self.path.endswith("/error"):
            self.server.answers.put((time.perf_counter(), "error", body))
        self.reply(202, b"{}", {"Content-Type": "application/json"})


def api_event(method, path, query="", body=None, account=None, link=None):
    headers = {"content-type": "application/json", "host": "api.example.com",
               "user-agent": "bench", "idempotency-key": str(uuid.uuid4()),
               "x-origin-verify": ORIGIN_SECRET, "cloudfront-viewer-address": "198.51.100.7:46532"}
    if link:
        headers["authorization"] = f"Bearer {link}"
    context = {
        "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
        "domainPrefix": "api", "requestId": str(uuid.uuid4()), "routeKey": "$default",
        "stage": "$default", "time": "01/Dec/2026:08:00:00 +0000", "timeEpoch": 1796112000000,
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": "203.0.113.9", "userAgent": "bench"},
    }
    if account:
        context["authorizer"] = {"jwt": {"claims": {"sub": account, "username": account},
                                         "scopes": None}}
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": headers, "requestContext": context,
            "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False}


def first_requests(fx):
    """Each function's first request: the call a person makes most, valid where it can be."""
    t, cur, new = fx["transfer"], fx["current_holder_link"], fx["new_holder_link"]
    holder = {
        "tipo": "azienda", "ragione_sociale": "Freddo S.r.l.", "partita_iva": "00000010017",
        "codice_fiscale_azienda": "00000010017", "indirizzo": "Via Po 1", "cap": "00198",
        "provincia": "RM", "comune": "Roma", "cellulare": "+39 333 123 4567",
        "telefono": "06 1234 5678", "email": "freddo@example.it", "allow_duplicate": True,
    }
    return {
        "holders-get": lambda: api_event("GET", "/v1/holders/19", account="demo"),
        "holders-search": lambda: api_event("GET", "/v1/holders", "cognome=test", account="demo"),
        "holders-create": lambda: api_event("POST", "/v1/holders", body=holder, account="demo"),
        "holders-update": lambda: api_event("PATCH", "/v1/holders/19",
                                            body={"telefono": "+39 06 1234 5678"}, account="demo"),
        "mailboxes-list": lambda: api_event("GET", "/v1/mailboxes", account="demo"),
        "mailboxes-get": lambda: api_event("GET", "/v1/mailboxes/teste1234@pec.it", account="demo"),
        "domains-list": lambda: api_event("GET", "/v1/domains", account="demo"),
        "domains-get": lambda: api_event("GET", "/v1/domains/cold.it", account="cold"),
        "operations-list": lambda: api_event("GET", "/v1/operations", account="demo"),
        "account-get": lambda: api_event("GET", "/v1/account", account="demo"),
        "transfers-read": lambda: api_event("GET", f"/v1/transfers/{t}", account="cold"),
        "transfers-write": lambda: api_event("PATCH", f"/v1/transfers/{t}/contacts", account="cold",
                                             body={"party": "current_holder",
                                                   "mobile": "+39 333 765 4321"}),
        "transfer-codes-status": lambda: api_event("GET", f"/v1/transfers/{t}/codes", account="cold"),
        "transfer-codes-send": lambda: api_event("POST", f"/v1/transfers/{t}/codes", account="cold",
                                                 body={"channel": "sms"}),
        "transfer-codes-verify": lambda: api_event("POST", f"/v1/transfers/{t}/codes/verify",
                                                   account="cold",
                                                   body={"channel": "sms", "code": "000000"}),
        "party-read": lambda: api_event("GET", "/v1/party", link=cur),
        "party-steps": lambda: api_event("POST", "/v1/party/contract", link=new,
                                         body={"accepted": ["condizioni-generali", "privacy"]}),
        "party-codes-status": lambda: api_event("GET", "/v1/party/codes", link=cur),
        "party-codes-send": lambda: api_event("POST", "/v1/party/codes", link=cur,
                                              body={"channel": "sms"}),
        "party-codes-verify": lambda: api_event("POST", "/v1/party/codes/verify", link=cur,
                                                body={"channel": "sms", "code": "000000"}),
        "party-login": lambda: api_event("POST", "/v1/party/login", account="cold", link=new),
        "password-reset": lambda: api_event("POST", "/v1/password-reset/link",
                                            body={"token": "not-a-token"}),
        "expirer": lambda: {},
        "ttl-backstop": lambda: {"Records": []},
        "dispatch": lambda: {"Records": []},
        "inventory-ingest": lambda: {"Records": []},
        "platform-acks": lambda: {"Records": []},
        "bench-hello": lambda: api_event("GET", "/hello"),
        "bench-sdk-get": lambda: api_event("GET", "/v1/holders/19", account="demo"),
        "bench-sdk-replay": lambda: api_event("GET", "/replay"),
    }


def environment(fx, endpoint, runtime_api, function):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_REGION": "eu-south-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_ENDPOINT_URL": endpoint,
        "TABLE_NAME": fx["table"],
        "RUST_LOG": "info",
        "TITOLARE_SECRET_KEY": KEY,
        "EMAIL_FROM": "noreply@pec.example.it",
        "PROVIDER_NAME": "PEC Esempio S.p.A.",
        "SUPPORT_CONTACT": "assistenza@pec.example.it, 800 000 000",
        "PUBLIC_BASE_URL": "https://pec.example.it",
        # The rules the fixture's request was made under.
        "CHANGE_OF_NAME_URL": fx["change_of_name_url"],
        "SUPPORT_URL": fx["support_url"],
        "CONTRACT_CONDITIONS": json.dumps(fx["conditions"]),
        # CloudFront's secret: the events below carry it, as CloudFront adds it.
        "ORIGIN_VERIFY_SECRET": ORIGIN_SECRET,
        # Never written to by an empty batch.
        "INVENTORY_DLQ_URL": "http://127.0.0.1:1/queue/unused",
        "PLATFORM_ACK_DLQ_URL": "http://127.0.0.1:1/queue/unused",
        "PLATFORM_QUEUE_URL": "http://127.0.0.1:1/queue/unused.fifo",
        "EVENT_BUS_NAME": "unused",
    }
    return env


def cold_start(binary, function, event, fx, proxy, log, replay=None, extra_env=None):
    emulator = Emulator()
    thread = threading.Thread(target=emulator.serve_forever, daemon=True)
    thread.start()
    # The same call twice (each with an Idempotency-Key of its own, so the second is done
    # again, not replayed): the second, warm, shows what the call itself takes (its store
    # calls on moto); the first, less the second, is the price of being cold.
    emulator.events.put(event)
    again = json.loads(json.dumps(event))
    if isinstance(again.get("headers"), dict):
        again["headers"]["idempotency-key"] = str(uuid.uuid4())
    emulator.events.put(again)
    # Every binary starts with its file in the page cache. This machine pages out file pages
    # left untouched for about a minute, so a binary started once a round (each function)
    # would pay disk reads that one started many times a round (the baselines) does not.
    with open(binary, "rb") as f:
        while f.read(1 << 20):
            pass
    started = time.perf_counter()
    env = environment(fx, proxy.endpoint, emulator.address, function)
    env.update(extra_env or {})
    if replay is not None:
        env["BENCH_REPLAY"] = json.dumps(replay)
    child = subprocess.Popen([str(binary)], env=env, stdout=log, stderr=log)
    try:
        answered, kind, body = emulator.answers.get(timeout=30)
        warm_answered, _, _ = emulator.answers.get(timeout=30)
    except queue.Empty:
        answered, kind, body = None, "timeout", b""
        warm_answered = None
    # The peak RSS of the binary itself: wait4's ru_maxrss would count the Python process
    # the child was forked from before it exec'd.
    peak_kib = None
    try:
        for line in open(f"/proc/{child.pid}/status"):
            if line.startswith("VmHWM:"):
                peak_kib = int(line.split()[1])
    except OSError:
        pass
    child.send_signal(signal.SIGKILL)
    _, _, usage = os.wait4(child.pid, 0)
    emulator.shutdown()
    emulator.server_close()
    # Store wait over the whole start, and within each of the two calls.
    calls, store_ms = proxy.waited(started, answered) if answered else (None, None)
    first_store_ms = proxy.waited(emulator.handed[0], answered)[1] if answered else None
    warm_store_ms = (proxy.waited(emulator.handed[1], warm_answered)[1] if warm_answered
                     else None)
    status = None
    if kind == "response":
        try:
            status = json.loads(body).get("statusCode", 200)
        except (ValueError, AttributeError):
            status = 200
    return {
        "init_ms": ((emulator.first_next or answered or started) - started) * 1000,
        "first_ms": (answered - emulator.handed[0]) * 1000 if answered else None,
        "warm_ms": (warm_answered - emulator.handed[1]) * 1000 if warm_answered else None,
        "warm_store_ms": warm_store_ms,
        "answer_ms": ((answered or started) - started) * 1000 if answered else None,
        "calls": calls,
        "first_store_ms": first_store_ms,
        "store_ms": store_ms,
        "cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000,
        "major_faults": usage.ru_majflt,
        "rss_mib": (peak_kib if peak_kib is not None else usage.ru_maxrss) / 1024,
        "outcome": status if status is not None else kind,
        # What the first call asked of the store, for the bare SDK function to do the same.
        "replay": proxy.recorded(emulator.handed[0], answered) if answered else None,
    }


# The bare SDK function once more, its certificate store narrowed to one CA bundle file as
# Lambda's Amazon Linux keeps it, not Debian's directory of one file per root. The SDK reads
# the whole store on every cold start and the functions read none (they trust a compiled-in
# copy of Mozilla's roots): this row shows how much of their lead is Debian's layout.
ONE_CA_FILE = "bench-sdk-get (one CA file)"


def one_ca_file_env(scratch):
    bundle = next((p for p in ("/etc/ssl/certs/ca-certificates.crt",
                               "/etc/pki/tls/certs/ca-bundle.crt") if os.path.exists(p)), None)
    if bundle is None:
        return None
    empty = Path(scratch) / "empty-cert-dir"
    empty.mkdir(parents=True, exist_ok=True)
    return {"SSL_CERT_FILE": bundle, "SSL_CERT_DIR": str(empty)}


# Functions run by queues and schedules, not by API Gateway.
NOT_HTTP = {"dispatch", "expirer", "inventory-ingest", "platform-acks", "ttl-backstop"}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True, help="moto's URL")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--bin", default=str(ROOT / "target/release"))
    ap.add_argument("--before", help="a directory of binaries built from an earlier commit")
    ap.add_argument("--before-label", default="before")
    ap.add_argument("--functions", nargs="*")
    ap.add_argument("--results", default=str(ROOT / "infra/bench/RESULTS.md"))
    args = ap.parse_args()

    functions = args.functions or sorted(p.name for p in (ROOT / "functions").iterdir())
    fixture = json.loads(subprocess.run(
        [str(Path(args.bin) / "titolare-bench"), "coldstart-fixture", KEY],
        env={**os.environ, "TITOLARE_TEST_AWS_ENDPOINT": args.endpoint},
        capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    requests = first_requests(fixture)
    binaries = {"bench-hello": Path(args.bin) / "bench-hello",
                "bench-sdk-get": Path(args.bin) / "bench-sdk-get"}
    extra_env = {}
    one_ca = one_ca_file_env(ROOT / "target")
    if one_ca:
        binaries[ONE_CA_FILE] = Path(args.bin) / "bench-sdk-get"
        extra_env[ONE_CA_FILE] = one_ca
    for f in functions:
        binaries[f] = Path(args.bin) / f
    if args.before:
        for f in functions:
            b = Path(args.before) / f
            if b.exists():
                binaries[f"{f} ({args.before_label})"] = b
    replayer = Path(args.bin) / "bench-sdk-replay"
    proxy = StoreProxy(args.endpoint)
    results = {name: [] for name in binaries}
    # Per function: the bare SDK function making the store calls that function's first call
    # made in the same run (recorded by the proxy, replayed through the SDK's operations).
    same = {f: [] for f in functions}
    log_path = ROOT / "target/coldstart.log"
    # No collector pauses of this process (the emulator, the proxy) inside a timed start: the
    # objects the runs keep would otherwise make them longer and more frequent as a run goes on.
    gc.collect()
    gc.freeze()
    gc.disable()
    with open(log_path, "wb") as log:
        for run in range(args.runs):
            for name, binary in binaries.items():
                function = name.split(" ")[0]
                result = cold_start(binary, function, requests[function](), fixture, proxy, log,
                                    extra_env=extra_env.get(name))
                results[name].append(result)
                if name in same and result["replay"] is not None:
                    same[name].append(cold_start(replayer, "bench-sdk-replay",
                                                 requests["bench-sdk-get"](), fixture, proxy, log,
                                                 replay=result["replay"]))
            print(f"run {run + 1}/{args.runs}", flush=True)
    gc.enable()

    def summary(name, rs=None, paths=None):
        rs = results[name] if rs is None else rs
        data = (paths or binaries)[name].read_bytes()
        answers = [r["answer_ms"] for r in rs if r["answer_ms"] is not None]
        return {
            "size": len(data), "gzip": len(gzip.compress(data, 6)),
            "init": median([r["init_ms"] for r in rs]),
            "answer": median(answers), "min": min(answers, default=float("nan")),
            "max": max(answers, default=float("nan")),
            "cpu": median([r["cpu_ms"] for r in rs]),
            "major": max(r["major_faults"] for r in rs),
            "first": median([r["first_ms"] for r in rs]),
            "warm": median([r["warm_ms"] for r in rs]),
            "rss": median([r["rss_mib"] for r in rs]),
            "calls": median([r["calls"] for r in rs]),
            "store": median([r["store_ms"] for r in rs]),
            "own": median([r["answer_ms"] - r["store_ms"] for r in rs if r["answer_ms"] is not None]),
            # The price of being cold: the first call's own time less the warm call's.
            "tax": median([(r["first_ms"] - r["first_store_ms"]) - (r["warm_ms"] - r["warm_store_ms"])
                           for r in rs if r["warm_ms"] is not None]),
            "outcomes": sorted({str(r["outcome"]) for r in rs}),
        }

    s = {name: summary(name) for name in binaries}
    binaries_replay = {"bench-sdk-replay": replayer}
    alike = {f: summary("bench-sdk-replay", same[f], binaries_replay) for f in functions if same[f]}
    hello, sdk = s["bench-hello"], s["bench-sdk-get"]
    lines = [
        "## Cold start",
        "",
        f"Written by `infra/scripts/bench` on {time.strftime('%Y-%m-%d')}: release builds (x86_64, "
        f"the workspace's release profile), {args.runs} cold starts each, alternating, through a "
        "Lambda Runtime API emulator on 127.0.0.1 (`infra/bench/coldstart.py`), against DynamoDB on "
        "a local moto server. Each start spawns the binary, hands it one event (its function's most "
        "common call; the answer's status is listed) and reads the process's resource usage when "
        "it has answered. *init*: spawn to the runtime's first `/next`; *first answer*: spawn to "
        "the response; *first call* and *warm call*: from handing the event over to the answer, for the "
        "first call and for the same call again in the same process (the warm one is what the call "
        "itself takes: its store calls, each a round trip to moto); *store calls* and *store wait*: "
        "the calls the start made (through a timing proxy in front of moto) and the time one was "
        "open; *own*: first answer less store wait, the function's own time (moto's time per call "
        "is no model of DynamoDB's: its queries walk the table in Python and a transaction copies "
        "every table first); *CPU*: user + sys of the whole "
        "start, both calls; *peak RSS*: the process's high-water "
        "mark once it has answered; *at 256 MB*: that CPU stretched by "
        f"Lambda's share of a vCPU at 256 MB ({MEMORY_MB}/{FULL_VCPU_MB}). Ratios: first answer, "
        "own time and peak RSS to the bare SDK function (GetItem), stripped size to it too. "
        "*SDK, same calls*: the bare SDK function started cold right after each start of the "
        "function, making the store calls the function's first call made in that start (the proxy "
        "records them; the bare function sends each through the same SDK operation, its body "
        "replaced by the recorded one before signing; a write whose condition the function's own "
        "call has used up is refused, still a whole round trip read by the SDK), its first answer "
        "and the function's against it. "
        "moto answers every call `Connection: close`; the proxy keeps the function's connection open "
        "between calls, as DynamoDB does. The functions trust a compiled-in copy of Mozilla's root "
        "certificates; both bare SDK functions read the machine's certificate store, as the SDK "
        "does by default, and here that is Debian's directory of one file per root. "
        f"*{ONE_CA_FILE}*: the bare GetItem again, its store narrowed to one CA bundle file "
        "(`SSL_CERT_FILE`, an empty `SSL_CERT_DIR`), closer to what Lambda's Amazon Linux keeps: "
        "the functions are also compared with it.",
        "",
        "Goals: first answer ≤ 1.2× and peak RSS ≤ 1.5× the bare SDK function's; stripped size ≤ 1.3×. "
        "The first answer is compared three ways: as measured against the bare GetItem; against the "
        "bare SDK function making the same store calls (what a function's own work costs, moto's "
        "time for those calls included on both sides); and as own time (first answer less store wait).",
        "",
        "| function | stripped MB | gzip MB | init ms | first call ms | warm call ms | first answer ms (median, min–max) | store calls | store wait ms | own ms | SDK, same calls: first answer ms | CPU ms | at 256 MB ms | peak RSS MiB | answer / hello | answer / SDK | answer / SDK, same calls | own / SDK | CPU / SDK | RSS / SDK | size / SDK | answered |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in binaries:
        r = s[name]
        a = alike.get(name)
        same_answer = f"{a['answer']:.1f}" if a else "—"
        same_ratio = f"{r['answer'] / a['answer']:.2f}" if a else "—"
        lines.append(
            f"| {name} | {r['size'] / 1e6:.1f} | {r['gzip'] / 1e6:.1f} | {r['init']:.1f} | "
            f"{r['first']:.1f} | {r['warm']:.1f} | "
            f"{r['answer']:.1f} ({r['min']:.1f}–{r['max']:.1f}) | {r['calls']:.0f} | "
            f"{r['store']:.1f} | {r['own']:.1f} | {same_answer} | {r['cpu']:.1f} | "
            f"{r['cpu'] * FULL_VCPU_MB / MEMORY_MB:.0f} | {r['rss']:.1f} | "
            f"{r['answer'] / hello['answer']:.2f} | {r['answer'] / sdk['answer']:.2f} | {same_ratio} | "
            f"{r['own'] / sdk['own']:.2f} | "
            f"{r['cpu'] / sdk['cpu']:.2f} | "
            f"{r['rss'] / sdk['rss']:.2f} | {r['size'] / sdk['size']:.2f} | {', '.join(r['outcomes'])} |"
        )
    own = [n for n in binaries if not n.startswith("bench-") and " " not in n]
    worst = lambda key, base: max(own, key=lambda n: s[n][key] / base[key])
    wa, wo, wc, wr, ws = (worst(k, sdk) for k in ("answer", "own", "cpu", "rss", "size"))
    tax = lambda n: s[n]["tax"]
    wt = max(own, key=tax)
    http = [n for n in own if n not in NOT_HTTP and n in alike]
    alike_ratio = lambda n: s[n]["answer"] / alike[n]["answer"]
    wl = max(http, key=alike_ratio)
    over = [n for n in http if alike_ratio(n) > 1.2]
    one_ca_line = ""
    if ONE_CA_FILE in s:
        sdk1 = s[ONE_CA_FILE]
        single = [n for n in http if s[n]["calls"] <= 1]
        ratio1 = lambda n, key: s[n][key] / sdk1[key]
        wo1 = max(single, key=lambda n: ratio1(n, "own"))
        wi1 = max(single, key=lambda n: ratio1(n, "init"))
        wc1 = max(single, key=lambda n: ratio1(n, "cpu"))
        one_ca_line = (
            f" Against the bare GetItem reading one CA file (init {sdk1['init']:.1f} ms, own time "
            f"{sdk1['own']:.1f} ms), among the {len(single)} HTTP functions making at most one store "
            f"call: init at most {ratio1(wi1, 'init'):.2f}× ({wi1}), own time at most "
            f"{ratio1(wo1, 'own'):.2f}× ({wo1}), CPU at most {ratio1(wc1, 'cpu'):.2f}× ({wc1}).")
    lines += [
        "",
        f"First answer against the bare SDK function making the same store calls: at most "
        f"{alike_ratio(wl):.2f}× ({wl}) among the {len(http)} HTTP functions; over 1.2×: "
        f"{', '.join(over) if over else 'none'}. "
        f"Largest ratios among the functions to the bare GetItem: first answer {s[wa]['answer'] / sdk['answer']:.2f}× ({wa}), "
        f"own time {s[wo]['own'] / sdk['own']:.2f}× ({wo}), "
        f"CPU {s[wc]['cpu'] / sdk['cpu']:.2f}× ({wc}), "
        f"peak RSS {s[wr]['rss'] / sdk['rss']:.2f}× ({wr}), stripped size {s[ws]['size'] / sdk['size']:.2f}× ({ws}). "
        f"The first call's own time (less store wait) over the warm one's: at most {tax(wt):.1f} ms ({wt}), "
        f"against {tax('bench-sdk-get'):.1f} ms for the bare SDK function." + one_ca_line +
        f" Major page faults (a page read from disk) in any start: at most "
        f"{max(s[n]['major'] for n in binaries)}: each binary's file is read into the page cache "
        "before its start (this machine pages out file pages left untouched for about a minute, "
        "which made the functions, started once a round, pay disk reads the baselines did not).",
        "",
        "![Cold start: first answer and peak RSS per function](coldstart.png)",
        "",
    ]
    section = "\n".join(lines)
    path = Path(args.results)
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    if "## Cold start" in text:
        head, _, rest = text.partition("## Cold start")
        after = rest.find("\n## ")
        text = head + section + (rest[after + 1:] if after >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
    chart(s, binaries, sdk, alike, path.parent / "coldstart.png")
    print(section)


def chart(s, binaries, sdk, alike, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(binaries)
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 0.32 * len(names) + 1.5), sharey=True)
    y = range(len(names))
    own = [s[n]["own"] for n in names]
    a.barh(y, own, color="#0066cc", label="own time")
    a.barh(y, [s[n]["store"] for n in names], left=own, color="#99c2ff",
           label="store wait (moto)")
    marks = [(i, alike[n]["answer"] * 1.2) for i, n in enumerate(names) if n in alike]
    a.scatter([m for _, m in marks], [i for i, _ in marks], marker="|", s=160, color="black",
              zorder=3, label="1.2× bare SDK, same store calls")
    a.axvline(sdk["own"] * 1.2, color="#cc3300", linestyle="--", label="1.2× bare SDK own time")
    a.axvline(sdk["answer"] * 1.2, color="#cc3300", linestyle=":",
              label="1.2× bare SDK first answer")
    a.set_xlabel("first answer after spawn, ms (median): own time + store wait")
    a.legend(loc="lower right")
    b.barh(y, [s[n]["rss"] for n in names], color="#339966")
    b.axvline(sdk["rss"] * 1.5, color="#cc3300", linestyle="--", label="1.5× bare SDK")
    b.set_xlabel("peak RSS, MiB (median)")
    b.legend(loc="lower right")
    a.set_yticks(list(y), names)
    a.invert_yaxis()
    fig.suptitle("Cold start per Lambda function (x86_64 release, moto)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
