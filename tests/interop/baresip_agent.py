#!/usr/bin/env python3
"""Drives baresip (Debian's `baresip`, 1.0.x) headless as a SIP user agent for the interop tests.

Same command line and same JSON-lines output as pjsua_agent.py, so a test driver can use
either client the same way:

  baresip_agent.py --server 127.0.0.1:5070 --transport tcp \
      --account bob@example.test --password secret \
      [--send alice@example.test "text"]... [--peer alice@example.test]... \
      [--expect N] [--timeout SECONDS] [--stdin] [--publish] [--watch alice@example.test]...

  {"event": "registered", "code": 200}
  {"event": "register_failed", "code": 403, "reason": "Forbidden"}
  {"event": "sent", "to": "sip:alice@example.test", "code": 200, "reason": "OK"}
  {"event": "message", "from": "<sip:alice@example.test>", "to": "...", "content_type":
   "text/plain", "body": "...", "date": "..." or null}
  {"event": "unregistered", "code": 200}
  {"event": "timeout", "received": 0, "expected": 1}
  {"event": "presence_set", "status": "closed", "activity": "none", "note": "", "t": 1.7e9,
   "ignored": ["activity", "note"]}
  {"event": "presence", "uri": "sip:alice@example.test", "status": "closed",
   "shown": "Offline", "activity": null, "note": null, "t": 1.7e9}

Exit status as pjsua_agent.py: 0 all done; 2 registration refused or timed out; 3 a MESSAGE
got a non-2xx final response (or none); 4 fewer than --expect messages arrived; 1 setup error.
With --stdin, commands are read one a line: `send USER@DOMAIN TEXT...`,
`presence open|closed ACTIVITY NOTE...` (with --publish) and `quit`; a `send` target must
have been named with --peer or --send (see below).

How baresip is driven, and why:
- A throw-away config directory (-f) holds `config`, `accounts` and `contacts`. Only the
  modules needed are loaded: no audio driver (the machine has no sound card, and no call is
  ever made), `contact` (reads `contacts`; its /message command sends a MESSAGE to the
  *current* contact), `menu` (the command set, and it answers incoming MESSAGEs with 200),
  and `ctrl_tcp`, a netstring-JSON control socket: commands in, command results and
  registration events (REGISTER_OK, REGISTER_FAIL) out. The account (AOR with auth_pass,
  the server as outbound proxy) is added with /uanew once the control socket is connected:
  from the `accounts` file it would register before anyone listens for the events.
- baresip 1.0 reports neither the final response to a MESSAGE it sent nor the headers of one
  it received, so baresip runs with -s (SIP trace on stdout, line-buffered with stdbuf) and
  this driver reads the trace: the response to our MESSAGE gives the "sent" status, and an
  incoming MESSAGE that baresip answered 2xx gives a "message" event (with its Date header,
  which shows when a stored message was first sent).
- /message goes to the current contact, so every peer is written to `contacts` up front
  and selected with /contact_next until ctrl_tcp reports it as the current contact.
- baresip 1.0's SIP stack (libre 1.1) computes MD5 digests only, and it gives up on a
  challenge when *any* WWW-/Proxy-Authenticate header in it names another algorithm (it
  reports "Function not implemented"): it can sign in only where the server offers MD5 alone.

Presence (baresip's `presence` module, 1.0.0), and what it cannot do:
- The module is loaded with /insmod once the account is registered: its publisher and its
  subscriptions are set up at module load, for the accounts and contacts that exist then
  (and it subscribes with the first account, one second after loading).
- --publish gives the account `pubint=600`: baresip PUBLISHes a PIDF with `<basic>` only
  (an empty `<rpid:activities/>`, no note) and has two commands, /presence_online and
  /presence_offline; the `presence` command maps open/closed to them and reports the
  activity and the note as ignored. At load it first publishes its initial status,
  `<basic>unknown</basic>` (not a PIDF basic value, so a server answers 400); the driver
  then sets `online` at once, which publishes `open`.
- --watch USER writes USER to `contacts` with `;presence=p2p`, so the module SUBSCRIBEs
  (Event: presence) to it. baresip reads a NOTIFY with four regular expressions: `<basic>`
  open or closed, `<rpid:away/>` (shown Offline), `<rpid:busy/>` and `<rpid:on-the-phone/>`
  (shown Busy); nothing else, so it never shows a note, and it shows Online, Offline, Busy
  or Unknown. Every NOTIFY that baresip answered 200 gives a "presence" event with the
  status its contact list (/contacts) shows after it ("shown"), mapped to open, closed,
  busy or unknown in "status"; "t" is when the NOTIFY reached baresip.
"""

import argparse
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

EXIT_OK, EXIT_SETUP, EXIT_REGISTER, EXIT_SEND, EXIT_EXPECT = 0, 1, 2, 3, 4

TRACE_START = "\x1b[36;1m#\n"
TRACE_END = "\x1b[;m\n"


def emit(**event):
    sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def free_port(also_next=False):
    """A port free on 127.0.0.1 for UDP and TCP (and port+1 for TCP, when baresip puts its
    TLS listener there)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        socks = []
        try:
            for p, kind in [(port, socket.SOCK_STREAM), (port, socket.SOCK_DGRAM)] + (
                [(port + 1, socket.SOCK_STREAM)] if also_next else []
            ):
                s = socket.socket(socket.AF_INET, kind)
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port")


def die_with_parent():
    """In the child before exec: SIGKILL when the parent (this agent) dies."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class SipMessage:
    """One message of baresip's SIP trace: `PROTO SRC -> DST` then the message itself."""

    def __init__(self, block):
        first, _, rest = block.partition("\n")
        parts = first.split()
        self.proto, self.src, self.dst = (parts + ["", "", "", ""])[0], parts[1], parts[3]
        head, _, self.body = rest.partition("\r\n\r\n")
        lines = head.split("\r\n")
        self.start = lines[0]
        self.headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                self.headers.append((name.strip().lower(), value.strip()))
        self.is_response = self.start.startswith("SIP/2.0 ")
        self.code = int(self.start.split()[1]) if self.is_response else None
        self.reason = self.start.split(" ", 2)[2] if self.is_response else None
        self.method = self.cseq().split()[-1] if self.cseq() else None

    def header(self, *names):
        for name, value in self.headers:
            if name in names:
                return value
        return None

    def cseq(self):
        return self.header("cseq") or ""

    def call_id(self):
        return self.header("call-id", "i")


class Baresip:
    def __init__(self, args, confdir):
        self.args = args
        self.confdir = confdir
        self.events = queue.Queue()  # ("trace", SipMessage) | ("ctrl", dict) | ("exit", rc)
        self.token = 0
        self.proc = None
        self.ctrl = None

    def start(self):
        a = self.args
        user, _, domain = a.account.partition("@")
        # baresip also listens for TLS on sip_port + 1.
        sip_port = a.port or free_port(also_next=True)
        # Addresses that are baresip's own: its listener, and the local ends of the TCP
        # connections it opens (learnt from the requests it sends). A request to one of them
        # is incoming, whichever side opened the connection.
        self.own = {f"127.0.0.1:{sip_port}"}
        self.ctrl_port = free_port()
        with open(os.path.join(self.confdir, "config"), "w") as f:
            f.write(
                "poll_method\t\tepoll\n"
                f"sip_listen\t\t127.0.0.1:{sip_port}\n"
                "module_path\t\t/usr/lib/baresip/modules\n"
                "module\t\t\tctrl_tcp.so\n"
                "module_app\t\tcontact.so\n"
                "module_app\t\tmenu.so\n"
                f"ctrl_tcp_listen\t\t127.0.0.1:{self.ctrl_port}\n"
            )
        aor = f"sip:{user}@{domain}" + (";transport=tcp" if a.transport == "tcp" else "")
        params = [f'outbound="sip:{a.server};transport={a.transport}"']
        if a.password is not None:
            params.append(f"auth_pass={a.password}")
        params.append("regint=0" if a.no_register else "regint=600")
        if a.publish:
            params.append("pubint=600")
        # The account is created with /uanew once the control socket is connected, so that
        # its registration events cannot fire before anyone listens.
        self.account_line = f"<{aor}>;" + ";".join(params)
        open(os.path.join(self.confdir, "accounts"), "w").close()
        self.peers = []
        for to in [to for to, _ in a.send] + a.peer:
            uri = to if to.startswith("sip:") else f"sip:{to}"
            if uri not in self.peers:
                self.peers.append(uri)
        with open(os.path.join(self.confdir, "contacts"), "w") as f:
            for i, uri in enumerate(self.peers):
                f.write(f'"peer{i}" <{uri}>\n')
            for i, who in enumerate(a.watch):
                uri = who if who.startswith("sip:") else f"sip:{who}"
                f.write(f'"watch{i}" <{uri}>;presence=p2p\n')

        self.trace_log = open(a.log, "w", encoding="utf-8") if a.log else None
        # stdbuf: baresip writes the trace with stdio, block-buffered into a pipe otherwise.
        # baresip stays in this agent's process group (a driver killing the agent's group
        # kills it too) and gets SIGKILL if the agent dies first (PR_SET_PDEATHSIG).
        self.proc = subprocess.Popen(
            ["stdbuf", "-oL", "baresip", "-f", self.confdir, "-s"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        threading.Thread(target=self._read_trace, daemon=True).start()
        deadline = time.monotonic() + a.timeout
        while True:
            try:
                self.ctrl = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("baresip did not open its control socket")
                time.sleep(0.05)
        self.ctrl.settimeout(None)
        self.responses = queue.Queue()
        threading.Thread(target=self._read_ctrl, daemon=True).start()
        self.command("uanew", self.account_line)

    def _read_trace(self):
        buf = ""
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace")
            if self.trace_log:
                self.trace_log.write(line)
                self.trace_log.flush()
            buf += line
            while TRACE_START in buf and TRACE_END in buf.split(TRACE_START, 1)[1]:
                _, rest = buf.split(TRACE_START, 1)
                block, buf = rest.split(TRACE_END, 1)
                try:
                    self.events.put(("trace", SipMessage(block)))
                except (IndexError, ValueError):
                    pass  # not a SIP message (a keep-alive, say)
            if TRACE_START not in buf:
                buf = ""
        self.events.put(("exit", self.proc.wait()))

    def _read_ctrl(self):
        """Netstrings: `LEN:JSON,`. Command results go to self.responses, events to events."""
        data = b""
        while True:
            try:
                chunk = self.ctrl.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            data += chunk
            while b":" in data:
                length, _, rest = data.partition(b":")
                if len(rest) < int(length) + 1:
                    break
                msg = json.loads(rest[: int(length)].decode("utf-8", "replace"))
                data = rest[int(length) + 1 :]
                if msg.get("response"):
                    self.responses.put(msg)
                else:
                    self.events.put(("ctrl", msg))

    def command(self, name, params=""):
        self.token += 1
        payload = json.dumps({"command": name, "params": params, "token": str(self.token)})
        raw = payload.encode("utf-8")
        self.ctrl.sendall(str(len(raw)).encode() + b":" + raw + b",")
        return self.responses.get(timeout=self.args.timeout)

    def shown_presence(self):
        """What the contact list shows: {uri: Online|Offline|Busy|Unknown}."""
        data = self.command("contacts").get("data", "")
        shown = {}
        for line in re.sub(r"\x1b\[[0-9;]*m", "", data).split("\n"):
            m = re.match(r"^[> ]\s*(\w+)\s.*<(sips?:[^>]+)>", line)
            if m:
                shown[m.group(2)] = m.group(1)
        return shown

    def next_event(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            return self.events.get(timeout=left)
        except queue.Empty:
            return None

    def stop(self):
        """Quit through the control socket (baresip then unregisters), then make sure."""
        if self.proc and self.proc.poll() is None:
            try:
                self.command("quit")
            except (OSError, queue.Empty):
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", required=True, help="HOST:PORT of the SIP server (outbound proxy)")
    ap.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    ap.add_argument("--account", required=True, help="USER@DOMAIN")
    ap.add_argument("--password", default=os.environ.get("BARESIP_PASSWORD"))
    ap.add_argument("--no-register", action="store_true")
    ap.add_argument("--port", type=int, default=0, help="local SIP port (and port+1 for TLS)")
    ap.add_argument("--send", nargs=2, action="append", default=[], metavar=("TO", "TEXT"))
    ap.add_argument("--peer", action="append", default=[], help="a --stdin send target")
    ap.add_argument("--expect", type=int, default=0)
    ap.add_argument("--stdin", action="store_true")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--log", help="write baresip's output and SIP trace to this file")
    ap.add_argument("--publish", action="store_true", help="PUBLISH our presence (see above)")
    ap.add_argument("--watch", action="append", default=[], metavar="USER@DOMAIN",
                    help="subscribe to this user's presence (see above)")
    args = ap.parse_args()
    user, at, domain = args.account.partition("@")
    if not at or not user or not domain:
        ap.error("--account must be USER@DOMAIN")
    if shutil.which("baresip") is None or shutil.which("stdbuf") is None:
        print("baresip_agent: baresip and stdbuf are needed", file=sys.stderr)
        sys.exit(EXIT_SETUP)

    confdir = tempfile.mkdtemp(prefix="baresip-agent-")
    bs = Baresip(args, confdir)

    def on_term(signum, frame):
        if bs.proc and bs.proc.poll() is None:
            bs.proc.kill()
        shutil.rmtree(confdir, ignore_errors=True)
        os._exit(EXIT_SETUP)

    signal.signal(signal.SIGTERM, on_term)
    state = {"received": 0, "registered": False, "sending": False}
    # Incoming MESSAGEs seen in the trace, by (Call-ID, CSeq), until baresip answers them.
    pending_in = {}
    # Incoming NOTIFYs by (Call-ID, CSeq): when they arrived, until baresip answers them.
    pending_notify = {}

    def on_trace(msg):
        """Learns baresip's own addresses; turns incoming MESSAGEs that baresip accepted
        into "message" events."""
        if not msg.is_response and msg.method == "REGISTER":
            bs.own.add(msg.src)  # only baresip sends REGISTERs
        if msg.method == "NOTIFY":
            key = (msg.call_id(), msg.cseq())
            if not msg.is_response and msg.dst in bs.own:
                pending_notify[key] = (time.time(), msg)
            elif msg.is_response and msg.src in bs.own and key in pending_notify:
                at, req = pending_notify.pop(key)
                if 200 <= msg.code < 300:
                    who = re.search(r"<?(sips?:[^>;]+)", req.header("from", "f") or "")
                    uri = who.group(1) if who else None
                    shown = bs.shown_presence().get(uri)
                    emit(event="presence", uri=uri,
                         status={"Online": "open", "Offline": "closed"}.get(
                             shown, (shown or "unknown").lower()),
                         shown=shown, activity=None, note=None, t=at,
                         sub_state=req.header("subscription-state"))
            return
        if msg.method != "MESSAGE":
            return
        key = (msg.call_id(), msg.cseq())
        if not msg.is_response:
            if msg.dst in bs.own:
                pending_in[key] = msg
            elif state["sending"]:
                bs.own.add(msg.src)
        elif msg.src in bs.own and key in pending_in and msg.code >= 200:
            req = pending_in.pop(key)
            if 200 <= msg.code < 300:
                state["received"] += 1
                emit(
                    event="message",
                    **{"from": req.header("from", "f")},
                    to=req.header("to", "t"),
                    content_type=req.header("content-type", "c"),
                    body=req.body,
                    date=req.header("date"),
                )

    def wait_for(predicate, timeout):
        """Feeds events to on_trace and `predicate` until it returns non-None, or None."""
        deadline = time.monotonic() + timeout
        while True:
            ev = bs.next_event(deadline)
            if ev is None:
                return None
            kind, value = ev
            if kind == "trace":
                on_trace(value)
            if kind == "exit":
                return ("exit", value)
            result = predicate(kind, value)
            if result is not None:
                return result

    def finish(code):
        if state["registered"]:
            bs.command("quit")

            def unreg(kind, value):
                if kind == "trace" and value.method == "REGISTER" and value.is_response:
                    if value.code >= 200 and value.code not in (401, 407):
                        return value.code
                return None

            result = wait_for(unreg, 5)
            if isinstance(result, int):
                emit(event="unregistered", code=result)
        bs.stop()
        shutil.rmtree(confdir, ignore_errors=True)
        sys.exit(code)

    try:
        bs.start()
    except (RuntimeError, OSError) as e:
        emit(event="error", where="start", info=str(e))
        bs.stop()
        sys.exit(EXIT_SETUP)

    if not args.no_register:
        last = {}

        def registered(kind, value):
            if kind == "trace" and value.method == "REGISTER" and value.is_response:
                last["code"], last["reason"] = value.code, value.reason
            if kind == "ctrl" and value.get("type") in ("REGISTER_OK", "REGISTER_FAIL"):
                return value
            return None

        result = wait_for(registered, args.timeout)
        if not isinstance(result, dict) or result.get("type") != "REGISTER_OK":
            reason = result.get("param") if isinstance(result, dict) else "timeout"
            code = last.get("code")
            if code is None and reason and reason.split()[0].isdigit():
                code = int(reason.split()[0])  # "403 Forbidden": the event came first
            emit(event="register_failed", code=code, reason=reason or last.get("reason"))
            finish(EXIT_REGISTER)
        state["registered"] = True
        # REGISTER_OK may come before the trace of its 200 has been read (then the last
        # code seen is the 401 of the challenge).
        code = last.get("code", 200)
        emit(event="registered", code=code if 200 <= code < 300 else 200)

    if args.publish or args.watch:
        loaded = bs.command("insmod", "presence")
        if not loaded.get("ok"):
            emit(event="error", where="insmod presence", info=loaded.get("data"))
            finish(EXIT_SETUP)
        if args.publish:
            bs.command("presence_online")

    status = EXIT_OK

    def send(to, text):
        uri = to if to.startswith("sip:") else f"sip:{to}"
        if uri not in bs.peers:
            emit(event="send_failed", to=uri, code=None, reason="not a --peer")
            return False
        for _ in range(len(bs.peers) + 1):
            current = bs.command("contact_next").get("data", "")
            if f"<{uri}>" in current:
                break
        else:
            emit(event="send_failed", to=uri, code=None, reason="cannot select the contact")
            return False
        seen = {"call_id": None, "challenges": 0}

        def final(kind, value):
            if kind != "trace" or value.method != "MESSAGE":
                return None
            if not value.is_response and value.dst not in bs.own and seen["call_id"] is None:
                seen["call_id"] = value.call_id()
            elif value.is_response and value.call_id() == seen["call_id"] and value.code >= 200:
                if value.code in (401, 407) and seen["challenges"] == 0:
                    seen["challenges"] += 1  # libre answers the challenge itself
                    return None
                return value
            return None

        state["sending"] = True
        bs.command("message", text)
        resp = wait_for(final, args.timeout)
        state["sending"] = False
        if not isinstance(resp, SipMessage):
            emit(event="send_failed", to=uri, code=None, reason="timeout")
            return False
        ok = 200 <= resp.code < 300
        emit(event="sent" if ok else "send_failed", to=uri, code=resp.code, reason=resp.reason)
        return ok

    for to, text in args.send:
        if not send(to, text):
            status = EXIT_SEND

    if args.stdin:
        lines = queue.Queue()

        def read_stdin():
            for raw in sys.stdin.buffer:
                lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
            lines.put("quit")

        threading.Thread(target=read_stdin, daemon=True).start()
        while True:
            try:
                line = lines.get_nowait()
            except queue.Empty:
                wait_for(lambda kind, value: None, 0.05)  # keep handling incoming messages
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
                at = time.time()
                bs.command("presence_online" if to == "open" else "presence_offline")
                ignored = [k for k, v in (("activity", activity not in ("", "none")),
                                          ("note", bool(note))) if v]
                emit(event="presence_set", status=to, activity="none", note="",
                     t=at, ignored=ignored)
            elif line.strip():
                emit(event="error", where="stdin", info=f"unknown command: {line}")

    if args.expect and state["received"] < args.expect:
        result = wait_for(lambda k, v: True if state["received"] >= args.expect else None, args.timeout)
        if result is not True and state["received"] < args.expect:
            emit(event="timeout", received=state["received"], expected=args.expect)
            status = status or EXIT_EXPECT

    finish(status)


if __name__ == "__main__":
    main()
