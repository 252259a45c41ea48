#!/usr/bin/env python3
"""Memory per registration (issue 5: ≤ 1 KiB with 100k held): registers COUNT distinct users
(one binding each, Expires 3600) with a running server over loopback UDP, and reports the
server's PSS before and after, divided by COUNT. With `--batches 2` it then registers COUNT
more users and also reports the growth of the second batch alone: memory the first batch's
transactions left to the allocator is reused there, so it is the steady cost of one more
registration.

    parley serve --auth off --domain example.test --sip 127.0.0.1:5066 --data DIR & PID=$!
    bench/registrations.py --server 127.0.0.1:5066 --pid $PID --count 100000

Only 127.0.0.1 is contacted. Not part of the test suite.
"""
import argparse
import collections
import os
import select
import socket
import sys
import time

from procmem import pss_kb


def register(i, args, local):
    user = f"{args.prefix}{i}"
    host, port = local
    # Never the server's own address: a registrar refuses a contact pointing at itself.
    contact_port = 5070 + i % 1000
    if contact_port == int(args.server.rsplit(":", 1)[1]):
        contact_port += 1000
    return (
        f"REGISTER sip:{args.domain} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK-reg-{args.prefix}-{i}\r\n"
        f"Max-Forwards: 70\r\n"
        f"From: <sip:{user}@{args.domain}>;tag=t{i}\r\n"
        f"To: <sip:{user}@{args.domain}>\r\n"
        f"Call-ID: reg-{args.prefix}-{i}@{host}\r\n"
        f"CSeq: 1 REGISTER\r\n"
        f"Contact: <sip:{user}@{host}:{contact_port}>\r\n"
        f"Expires: 3600\r\n"
        f"Content-Length: 0\r\n\r\n"
    ).encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default="127.0.0.1:5060")
    ap.add_argument("--domain", default="example.test")
    ap.add_argument("--pid", type=int, required=True, help="the server's process id")
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--window", type=int, default=200)
    ap.add_argument("--prefix", default=f"m{os.getpid()}u")
    ap.add_argument("--batches", type=int, default=1)
    ap.add_argument("--settle", type=float, default=40.0,
                    help="seconds to wait after a batch before reading memory: longer than "
                         "Timer J (32 s), so finished transactions are gone and what is left "
                         "is the registrations")
    args = ap.parse_args()
    host, port = args.server.rsplit(":", 1)
    server = (host, int(port))

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("127.0.0.1", 0))
    local = sock.getsockname()
    first = pss_kb(args.pid)
    print(f"server PSS before: {first} KiB")
    failures = 0
    for batch in range(args.batches):
        before = pss_kb(args.pid)
        done, failed, elapsed = run_batch(sock, server, local, args, batch * args.count)
        failures += failed
        time.sleep(args.settle)
        after = pss_kb(args.pid)
        print(f"batch {batch + 1}: {done} registered, {failed} failed in {elapsed:.1f} s; "
              f"PSS {after} KiB; this batch {(after - before) * 1024 / max(done, 1):.0f} "
              f"bytes per registration, all so far "
              f"{(after - first) * 1024 / max(done * (batch + 1), 1):.0f} bytes")
    if FAILURES:
        print("failures: " + ", ".join(f"{n} × {line}" for line, n in FAILURES.most_common()))
    return 0 if failures == 0 else 1


FAILURES = collections.Counter()


def run_batch(sock, server, local, args, offset):
    """Registers users offset..offset+count; (registered, failed, seconds)."""
    sent_at = {}
    next_i, done, failed = offset, 0, 0
    end = offset + args.count
    started = time.monotonic()
    while done + failed < args.count:
        while next_i < end and len(sent_at) < args.window:
            sock.sendto(register(next_i, args, local), server)
            sent_at[next_i] = time.monotonic()
            next_i += 1
        ready, _, _ = select.select([sock], [], [], 0.5)
        if not ready:
            # Resend what waited too long (UDP loss under load), like a client's Timer E.
            now = time.monotonic()
            for i, t in list(sent_at.items()):
                if now - t > 2.0:
                    sock.sendto(register(i, args, local), server)
                    sent_at[i] = now
            if time.monotonic() - started > 600:
                sys.exit(f"registrations.py: gave up with {len(sent_at)} outstanding")
            continue
        data = sock.recv(65535).decode(errors="replace")
        status = data.split(" ", 2)[1] if data.startswith("SIP/2.0 ") else ""
        if status.startswith("1"):
            continue
        call_id = next((l.split(":", 1)[1].strip() for l in data.split("\r\n")
                        if l.lower().startswith(("call-id:", "i:"))), "")
        try:
            i = int(call_id.split("-")[-1].split("@")[0])
        except ValueError:
            continue
        if sent_at.pop(i, None) is None:
            continue
        if status == "200":
            done += 1
        else:
            failed += 1
            FAILURES[data.split("\r\n", 1)[0]] += 1
    return done, failed, time.monotonic() - started

if __name__ == "__main__":
    sys.exit(main())
