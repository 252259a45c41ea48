#!/usr/bin/env python3
"""A headless SIP user agent built on pjsua2 (PyPI `pjsua2-python`), for the interop tests.

It signs in (REGISTER with digest credentials) through a given server, sends page-mode
MESSAGEs, prints what it receives, and signs out at the end. Everything it does is reported
on stdout as one JSON object per line, flushed at once, so a test driver can wait for a line
instead of sleeping:

  {"event": "registered", "code": 200, "expires": 3600}
  {"event": "register_failed", "code": 403, "reason": "Forbidden"}
  {"event": "sent", "to": "sip:bob@example.test", "code": 200, "reason": "OK"}
  {"event": "message", "from": "<sip:bob@example.test>", "to": "...", "content_type":
   "text/plain", "body": "Grüße", "date": "Tue, 01 Jul 2025 10:00:00 GMT" or null}
  {"event": "unregistered", "code": 200}
  {"event": "registration", "code": 200, "expires": 300, "t": 1.7e9}   (a later REGISTER:
   a refresh, or a new registration after the connection to the server dropped)
  {"event": "timeout", "received": 0, "expected": 1}
  {"event": "presence_set", "status": "open", "activity": "away", "note": "…", "t": 1.7e9}
  {"event": "presence", "uri": "sip:bob@example.test", "status": "open", "activity": "away",
   "note": "back at two", "status_text": "back at two", "sub_state": "ACTIVE", "t": 1.7e9}

"t" is the wall-clock time (time.time()) at which the agent acted or pjsua2 reported, so a
driver can measure how long a change took to reach a watcher.

Usage (see --help):
  pjsua_agent.py --server 127.0.0.1:5070 --transport tcp \
      --account alice@example.test --password secret \
      [--send bob@example.test "text"]... [--expect N] [--timeout SECONDS] [--stdin]
      [--publish] [--watch bob@example.test]... [--reregister SECONDS]

Order of work: register, send each --send in turn (each waits for its final response),
then wait until --expect messages have arrived (or the timeout), then unregister and exit.
With --stdin, after the --send list it also reads commands from standard input, one a line,
until end of input or `quit` (and until --expect messages have arrived):
  send USER@DOMAIN TEXT...     send a MESSAGE (TEXT is the rest of the line, UTF-8)
  presence STATUS ACTIVITY NOTE...
                               set our presence (Account.setOnlineStatus): STATUS open or
                               closed, ACTIVITY away, busy or none, NOTE the rest of the line;
                               published (PUBLISH) when started with --publish
  watch USER@DOMAIN            subscribe to a user's presence (a Buddy with subscribe on);
                               each NOTIFY that pjsua2 reports gives a "presence" event
  quit                         stop now

Presence: --publish turns on pjsua2's publication (AccountPresConfig.publishEnabled), so
the account PUBLISHes its status (a PIDF with RPID activity and note, built by pjsip) once
registered and again on each `presence` command; --watch USER (repeatable) subscribes to
USER once registered, like the `watch` command.

Exit status: 0 all done; 2 registration refused or timed out; 3 a MESSAGE got a non-2xx
final response; 4 fewer than --expect messages arrived in time; 1 usage or setup error.

Why these settings: the machine has no sound card, so the null audio device is selected and
no media is ever set up; pjsua runs with no worker threads and is polled from the main
thread (libHandleEvents) so that no pjsua call happens on a thread pjsua does not know;
requests go through the server given by --server as an outbound proxy (loose routing), so
the account's domain (example.test) never needs DNS.
"""

import argparse
import json
import os
import queue
import sys
import threading
import time

import pjsua2 as pj

EXIT_OK, EXIT_SETUP, EXIT_REGISTER, EXIT_SEND, EXIT_EXPECT = 0, 1, 2, 3, 4


def emit(**event):
    """One JSON line on stdout, flushed so a driver sees it at once."""
    sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def header_value(whole_msg, name):
    """The value of the first header `name` in a raw SIP message (None if absent)."""
    head = whole_msg.split("\r\n\r\n", 1)[0]
    for line in head.split("\r\n")[1:]:
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == name.lower():
            return value.strip()
    return None


class Agent(pj.Account):
    """The account; pjsua2 calls these methods from libHandleEvents on the main thread."""

    def __init__(self):
        super().__init__()
        self.reg_code = None  # last final REGISTER status seen
        self.reg_expires = None
        self.reg_reason = ""
        self.reg_events = 0
        self.announced = False  # the first registration has been reported
        self.im_status = None  # (code, reason) of the last MESSAGE sent
        self.received = 0

    def onRegState(self, prm):
        self.reg_code = prm.code
        self.reg_expires = prm.expiration
        self.reg_reason = prm.reason
        self.reg_events += 1
        if self.announced:
            # A later REGISTER: a refresh, or a new one after the connection dropped.
            emit(event="registration", code=prm.code, expires=prm.expiration, t=time.time())

    def onInstantMessage(self, prm):
        self.received += 1
        whole = prm.rdata.wholeMsg if prm.rdata else ""
        emit(
            event="message",
            **{"from": prm.fromUri},
            to=prm.toUri,
            content_type=prm.contentType,
            body=prm.msgBody,
            date=header_value(whole, "Date"),
        )

    def onInstantMessageStatus(self, prm):
        self.im_status = (prm.code, prm.reason)


STATUS_NAMES = {
    pj.PJSUA_BUDDY_STATUS_ONLINE: "open",
    pj.PJSUA_BUDDY_STATUS_OFFLINE: "closed",
    pj.PJSUA_BUDDY_STATUS_UNKNOWN: "unknown",
}
ACTIVITY_NAMES = {
    pj.PJRPID_ACTIVITY_AWAY: "away",
    pj.PJRPID_ACTIVITY_BUSY: "busy",
    pj.PJRPID_ACTIVITY_UNKNOWN: "none",
}


class Watched(pj.Buddy):
    """A user whose presence we subscribe to; every state pjsua2 reports (one per NOTIFY it
    accepts) becomes a "presence" event, with what pjsua2 shows its user."""

    def onBuddyState(self):
        info = self.getInfo()
        ps = info.presStatus
        emit(
            event="presence",
            uri=info.uri,
            status=STATUS_NAMES.get(ps.status, str(ps.status)),
            activity=ACTIVITY_NAMES.get(ps.activity, str(ps.activity)),
            note=ps.note,
            status_text=ps.statusText,
            sub_state=info.subStateName,
            t=time.time(),
        )

    def onBuddyEvSubState(self, prm):
        info = self.getInfo()
        if info.subState == pj.PJSIP_EVSUB_STATE_TERMINATED:
            emit(event="watch_ended", uri=info.uri, code=info.subTermCode,
                 reason=info.subTermReason, t=time.time())


def pump(ep, until, deadline):
    """Handle pjsua events until `until()` is true or `deadline` (monotonic) has passed."""
    while not until():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ep.libHandleEvents(int(min(left, 0.05) * 1000))
    return True


def stdin_commands(out):
    """Reads command lines on a plain thread; the main thread executes them."""
    for raw in sys.stdin.buffer:
        out.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
    out.put("quit")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", required=True, help="HOST:PORT of the SIP server (outbound proxy)")
    ap.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    ap.add_argument("--account", required=True, help="USER@DOMAIN")
    ap.add_argument("--password", default=os.environ.get("PJSUA_PASSWORD"))
    ap.add_argument("--no-register", action="store_true", help="send and listen without signing in")
    ap.add_argument("--port", type=int, default=0, help="local SIP port (default: any free one)")
    ap.add_argument("--send", nargs=2, action="append", default=[], metavar=("TO", "TEXT"))
    ap.add_argument("--peer", action="append", default=[],
                    help="accepted for baresip_agent.py's sake: pjsua can send to anyone")
    ap.add_argument("--content-type", default="text/plain; charset=UTF-8")
    ap.add_argument("--expect", type=int, default=0, help="wait until this many MESSAGEs arrived")
    ap.add_argument("--stdin", action="store_true", help="also take commands from standard input")
    ap.add_argument("--timeout", type=float, default=20.0, help="bound on each wait, in seconds")
    ap.add_argument("--log", help="write pjsua's log, with every SIP message, to this file")
    ap.add_argument("--publish", action="store_true", help="PUBLISH our presence (see above)")
    ap.add_argument("--watch", action="append", default=[], metavar="USER@DOMAIN",
                    help="subscribe to this user's presence once registered")
    ap.add_argument("--reregister", type=int, default=0, metavar="SECONDS",
                    help="register again this long after the connection to the server "
                         "dropped, and as often until that works (default: never)")
    args = ap.parse_args()

    user, at, domain = args.account.partition("@")
    if not at or not user or not domain:
        ap.error("--account must be USER@DOMAIN")
    if not args.no_register and args.password is None:
        ap.error("--password is needed to register")

    ep = pj.Endpoint()
    # libCreate logs a few banner lines to fd 1 before any log config applies; keep stdout
    # for the JSON events by pointing fd 1 at /dev/null meanwhile.
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    try:
        ep.libCreate()
    finally:
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.uaConfig.userAgent = "pjsua2-interop/" + ep.libVersion().full
    cfg.uaConfig.stunServer = pj.StringVector()
    cfg.logConfig.consoleLevel = 0
    cfg.logConfig.level = 5 if args.log else 0
    cfg.logConfig.msgLogging = bool(args.log)
    if args.log:
        cfg.logConfig.filename = args.log
    cfg.medConfig.threadCnt = 0
    ep.libInit(cfg)
    ep.audDevManager().setNullDev()

    tcfg = pj.TransportConfig()
    tcfg.boundAddress = "127.0.0.1"
    tcfg.port = args.port
    kind = pj.PJSIP_TRANSPORT_TCP if args.transport == "tcp" else pj.PJSIP_TRANSPORT_UDP
    transport_id = ep.transportCreate(kind, tcfg)
    ep.libStart()

    acfg = pj.AccountConfig()
    acfg.idUri = f"sip:{user}@{domain}"
    acfg.sipConfig.transportId = transport_id
    # The server is the outbound proxy: every request goes there, whatever its Request-URI.
    acfg.sipConfig.proxies.append(f"sip:{args.server};transport={args.transport};lr")
    if args.password is not None:
        acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", user, 0, args.password))
    # Keep the Contact as bound (127.0.0.1): no rewriting from the server's received/rport,
    # which would re-register and make the "registered" event ambiguous.
    acfg.natConfig.contactRewriteUse = 0
    acfg.natConfig.viaRewriteUse = 0
    acfg.natConfig.sipStunUse = pj.PJSUA_STUN_USE_DISABLED
    acfg.natConfig.mediaStunUse = pj.PJSUA_STUN_USE_DISABLED
    acfg.presConfig.publishEnabled = args.publish
    if args.reregister:
        # When its connection drops (the server restarted), pjsua2 registers again over a
        # new one: here after --reregister seconds, then as often until that works (pjsua2's
        # defaults are at once ± 10 s, then every 300 s, too slow for a test). A REGISTER
        # refused with 401/403 is final either way.
        acfg.regConfig.retryIntervalSec = args.reregister
        acfg.regConfig.firstRetryIntervalSec = args.reregister
        acfg.regConfig.randomRetryIntervalSec = 0
    else:
        acfg.regConfig.retryIntervalSec = 0  # a refused registration is final here
    acfg.regConfig.timeoutSec = 300
    if args.no_register:
        acfg.regConfig.registrarUri = ""
    else:
        acfg.regConfig.registrarUri = f"sip:{domain}"
        acfg.regConfig.registerOnAdd = True

    acc = Agent()
    acc.create(acfg, True)
    status = EXIT_OK
    buddies = []  # pjsua2 needs the Buddy objects alive while their messages are pending

    def finish(code):
        # Sign out so that later tests do not relay to this dead contact, then exit without
        # running Python finalizers over pjsua objects (pjsua2 can crash in them).
        if not args.no_register and acc.reg_code is not None and 200 <= acc.reg_code < 300:
            acc.announced = False
            before = acc.reg_events
            try:
                acc.setRegistration(False)
                if pump(ep, lambda: acc.reg_events > before, time.monotonic() + 5):
                    emit(event="unregistered", code=acc.reg_code)
            except pj.Error as e:
                emit(event="error", where="unregister", info=e.info())
        sys.stdout.flush()
        try:
            ep.libDestroy()
        except pj.Error:
            pass
        os._exit(code)

    if not args.no_register:
        if not pump(ep, lambda: acc.reg_events > 0, time.monotonic() + args.timeout):
            emit(event="register_failed", code=None, reason="timeout")
            finish(EXIT_REGISTER)
        if not (200 <= acc.reg_code < 300 and acc.reg_expires > 0):
            emit(event="register_failed", code=acc.reg_code, reason=acc.reg_reason)
            finish(EXIT_REGISTER)
        emit(event="registered", code=acc.reg_code, expires=acc.reg_expires)
        acc.announced = True

    def send(to, text):
        uri = to if to.startswith(("sip:", "sips:")) else f"sip:{to}"
        buddy = pj.Buddy()
        bcfg = pj.BuddyConfig()
        bcfg.uri = uri
        bcfg.subscribe = False
        buddy.create(acc, bcfg)
        buddies.append(buddy)
        prm = pj.SendInstantMessageParam()
        prm.content = text
        prm.contentType = args.content_type
        acc.im_status = None
        buddy.sendInstantMessage(prm)
        if not pump(ep, lambda: acc.im_status is not None, time.monotonic() + args.timeout):
            emit(event="send_failed", to=uri, code=None, reason="timeout")
            return False
        code, reason = acc.im_status
        emit(event="sent" if 200 <= code < 300 else "send_failed", to=uri, code=code, reason=reason)
        return 200 <= code < 300

    def set_presence(state, activity, note):
        ps = pj.PresenceStatus()
        ps.status = (pj.PJSUA_BUDDY_STATUS_ONLINE if state == "open"
                     else pj.PJSUA_BUDDY_STATUS_OFFLINE)
        ps.activity = {"away": pj.PJRPID_ACTIVITY_AWAY, "busy": pj.PJRPID_ACTIVITY_BUSY}.get(
            activity, pj.PJRPID_ACTIVITY_UNKNOWN)
        ps.note = note
        at = time.time()
        acc.setOnlineStatus(ps)
        emit(event="presence_set", status=state, activity=activity, note=note, t=at)

    def watch(who):
        uri = who if who.startswith(("sip:", "sips:")) else f"sip:{who}"
        buddy = Watched()
        bcfg = pj.BuddyConfig()
        bcfg.uri = uri
        bcfg.subscribe = True
        buddy.create(acc, bcfg)
        buddies.append(buddy)

    for who in args.watch:
        watch(who)

    for to, text in args.send:
        if not send(to, text):
            status = EXIT_SEND

    if args.stdin:
        commands = queue.Queue()
        threading.Thread(target=stdin_commands, args=(commands,), daemon=True).start()
        while True:
            try:
                line = commands.get_nowait()
            except queue.Empty:
                ep.libHandleEvents(50)
                continue
            if line.strip() == "quit":
                break
            verb, _, rest = line.strip().partition(" ")
            to, _, text = rest.partition(" ")
            if verb == "send" and to:
                if not send(to, text):
                    status = EXIT_SEND
            elif verb == "presence" and to in ("open", "closed"):
                activity, _, note = text.partition(" ")
                set_presence(to, activity or "none", note)
            elif verb == "watch" and to:
                watch(to)
            elif line.strip():
                emit(event="error", where="stdin", info=f"unknown command: {line}")

    if args.expect:
        if not pump(ep, lambda: acc.received >= args.expect, time.monotonic() + args.timeout):
            emit(event="timeout", received=acc.received, expected=args.expect)
            status = status or EXIT_EXPECT

    finish(status)


if __name__ == "__main__":
    main()
