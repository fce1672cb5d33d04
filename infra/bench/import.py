#!/usr/bin/env python3
"""The inventory import benchmark (`infra/scripts/bench import`): titolare-admin (release)
loading 1,000,000 mailboxes into AWS's DynamoDB Local and into the embedded store, loading the
same file again, and an import killed half-way then run again; a plain boto3 loop of 25-item
BatchWriteItem calls on 4 threads as the baseline. Writes the "Inventory import" section of
infra/bench/RESULTS.md."""

import argparse, json, os, signal, socket, subprocess, sys, threading, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADMIN = ROOT / "target/release/titolare-admin"
WORK = ROOT / "target/bench-import"
DDB = ROOT / ".tools/dynamodb-local"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_dynamodb_local():
    port = free_port()
    proc = subprocess.Popen(
        ["java", "-Xmx6g", "-XX:+UseParallelGC", "-Djava.library.path=lib", "-cp", "lib/*",
         "software.amazon.dynamodb.services.local.main.ServerRunner", "-inMemory", "-disableTelemetry",
         "-port", str(port)],
        cwd=DDB, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    raise SystemExit("DynamoDB Local did not start")


def client(endpoint):
    import boto3
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="eu-south-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def create_table(endpoint, name):
    c = client(endpoint)
    c.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                         {"AttributeName": "sk", "AttributeType": "S"}],
                   KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                              {"AttributeName": "sk", "KeyType": "RANGE"}])


def env_for(endpoint):
    return dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_REGION="eu-south-1",
                AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")


def import_file(path, extra, env=None, kill_after=None):
    """Runs one import; its JSON summary (None when killed)."""
    args = [str(ADMIN), "import", str(path), "--kind", "mailboxes"] + extra
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if kill_after is not None:
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return None
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"import failed: {args}")
    return json.loads(out.decode().strip().splitlines()[-1])


def fresh(path):
    for suffix in (".progress", ".rejected"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def boto3_baseline(endpoint, table, lines, threads=4):
    """A plain loop: 25-item BatchWriteItem calls, unprocessed items sent again, on 4 threads."""
    c = client(endpoint)
    chunks = [lines[i:i + 25] for i in range(0, len(lines), 25)]
    def work(part):
        for chunk in part:
            requests = [{"PutRequest": {"Item": {"pk": {"S": f"ACC#{m['account']}"},
                                                 "sk": {"S": "MAILBOX#" + m["mailbox"]["address"]},
                                                 "kind": {"S": "mailbox"}, "version": {"N": "1"},
                                                 "data": {"S": json.dumps(m["mailbox"])}}}} for m in chunk]
            pending = {table: requests}
            while pending:
                pending = c.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    started = time.time()
    ts = [threading.Thread(target=work, args=(chunks[i::threads],)) for i in range(threads)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    return len(lines) / (time.time() - started)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mailboxes", type=int, default=1_000_000)
    ap.add_argument("--results", default=str(ROOT / "infra/bench/RESULTS.md"))
    a = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    big = WORK / f"mailboxes-{a.mailboxes}.jsonl"
    if not big.exists():
        with open(big, "w") as f:
            subprocess.run([str(ADMIN), "generate", "mailboxes", str(a.mailboxes)], stdout=f, check=True)
    small = WORK / "mailboxes-200000.jsonl"
    if not small.exists():
        with open(small, "w") as f:
            subprocess.run([str(ADMIN), "generate", "mailboxes", "200000"], stdout=f, check=True)
    size_mb = big.stat().st_size / 1e6
    rows = []
    ddb, endpoint = start_dynamodb_local()
    try:
        env = env_for(endpoint)
        create_table(endpoint, "first")
        fresh(big)
        first = import_file(big, ["--table", "first"], env)
        rows.append(("DynamoDB Local, empty table", first))
        fresh(big)
        again = import_file(big, ["--table", "first"], env)
        rows.append(("DynamoDB Local, the same file again", again))
        # Killed after 10 s, then run again.
        create_table(endpoint, "killed")
        fresh(small)
        import_file(small, ["--table", "killed"], env, kill_after=10)
        resumed = import_file(small, ["--table", "killed"], env)
        rows.append(("DynamoDB Local, 200,000 lines: killed after 10 s, run again", resumed))
        create_table(endpoint, "baseline")
        with open(small) as f:
            lines = [json.loads(l) for l in f]
        baseline = boto3_baseline(endpoint, "baseline", lines)
    finally:
        ddb.terminate()
        ddb.wait()
    data = WORK / "embedded"
    subprocess.run(["rm", "-rf", str(data)])
    fresh(big)
    emb = import_file(big, ["--data-dir", str(data)])
    rows.append(("embedded store, empty", emb))
    fresh(big)
    emb_again = import_file(big, ["--data-dir", str(data)])
    rows.append(("embedded store, the same file again", emb_again))
    subprocess.run(["rm", "-rf", str(data)])
    fresh(big)
    import_file(big, ["--data-dir", str(data)], kill_after=6)
    emb_resumed = import_file(big, ["--data-dir", str(data)])
    rows.append(("embedded store: killed after 6 s, run again", emb_resumed))

    out = ["## Inventory import", "",
           f"`titolare-admin import` (release) of generated mailboxes ({a.mailboxes:,} lines, {size_mb:.0f} MB of JSON lines; "
           "100 accounts) by `infra/scripts/bench import`. Batches of 100 lines, 32 in flight, on DynamoDB Local "
           "(3.3.1, in memory); of 1,000 lines, one durable commit each, on the embedded store (16 MiB page cache). "
           "Write units as DynamoDB bills them (1 per KB per item, BatchWriteItem and single writes). "
           "Peak memory: the process's VmHWM. Goals: ≥ 4,000 lines/s on DynamoDB Local, ≥ 50,000 on the embedded "
           "store, ≤ 100 MiB whatever the file's size, a killed import resuming within the batches in flight.", "",
           "| run | lines | applied | already there | lines/s | read units | write units | peak MiB | resumed after line |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in rows:
        out.append(f"| {name} | {s['lines']:,} | {s['applied']:,} | {s['stale']:,} | {s['lines_per_second']:,.0f} | "
                   f"{s['read_units']:,} | {s['write_units']:,} | {s['peak_memory_mib']:.1f} | {s['resumed_after_line']:,} |")
    out += ["", f"Baseline, same machine and run: a plain boto3 loop of 25-item BatchWriteItem calls on 4 threads "
            f"(no reads, no version rule) wrote **{baseline:,.0f} items/s** into DynamoDB Local (200,000 items).", ""]
    section = "\n".join(out)
    text = Path(a.results).read_text()
    if "## Inventory import" in text:
        head, _, rest = text.partition("## Inventory import")
        after = rest.find("\n## ")
        text = head + section + (rest[after + 1:] if after >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    Path(a.results).write_text(text)
    print(section)


if __name__ == "__main__":
    main()
