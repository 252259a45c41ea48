#!/usr/bin/env python3
"""Time until a node holding many stored subscriptions is back in service (issue 5: 1,000,000
within 10 s). Starts `parley serve` on a data directory filled by the store's
`seed_subscriptions` example and refreshes one of the seeded dialogs (the last watcher's, so
the whole set must be restored) until the server answers 200 instead of 481 or nothing.

    cargo run --release -p parley-store --example seed_subscriptions -- /tmp/seeded 1000000 100000
    bench/restart.py --data /tmp/seeded --count 1000000 --presentities 100000

Only 127.0.0.1 is contacted. Not part of the test suite.
"""
import argparse
import os
import select
import signal
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--count", type=int, default=1000000)
    ap.add_argument("--presentities", type=int, default=100000)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "parley"))
    ap.add_argument("--port", type=int, default=5472)
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    i = args.count - 1
    p = i % args.presentities
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    lport = sock.getsockname()[1]
    server = ("127.0.0.1", args.port)
    started = time.time()
    proc = subprocess.Popen([args.binary, "serve", "--auth", "off", "--domain", "example.test",
                             "--sip", f"127.0.0.1:{args.port}", "--http",
                             f"127.0.0.1:{args.port + 1}", "--data", args.data,
                             "--log-level", "warn"], start_new_session=True)
    cseq = 1
    answer = None
    try:
        while time.time() - started < args.timeout:
            cseq += 1
            msg = (f"SUBSCRIBE sip:p{p}@127.0.0.1:{args.port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bKr{cseq};rport\r\n"
                   f"Max-Forwards: 70\r\n"
                   f"From: <sip:w{i}@example.test>;tag={i}\r\n"
                   f"To: <sip:p{p}@example.test>;tag={i * 31:016x}\r\n"
                   f"Call-ID: {i}-seed@127.0.0.1\r\n"
                   f"CSeq: {cseq} SUBSCRIBE\r\n"
                   f"Contact: <sip:w{i}@127.0.0.1:{lport}>\r\n"
                   f"Event: presence\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n")
            sock.sendto(msg.encode(), server)
            deadline = time.time() + 0.2
            while time.time() < deadline:
                r, _, _ = select.select([sock], [], [], max(0, deadline - time.time()))
                if not r:
                    break
                data = sock.recv(65535).decode(errors="replace")
                if data.startswith("SIP/2.0 ") and f"CSeq: {cseq} SUBSCRIBE" in data:
                    answer = int(data[8:11])
                    break
            if answer == 200:
                break
        elapsed = time.time() - started
        pss = pss_kb(proc.pid)
        print(f"refresh of subscription {i} answered {answer} {elapsed:.2f} s after start; "
              f"server PSS {pss / 1024 if pss else 0:.0f} MiB")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
