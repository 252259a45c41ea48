#!/usr/bin/env python3
"""Memory per live subscription (issue 5: ≤ 2 KiB with 100k): opens COUNT presence
subscriptions (one dialog each, watcher w<i> to presentity p<i mod P>) against a running
server over loopback UDP, answers every NOTIFY with 200, and reports the server's PSS before
and after, divided by COUNT.

    parley serve --auth off --domain example.test --sip 127.0.0.1:5064 --data DIR & PID=$!
    bench/subscriptions.py --server 127.0.0.1:5064 --pid $PID --count 100000

Only 127.0.0.1 is contacted. Not part of the test suite.
"""
import argparse
import os
import select
import socket
import sys
import time

from procmem import pss_kb


def header(msg, name):
    for line in msg.split("\r\n")[1:]:
        if not line:
            break
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default="127.0.0.1:5060")
    ap.add_argument("--domain", default="example.test")
    ap.add_argument("--pid", type=int, required=True, help="the server's process id")
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--presentities", type=int, default=10000)
    ap.add_argument("--window", type=int, default=300)
    ap.add_argument("--settle", type=float, default=40.0,
                    help="seconds to wait before reading PSS (completed transactions linger "
                         "for Timer J, 32 s)")
    args = ap.parse_args()
    host, port = args.server.rsplit(":", 1)
    server = (host, int(port))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind(("127.0.0.1", 0))
    lport = sock.getsockname()[1]
    run = f"{int(time.time() * 1000)}"
    before = pss_kb(args.pid)
    sent = ok = failed = notifies = 0
    outstanding = {}
    started = time.time()
    last_progress = time.time()

    retries = {}

    def subscribe(i, attempt=0):
        p = i % args.presentities
        msg = (f"SUBSCRIBE sip:p{p}@{args.domain} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bK{run}s{i}a{attempt};rport\r\n"
               f"Max-Forwards: 70\r\n"
               f"From: <sip:w{run}x{i}@{args.domain}>;tag=t{i}\r\n"
               f"To: <sip:p{p}@{args.domain}>\r\n"
               f"Call-ID: {run}-{i}@127.0.0.1\r\n"
               f"CSeq: 1 SUBSCRIBE\r\n"
               f"Contact: <sip:w{i}@127.0.0.1:{lport}>\r\n"
               f"Event: presence\r\nExpires: 3600\r\nAccept: application/pidf+xml\r\n"
               f"Content-Length: 0\r\n\r\n")
        sock.sendto(msg.encode(), server)
        outstanding[f"{run}-{i}@127.0.0.1"] = time.time()

    last_resend = time.time()
    while ok + failed < args.count:
        while len(outstanding) < args.window and sent < args.count:
            subscribe(sent)
            sent += 1
        r, _, _ = select.select([sock], [], [], 1.0)
        if time.time() - last_resend > 1:
            # Resend what is overdue (lost to a full buffer, or refused with 503 while the
            # server's transaction table was full): a new transaction, the same dialog.
            last_resend = now = time.time()
            for cid, at in list(outstanding.items()):
                if now - at > 2:
                    retries[cid] = retries.get(cid, 0) + 1
                    subscribe(int(cid.split("-")[1].split("@")[0]), retries[cid])
            if time.time() - last_progress > 60:
                sys.exit(f"stuck: {ok} ok, {failed} failed, {len(outstanding)} outstanding")
        if not r:
            continue
        while True:
            try:
                data = sock.recv(65535).decode(errors="replace")
            except BlockingIOError:
                break
            sock.setblocking(False)
            if data.startswith("SIP/2.0 "):
                code = int(data[8:11])
                cid = header(data, "Call-ID")
                if code == 503:
                    continue
                if code >= 200 and cid in outstanding:
                    del outstanding[cid]
                    last_progress = time.time()
                    if code < 300:
                        ok += 1
                    else:
                        failed += 1
            elif data.startswith("NOTIFY "):
                notifies += 1
                head = "".join(f"{h}: {header(data, h)}\r\n"
                               for h in ("Via", "From", "To", "Call-ID", "CSeq"))
                sock.sendto(f"SIP/2.0 200 OK\r\n{head}Content-Length: 0\r\n\r\n".encode(),
                            server)
        sock.setblocking(True)
    elapsed = time.time() - started
    # Answer the NOTIFYs still coming while the server settles.
    end = time.time() + args.settle
    sock.setblocking(False)
    while time.time() < end:
        r, _, _ = select.select([sock], [], [], 0.2)
        if not r:
            continue
        try:
            data = sock.recv(65535).decode(errors="replace")
        except BlockingIOError:
            continue
        if data.startswith("NOTIFY "):
            notifies += 1
            head = "".join(f"{h}: {header(data, h)}\r\n"
                           for h in ("Via", "From", "To", "Call-ID", "CSeq"))
            sock.sendto(f"SIP/2.0 200 OK\r\n{head}Content-Length: 0\r\n\r\n".encode(), server)
    after = pss_kb(args.pid)
    print(f"{ok} subscriptions accepted ({failed} refused) in {elapsed:.1f} s "
          f"({ok / elapsed:.0f}/s), {notifies} NOTIFYs answered")
    print(f"server PSS {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB after: "
          f"{(after - before) * 1024 / max(ok, 1):.0f} bytes per subscription")


if __name__ == "__main__":
    main()
