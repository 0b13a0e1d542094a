#!/usr/bin/env python3
"""Ingest benchmark of `geneva serve` (issue 8): POST /v1/sightings on loopback.

Sets up a fresh store (SQLite file, or a PostgreSQL schema with --database-url
... ?schema=NAME, dropped first), imports 1,000 indicator domains and 100
customers, starts `geneva serve` on a free port with a sensor token, then
sends --batches NDJSON batches of --batch unique sightings from --clients
concurrent connections, and prints one JSON line: sightings/s sustained over
the whole run, and request latency p50/p99 (ms).

    python3 scripts/bench-serve-ingest.py --geneva .build/release/geneva \\
        --database-url 'postgres://geneva@127.0.0.1:54329/postgres?schema=ingest'
"""
import argparse, http.client, json, os, subprocess, sys, tempfile, threading, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--geneva", default=".build/release/geneva")
    ap.add_argument("--database-url")
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=4)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="geneva-ingest-")
    store = ["--database-url", a.database_url] if a.database_url else ["--db", os.path.join(work, "c.sqlite")]
    if a.database_url and "schema=" in a.database_url:
        schema = a.database_url.split("schema=")[1].split("&")[0]
        base = a.database_url.split("?")[0]
        subprocess.run(["psql", base, "-qXc", f"DROP SCHEMA IF EXISTS {schema} CASCADE"], check=True, capture_output=True)
    intel = os.path.join(work, "intel.csv")
    with open(intel, "w") as f:
        f.write("kind,value,actor,actor_country,campaign\n")
        for i in range(1000):
            f.write(f"domain,d{i}.example,APT-{i % 20},RU,Op {i % 50}\n")
    customers = os.path.join(work, "customers.csv")
    with open(customers, "w") as f:
        f.write("id,name,country\n")
        for i in range(100):
            f.write(f"c{i},Customer {i},DE\n")
    for args in (["intel", "import", *store, intel], ["customers", "import", *store, customers]):
        subprocess.run([a.geneva, *args], check=True, capture_output=True)
    token = "bench-sensor-token"
    digest = subprocess.run([a.geneva, "hash-token"], input=token + "\n", capture_output=True, text=True, check=True).stdout.strip()
    env = dict(os.environ, TOKENS_SENSORS=digest)
    server = subprocess.Popen([a.geneva, "serve", "--listen", "127.0.0.1:0", *store], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    line = server.stdout.readline()
    port = int(line.split("listening on ")[1].split(" ")[0].rsplit(":", 1)[1])

    def batch(n):
        lines = []
        for j in range(a.batch):
            k = n * a.batch + j
            lines.append(json.dumps({
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1780000000 + k)), "customer": f"c{k % 100}", "sensor": "s1",
                "evidence": "dns-query", "flow": f"udp 10.0.{k % 250}.{k % 199}:{1024 + k % 60000} -> 10.0.0.1:53", "source": "bench",
                "offset": k, "observed": f"d{k % 1000}.example", "indicator": {"kind": "domain", "value": f"d{k % 1000}.example"}}))
        return ("\n".join(lines) + "\n").encode()

    bodies = [batch(n) for n in range(a.batches)]
    latencies, stored, errors = [], [0], []
    lock = threading.Lock()
    next_batch = [0]

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port)
        while True:
            with lock:
                n = next_batch[0]
                next_batch[0] += 1
            if n >= a.batches:
                return
            t0 = time.perf_counter()
            conn.request("POST", "/v1/sightings", body=bodies[n], headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})
            r = conn.getresponse()
            body = r.read()
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)
                if r.status == 200:
                    stored[0] += json.loads(body)["stored"]
                else:
                    errors.append((r.status, body[:200]))

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(a.clients)]
    for t in threads: t.start()
    for t in threads: t.join()
    elapsed = time.perf_counter() - start
    server.terminate()
    server.wait()
    latencies.sort()
    def pct(p): return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)
    print(json.dumps({
        "store": "postgresql" if a.database_url else "sqlite", "sightings": a.batches * a.batch, "stored": stored[0], "errors": len(errors),
        "batch": a.batch, "clients": a.clients, "seconds": round(elapsed, 2), "sightings_per_second": int(stored[0] / elapsed),
        "p50_ms": pct(0.50), "p99_ms": pct(0.99)}))
    if errors:
        print(errors[:3], file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
