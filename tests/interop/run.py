#!/usr/bin/env python3
"""Interop checks of Parley against real third-party SIP clients.

Starts `parley serve` on free local ports with a fresh data directory and the domain
example.test, creates users with `parley user add`, and drives real clients through it:
sipsak and sipp (OPTIONS, REGISTER with digest authentication, wrong passwords, MESSAGE
relay), two full user agents, pjsua2 (PyPI pjsua2-python, pjsua_agent.py) and baresip
(Debian, baresip_agent.py), exchanging UTF-8 messages both ways over UDP and TCP, our own CLI
(`parley message send` / `listen`) against them, and offline delivery across a server
restart, and presence: each client publishing and watching through the server's presence
service (pjsua2 and baresip both ways, our CLI `parley presence publish` / `watch`), across
a killed and restarted server, under a burst of 100 PUBLISHes (sipp), and sipp scenarios for
the PUBLISH entity-tag life cycle and a SUBSCRIBE's refresh and unsubscribe. Prints
`interop: ok   WHAT` or `interop: FAIL WHAT` (with the evidence) per check
and ends with `interop: N passed, M failed`; exits 1 if any check failed.

Usage: tests/interop/run.py [-k SUBSTRING]...   (only the checks whose name has one of them)
  PARLEY_BIN=path/to/parley   test that binary instead of building the debug one
  PARLEY_SERVE_ARGS="..."     more flags for `parley serve` (e.g. --config FILE)
  INTEROP_KEEP=1              keep the work directory (logs of every process) at the end

Every process gets a timeout and is killed at the end; the whole run is capped
(INTEROP_DEADLINE seconds, 600 by default).
"""

import argparse
import json
import os
import queue
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DOMAIN = "example.test"
TEXT = "Grüße, 你好 ✓"  # Latin-1 range, CJK and a symbol: three UTF-8 lengths
# alice…grace have their roles in the checks below; henry is sipsak's, whose binding stays;
# ivy…liam are for presence only (presentities and watchers, never registered by the message
# checks, so that their presence is only what the presence checks set).
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "henry",
         "ivy", "jack", "kim", "liam"]
WAIT = 15.0  # seconds any single step may take

children = []  # every process started, killed at the end


class Failure(Exception):
    """A check failed; the message is the evidence."""


def password(user):
    return f"{user}-pass-7"


def aor(user):
    return f"{user}@{DOMAIN}"


def free_port(low, high):
    """A port free on 127.0.0.1 for both UDP and TCP, in [low, high]."""
    for _ in range(500):
        port = random.randint(low, high)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
                u.bind(("127.0.0.1", port))
                t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def spawn(args, log_path, stdin=subprocess.DEVNULL, **kw):
    """Starts a process in its own process group (so it and its children can be killed
    together), stdout+stderr to log_path unless given."""
    kw.setdefault("stdout", open(log_path, "ab"))
    kw.setdefault("stderr", subprocess.STDOUT)
    proc = subprocess.Popen(args, stdin=stdin, start_new_session=True, **kw)
    children.append(proc)
    return proc


def kill(proc):
    """Ends a process started by spawn() and its group: SIGTERM (the agents clean up, the
    server shuts down), SIGKILL after 3 s."""
    if proc.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 3), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run(args, timeout=WAIT, cwd=None, input=None):
    """Runs a command to its end (bounded); returns (exit status, stdout+stderr text)."""
    try:
        done = subprocess.run(
            args,
            cwd=cwd,
            input=input,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired as e:
        out = (e.output or b"").decode("utf-8", "replace")
        return None, out + f"\n(timed out after {timeout} s)"
    return done.returncode, done.stdout.decode("utf-8", "replace")


def tail(text, lines=40):
    return "\n".join(text.rstrip("\n").split("\n")[-lines:])


class Server:
    """`parley serve` on one SIP port (UDP and TCP) and one HTTP port, data kept across
    restarts."""

    def __init__(self, binary, work):
        self.binary = binary
        self.data = os.path.join(work, "data")
        self.log_path = os.path.join(work, "server.log")
        # Four digits: sipsak 0.9.8 cuts a five-digit port in a Request-URI to four.
        self.sip_port = free_port(5100, 9999)
        self.http_port = free_port(20000, 60000)
        self.address = f"127.0.0.1:{self.sip_port}"
        self.proc = None
        self.config = None

    def parley(self, *args):
        return run([self.binary, *args, "--data", self.data])

    def start(self):
        """Starts the server with `self.config` (TOML text for --config; None: built-in
        defaults), which restarts keep."""
        config = self.config
        offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        config_args = []
        if config is not None:
            path = os.path.join(os.path.dirname(self.data), "parley.toml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(config)
            config_args = ["--config", path]
        self.proc = spawn(
            [
                self.binary, "serve", *config_args,
                "--sip", self.address,
                "--http", f"127.0.0.1:{self.http_port}",
                "--data", self.data,
                "--domain", DOMAIN,
                "--log-level", "info",
                *shlex.split(os.environ.get("PARLEY_SERVE_ARGS", "")),
            ],
            self.log_path,
        )
        # Ready when both SIP listeners and the HTTP one say so (not a fixed sleep).
        wanted = [f"listening sip udp {self.address}", f"listening sip tcp {self.address}",
                  "listening http"]
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                f.seek(offset)
                log = f.read()
            if all(w in log for w in wanted):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise Failure("the server did not start:\n" + tail(log))

    def stop(self):
        """SIGTERM, and a clean exit within 10 s."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kill(self.proc)
            raise Failure("still running 10 s after SIGTERM")
        if status != 0:
            raise Failure(f"exit status {status} after SIGTERM:\n" + tail(self.log()))

    def kill(self):
        """SIGKILL: no clean shutdown, only what the store had committed survives."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()


class Agent:
    """A pjsua_agent.py or baresip_agent.py process in --stdin mode: JSON events out (read
    by a thread into a queue), `send TO TEXT` commands in."""

    SCRIPTS = {"pjsua": "pjsua_agent.py", "baresip": "baresip_agent.py"}

    def __init__(self, kind, user, server, transport, work, pw=None, expect=0, peers=(),
                 register=True, publish=False, watch=(), reregister=0):
        self.kind, self.user, self.transport = kind, user, transport
        self.name = f"{kind}({user},{transport})"
        tag = f"{kind}-{user}-{transport}-{int(time.monotonic() * 1000)}"
        self.stderr_path = os.path.join(work, tag + ".stderr")
        args = [
            sys.executable, os.path.join(HERE, self.SCRIPTS[kind]),
            "--server", server.address, "--transport", transport,
            "--account", aor(user), "--password", pw if pw is not None else password(user),
            "--timeout", str(WAIT), "--stdin", "--expect", str(expect),
            "--log", os.path.join(work, tag + ".log"),
        ]
        self.log_path = args[-1]  # the client's own log: pjsua's, or baresip's SIP trace
        if not register:
            args.append("--no-register")
        if publish:
            args.append("--publish")
        for who in watch:
            args += ["--watch", aor(who)]
        if reregister:
            args += ["--reregister", str(reregister)]
        for peer in peers:
            args += ["--peer", aor(peer)]
        self.proc = spawn(args, self.stderr_path, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=open(self.stderr_path, "ab"))
        self.events = queue.Queue()
        self.seen = []  # every event read, for the evidence of a failure
        self.backlog = []  # events read but not yet taken by wait()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            try:
                self.events.put(json.loads(line))
            except ValueError:
                self.events.put({"event": "noise", "line": line})
        self.events.put({"event": "exited"})

    def wait(self, *names, timeout=WAIT):
        """The first event not yet taken that is named one of `names` (events can come in
        either order: a stored message may be delivered before the agent has reported its
        registration); Failure on a timeout or on the agent ending."""
        for i, ev in enumerate(self.backlog):
            if ev["event"] in names:
                return self.backlog.pop(i)
            if ev["event"] == "exited":
                raise Failure(f"{self.name} ended (status {self.proc.wait()}) before "
                              f"{'/'.join(names)}; saw {self.seen}{self.stderr()}")
        deadline = time.monotonic() + timeout
        while True:
            try:
                ev = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise Failure(f"{self.name}: no {'/'.join(names)} within {timeout} s; "
                              f"saw {self.seen}{self.stderr()}")
            self.seen.append(ev)
            if ev["event"] in names:
                return ev
            self.backlog.append(ev)  # "exited" stays there too: later waits fail at once
            if ev["event"] == "exited":
                raise Failure(f"{self.name} ended (status {self.proc.wait()}) before "
                              f"{'/'.join(names)}; saw {self.seen}{self.stderr()}")

    def registered(self):
        ev = self.wait("registered", "register_failed")
        if ev["event"] != "registered":
            raise Failure(f"{self.name} could not sign in: {ev}{self.stderr()}")

    def send(self, to, text):
        """Sends and waits for the final response; returns the event (sent or send_failed)."""
        self.proc.stdin.write(f"send {aor(to)} {text}\n".encode("utf-8"))
        self.proc.stdin.flush()
        return self.wait("sent", "send_failed")

    def set_presence(self, status, activity="none", note=""):
        """Sets our presence (published with publish=True); returns the agent's presence_set
        event, whose "t" is when the agent made the change."""
        self.proc.stdin.write(f"presence {status} {activity} {note}\n".encode("utf-8"))
        self.proc.stdin.flush()
        return self.wait("presence_set")

    def presence(self, who, want, since=0.0, timeout=WAIT):
        """The first "presence" event about `who` reported at `since` or later that has every
        field of `want`; earlier or other ones are passed over (kept in self.seen)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                shown = [e for e in self.seen if e["event"] == "presence"]
                raise Failure(f"{self.name}: no presence of {aor(who)} with {want} within "
                              f"{timeout} s; saw {shown}{self.stderr()}")
            try:
                ev = self.wait("presence", timeout=left)
            except Failure as failure:
                shown = [e for e in self.seen if e["event"] == "presence"]
                raise Failure(f"{self.name}: no presence of {aor(who)} with {want}; "
                              f"saw {shown}\n  {failure}")
            if (ev.get("uri") == f"sip:{aor(who)}" and ev.get("t", 0) >= since
                    and all(ev.get(k) == v for k, v in want.items())):
                return ev

    def last_presence(self):
        """When the newest "presence" event so far was reported (0 if none); takes in the
        events already read without waiting."""
        while True:
            try:
                ev = self.events.get_nowait()
            except queue.Empty:
                break
            self.seen.append(ev)
            self.backlog.append(ev)
        return max((e.get("t", 0) for e in self.seen if e["event"] == "presence"), default=0)

    def subscribes_sent(self):
        """How many SUBSCRIBE requests the client's own log (pjsua's log, baresip's SIP
        trace) shows, retransmissions included."""
        return len(re.findall(r"^SUBSCRIBE sips?:", read(self.log_path), re.M))

    def finish(self):
        """Ends the commands (the agent then waits for its --expect, signs out and exits)."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            status = self.proc.wait(timeout=WAIT + 10)
        except subprocess.TimeoutExpired:
            kill(self.proc)
            raise Failure(f"{self.name} did not exit")
        return status

    def stderr(self):
        try:
            with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
                text = f.read().strip()
        except OSError:
            return ""
        return ("\n  stderr: " + tail(text, 10)) if text else ""


def expect_message(agent, sender, text):
    ev = agent.wait("message")
    if ev["body"] != text or f"sip:{aor(sender)}" not in (ev.get("from") or ""):
        raise Failure(f"{agent.name} got {ev}, wanted {text!r} from {aor(sender)}")
    return ev


def expect_sent(ev, code=None):
    if ev["event"] != "sent" or (code is not None and ev["code"] != code):
        raise Failure(f"sending gave {ev}" + ("" if code is None else f", wanted {code}"))


# --- the checks ----------------------------------------------------------------------------


class Interop:
    def __init__(self, binary, work):
        self.work = work
        self.server = Server(binary, work)
        self.passed = 0
        self.failed = 0
        self.notes = []  # figures a check measured, printed under its "ok"

    def check(self, name, fn, *args):
        self.notes = []
        try:
            fn(*args)
        except Failure as e:
            self.failed += 1
            print(f"interop: FAIL {name}")
            print("    " + str(e).replace("\n", "\n    "))
        except Exception:  # a bug of this script is a failed check too, with its traceback
            self.failed += 1
            print(f"interop: FAIL {name}")
            print("    " + traceback.format_exc().replace("\n", "\n    "))
        else:
            self.passed += 1
            print(f"interop: ok   {name}")
            for note in self.notes:
                print(f"    {note}")
        sys.stdout.flush()

    def tmpdir(self, name):
        path = tempfile.mkdtemp(prefix=name + "-", dir=self.work)
        return path

    # sipsak and sipp ----------------------------------------------------------------------

    def sipsak(self, *args, timeout=WAIT):
        # -p (the server as outbound proxy) must come before -s: sipsak then does not try to
        # resolve the domain of the -s URI (example.test does not resolve).
        return run(["sipsak", "-p", self.server.address, *args], timeout=timeout)

    def sipp(self, scenario, transport, keys=(), extra=(), background=False, port=None):
        """Runs one sipp scenario call in its own directory; returns (status, logs) or, in the
        background, (process, directory)."""
        cwd = self.tmpdir("sipp-" + os.path.splitext(scenario)[0])
        args = ["sipp", self.server.address, "-sf", os.path.join(HERE, scenario),
                "-t", "t1" if transport == "tcp" else "u1", "-i", "127.0.0.1",
                "-p", str(port or free_port(20000, 60000)), "-m", "1", "-nostdin", "-nd",
                "-timeout", f"{int(WAIT)}s", "-timeout_error", "-recv_timeout", "5000",
                "-trace_err", "-trace_logs", "-trace_screen"]
        for key, value in keys:
            args += ["-key", key, value]
        args += list(extra)
        if background:
            return spawn(args, os.path.join(cwd, "stdout.log"), cwd=cwd), cwd
        status, out = run(args, timeout=WAIT + 5, cwd=cwd)
        return status, out + sipp_logs(cwd)

    def sipp_register(self, user, transport, pw=None, contact=None, expires=60,
                      scenario="register_auth.xml"):
        """REGISTER `contact` (default: sipp's own address) for `expires` seconds."""
        port = free_port(20000, 60000)
        contact = contact or f"sip:{user}@127.0.0.1:{port};transport={transport}"
        status, out = self.sipp(scenario, transport, port=port,
                                keys=[("user", user), ("domain", DOMAIN), ("contact", contact),
                                      ("expires", str(expires))],
                                extra=["-au", user, "-ap", pw if pw is not None else password(user),
                                       # The digest uri must be the Request-URI (sipp's
                                       # default is sip:REMOTE_IP:PORT); sipp adds "sip:".
                                       "-auth_uri", DOMAIN])
        return status, out, contact

    def check_sipsak_options(self, transport):
        status, out = self.sipsak("--transport=" + transport, "-s", f"sip:{self.server.address}")
        if status != 0:
            raise Failure(f"sipsak exit {status}:\n{tail(out)}")

    def check_sipp_options(self, transport):
        status, out = self.sipp("options.xml", transport)
        if status != 0:
            raise Failure(f"sipp exit {status}:\n{tail(out)}")

    def check_healthz(self):
        url = f"http://127.0.0.1:{self.server.http_port}/healthz"
        body = urllib.request.urlopen(url, timeout=5).read()
        if body != b"ok":
            raise Failure(f"GET /healthz gave {body!r}")

    def check_sipp_register(self, transport):
        status, out, contact = self.sipp_register("alice", transport)
        if status != 0:
            raise Failure(f"sipp exit {status}:\n{tail(out)}")
        # Sign out again (Expires: 0) so that nothing is later routed to sipp's dead port.
        status, out, _ = self.sipp_register("alice", transport, contact=contact, expires=0)
        if status != 0:
            raise Failure(f"removing the binding (Expires: 0): sipp exit {status}:\n{tail(out)}")

    def check_sipp_register_refused(self, transport):
        status, out, _ = self.sipp_register("alice", transport, pw="not-the-password",
                                         scenario="register_refused.xml")
        if status != 0:
            raise Failure(f"sipp exit {status} (a wrong password must get 401 or 403):\n"
                          + tail(out))

    def check_sipp_message_relay(self):
        """sipp as both ends over UDP: a recipient scenario listening on a known port, that
        port registered as dave's contact, then alice's MESSAGE (with 407 auth) relayed to
        it. The recipient's log must show the text, the sender must get the 200."""
        uas_port = free_port(20000, 60000)
        contact = f"sip:dave@127.0.0.1:{uas_port}"
        uas, uas_dir = self.sipp("message_uas.xml", "udp", port=uas_port, background=True)
        try:
            status, out, _ = self.sipp_register("dave", "udp", contact=contact)
            if status != 0:
                raise Failure(f"registering dave's sipp contact failed:\n{tail(out)}")
            status, out = self.sipp(
                "message_auth.xml", "udp",
                keys=[("from", "alice"), ("to", "dave"), ("domain", DOMAIN), ("text", TEXT)],
                extra=["-au", "alice", "-ap", password("alice"), "-auth_uri", aor("dave")])
            if status != 0 or "final 200" not in out:
                raise Failure(f"sender: sipp exit {status}, wanted a 200:\n{tail(out)}")
            try:
                uas.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                raise Failure("the recipient scenario did not end")
            logs = sipp_logs(uas_dir)
            if f"body: {TEXT}" not in logs:
                raise Failure(f"the recipient did not log the text:\n{tail(logs)}")
        finally:
            kill(uas)
            self.sipp_register("dave", "udp", contact=contact, expires=0)

    def check_sipsak_register(self, transport):
        status, out = self.sipsak("--transport=" + transport, "-U", "-s", f"sip:{aor('henry')}",
                                  "-u", "henry", "-a", password("henry"), "-x", "60", "-vv")
        if status != 0:
            raise Failure(f"sipsak exit {status}:\n{tail(out)}")

    def check_sipsak_register_refused(self):
        status, out = self.sipsak("-U", "-s", f"sip:{aor('henry')}", "-u", "henry",
                                  "-a", "not-the-password", "-vv")
        # A second 401 to the credentials makes sipsak say "authorization failed" and exit 2
        # (a 403 would exit 1); any other failure (no answer, a 5xx) is not this check's pass.
        refused = "error: authorization failed" in out or re.search(r"^SIP/2\.0 403 ", out, re.M)
        if status == 0 or not refused:
            raise Failure(f"sipsak exit {status}, wanted a refusal (401 again or 403):\n"
                          + tail(out))

    def check_sipsak_message(self, transport):
        """sipsak sends a MESSAGE (-f: a request from a file; its message mode -M crashes in
        0.9.8.1) from bob to a pjsua2 agent signed in as carol; sipsak answers the 407."""
        carol = Agent("pjsua", "carol", self.server, transport, self.work, expect=1)
        try:
            carol.registered()
            body = TEXT.encode("utf-8")
            request = (
                f"MESSAGE sip:{aor('carol')} SIP/2.0\r\n"
                f"From: <sip:{aor('bob')}>;tag=sipsak{random.randint(1, 1 << 30)}\r\n"
                f"To: <sip:{aor('carol')}>\r\n"
                f"Call-ID: sipsak-{random.randint(1, 1 << 30)}@127.0.0.1\r\n"
                "CSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\n"
                "Content-Type: text/plain;charset=UTF-8\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode("utf-8") + body
            path = os.path.join(self.tmpdir("sipsak"), "message.sip")
            with open(path, "wb") as f:
                f.write(request)
            status, out = self.sipsak("--transport=" + transport, "-f", path,
                                      "-s", f"sip:{self.server.address}",
                                      "-u", "bob", "-a", password("bob"), "-vv")
            if status != 0:
                raise Failure(f"sipsak exit {status}:\n{tail(out)}")
            expect_message(carol, "bob", TEXT)
        finally:
            carol.finish()

    # full user agents ---------------------------------------------------------------------

    def check_exchange(self, kind_a, kind_b, transport):
        """Two different clients, each signed in with a password, message each other both
        ways through the server."""
        a = Agent(kind_a, "alice", self.server, transport, self.work, expect=1, peers=["bob"])
        b = Agent(kind_b, "bob", self.server, transport, self.work, expect=1, peers=["alice"])
        try:
            a.registered()
            b.registered()
            expect_sent(a.send("bob", TEXT + " (a→b)"), 200)
            expect_message(b, "alice", TEXT + " (a→b)")
            expect_sent(b.send("alice", TEXT + " (b→a)"), 200)
            expect_message(a, "bob", TEXT + " (b→a)")
            for agent in (a, b):
                status = agent.finish()
                if status != 0:
                    raise Failure(f"{agent.name} exit {status}; saw {agent.seen}")
        finally:
            kill(a.proc)
            kill(b.proc)

    def check_refused(self, kind, transport):
        agent = Agent(kind, "frank", self.server, transport, self.work, pw="not-the-password")
        try:
            ev = agent.wait("registered", "register_failed")
            if ev["event"] != "register_failed" or ev.get("code") not in (401, 403):
                raise Failure(f"{agent.name} with a wrong password: {ev}")
            status = agent.finish()
            if status != 2:
                raise Failure(f"{agent.name} exit {status}, wanted 2")
        finally:
            kill(agent.proc)

    # our CLI ------------------------------------------------------------------------------

    def cli_account(self, user, transport):
        return ["--account", aor(user), "--password", password(user),
                "--server", self.server.address, "--transport", transport]

    def check_cli_exchange(self, kind, transport):
        """`parley message listen` as grace and `parley message send` as grace, against a real
        client signed in as alice."""
        listen_log = os.path.join(self.work, f"cli-listen-{kind}-{transport}.log")
        listener = spawn([self.server.binary, "message", "listen",
                          *self.cli_account("grace", transport)], listen_log)
        peer = Agent(kind, "alice", self.server, transport, self.work, expect=1, peers=["grace"])
        try:
            peer.registered()
            # `parley message listen` says "registered grace@example.test at …" on stderr.
            wait_for_text(listen_log, f"registered {aor('grace')}", listener)
            expect_sent(peer.send("grace", TEXT + " (to cli)"), 200)
            wait_for_text(listen_log, TEXT + " (to cli)", listener)
            status, out = run([self.server.binary, "message", "send",
                               *self.cli_account("grace", transport),
                               "--to", aor("alice"), TEXT + " (from cli)"])
            if status != 0:
                raise Failure(f"parley message send exit {status}:\n{tail(out)}")
            expect_message(peer, "grace", TEXT + " (from cli)")
            if peer.finish() != 0:
                raise Failure(f"{peer.name} saw {peer.seen}")
        finally:
            kill(peer.proc)
            listener.send_signal(signal.SIGINT)
            try:
                listener.wait(timeout=5)
            except subprocess.TimeoutExpired:
                kill(listener)

    # offline delivery across a restart ----------------------------------------------------

    def check_offline_stored(self):
        """MESSAGEs to users who are signed out are accepted with 202 (stored)."""
        sender = Agent("pjsua", "alice", self.server, "udp", self.work, peers=["carol", "erin"])
        try:
            sender.registered()
            expect_sent(sender.send("carol", TEXT + " (stored for carol)"), 202)
            expect_sent(sender.send("erin", TEXT + " (stored for erin)"), 202)
            sender.finish()
        finally:
            kill(sender.proc)

    def check_restart(self):
        self.server.stop()
        self.server.start()

    def check_offline_delivered(self, kind, user):
        """After the restart, a real client signing in gets the stored message, with a Date
        header giving the time it was first sent."""
        agent = Agent(kind, user, self.server, "tcp", self.work, expect=1)
        try:
            agent.registered()
            ev = expect_message(agent, "alice", TEXT + f" (stored for {user})")
            if not ev.get("date"):
                raise Failure(f"{agent.name}: the stored message has no Date header: {ev}")
            agent.finish()
        finally:
            kill(agent.proc)

    def check_stops(self):
        self.server.stop()

    # presence ---------------------------------------------------------------------------

    # What each client can show, for one state set by a publisher: pjsua2 shows the status,
    # the RPID activity and the note; baresip 1.0 only Online, Offline or Busy (an RPID
    # away is shown Offline, busy and on-the-phone Busy) and never a note; our CLI prints
    # the status, the activities and the note.
    @staticmethod
    def seen_by(kind, status, activity, note):
        if kind == "pjsua":
            return {"status": status, "activity": activity, "note": note}
        if kind == "baresip":
            if status == "open" and activity == "busy":
                return {"status": "busy"}
            return {"status": "closed" if status == "closed" or activity == "away" else "open"}
        raise ValueError(kind)

    # Changes a pjsua2 presentity makes; consecutive ones differ even as baresip shows them.
    PJSUA_STEPS = [
        ("open", "busy", "in a meeting"),
        ("closed", "none", "gone home"),
        ("open", "none", TEXT),
        ("open", "away", "back at two"),
    ]
    # baresip publishes only open or closed, without a note (the note typed is ignored).
    BARESIP_STEPS = [("closed", "none", "gone home"), ("open", "none", "")]

    def presence_steps(self, publisher, watchers, steps):
        """`publisher` makes each change of `steps`; every (agent, kind) of `watchers` must
        show it. Each change waits a little over the rate-control interval (1 s) after the
        last NOTIFY, so the delay measured is the server's relay time, not its throttle.
        Returns the delays (seconds) per watcher."""
        delays = {w.name: [] for w, _ in watchers}
        for status, activity, note in steps:
            quiet_after(lambda: max(w.last_presence() for w, _ in watchers))
            if publisher.kind == "baresip":
                # What baresip really publishes: the status alone.
                activity, note = "none", ""
            t0 = publisher.set_presence(status, activity, note)["t"]
            for w, kind in watchers:
                ev = w.presence(publisher.user, self.seen_by(kind, status, activity, note),
                                since=t0)
                delays[w.name].append(ev["t"] - t0)
        return delays

    def note_delays(self, delays):
        for name, ds in delays.items():
            self.notes.append(f"{name} saw each change after "
                              + ", ".join(f"{d * 1000:.0f}" for d in ds) + " ms")

    def check_presence_pair(self, pub_kind, watch_kind, transport):
        """A `pub_kind` user publishes (ivy), a `watch_kind` user watches (jack): each status
        and note change shows on the watcher."""
        pub = Agent(pub_kind, "ivy", self.server, transport, self.work, publish=True)
        watcher = Agent(watch_kind, "jack", self.server, transport, self.work, watch=["ivy"])
        try:
            pub.registered()
            watcher.registered()
            # The first NOTIFY: the subscription is up (what it shows depends on timing).
            watcher.presence("ivy", {})
            steps = self.PJSUA_STEPS if pub_kind == "pjsua" else self.BARESIP_STEPS
            self.note_delays(self.presence_steps(pub, [(watcher, watch_kind)], steps))
            for agent in (pub, watcher):
                status = agent.finish()
                if status != 0:
                    raise Failure(f"{agent.name} exit {status}; saw {agent.seen}")
        finally:
            kill(pub.proc)
            kill(watcher.proc)

    def check_cli_watches_pjsua(self, transport):
        """`parley presence watch` (as jack) prints each change a pjsua2 presentity makes."""
        pub = Agent("pjsua", "ivy", self.server, transport, self.work, publish=True)
        cli = Lines([self.server.binary, "presence", "watch",
                     *self.cli_account("jack", transport), aor("ivy")],
                    os.path.join(self.work, f"cli-watch-{transport}.log"))
        try:
            pub.registered()
            cli.wait(f"{aor('ivy')} ")  # the first NOTIFY
            delays = []
            for status, activity, note in self.PJSUA_STEPS:
                quiet_after(cli.last_line)
                t0 = pub.set_presence(status, activity, note)["t"]
                want = f"{aor('ivy')} {status}" + (
                    f" activities={activity}" if activity != "none" else "") + f' note="{note}"'
                delays.append(cli.wait(want, since=t0, exact=True) - t0)
            self.note_delays({"parley presence watch": delays})
            if pub.finish() != 0:
                raise Failure(f"{pub.name} saw {pub.seen}")
        finally:
            kill(pub.proc)
            cli.stop()

    def check_pjsua_watches_cli(self, transport):
        """pjsua2 (as jack) watches ivy while `parley presence publish` publishes for ivy: the
        status, activity and note show; stopping the CLI removes the publication (closed);
        a second run's state shows again."""
        watcher = Agent("pjsua", "jack", self.server, transport, self.work, watch=["ivy"])
        publishers = []
        try:
            watcher.registered()
            watcher.presence("ivy", {})
            delays = []
            for status, activity, note in [("open", "busy", "at my desk"),
                                           ("closed", "away", TEXT)]:
                quiet_after(watcher.last_presence)
                if publishers:
                    t0 = time.time()
                    publishers[-1].stop()  # removes its publication on SIGINT
                    watcher.presence("ivy", {"status": "closed", "note": ""}, since=t0)
                    quiet_after(watcher.last_presence)
                t0 = time.time()
                publishers.append(Lines(
                    [self.server.binary, "presence", "publish",
                     *self.cli_account("ivy", transport), "--status", status,
                     "--activity", activity, "--note", note],
                    os.path.join(self.work, f"cli-publish-{transport}.log")))
                ev = watcher.presence("ivy", self.seen_by("pjsua", status, activity, note),
                                      since=t0)
                delays.append(ev["t"] - t0)
            self.note_delays({watcher.name + " (from the start of parley presence publish)":
                              delays})
            if watcher.finish() != 0:
                raise Failure(f"{watcher.name} saw {watcher.seen}")
        finally:
            kill(watcher.proc)
            for p in publishers:
                p.stop()

    def check_presence_restart(self, watching, transport):
        """ivy (pjsua2) publishes, each (client, user) of `watching` watches; the server is
        killed (SIGKILL) and started again; the next changes still reach every watcher, on
        the subscription made before (no watcher ends or re-subscribes). Over TCP the
        connections die with the server: baresip's Contact is its listening port, so the
        NOTIFYs reach it over a new connection there; pjsua2's is the port of its own
        connection with `;ob` (RFC 5626 outbound), where nothing listens, so it must register
        again over a new connection, and the NOTIFYs go over that one (a NOTIFY due before
        it is back waits for it)."""
        pub = Agent("pjsua", "ivy", self.server, transport, self.work, publish=True)
        # pjsua2 watchers register again a second after their connection dropped (RFC 5626
        # §4.5 flow recovery; pjsua2's own default waits up to 10 s, then 300 s).
        watchers = [(Agent(kind, user, self.server, transport, self.work, watch=["ivy"],
                           reregister=1 if kind == "pjsua" else 0), kind)
                    for kind, user in watching]
        try:
            pub.registered()
            for w, _ in watchers:
                w.registered()
                w.presence("ivy", {})
            self.presence_steps(pub, watchers, [self.PJSUA_STEPS[0]])
            log_before = len(self.server.log())
            subscribes = [w.subscribes_sent() for w, _ in watchers]
            killed = time.time()
            self.server.kill()
            self.server.start()
            # The subscriptions are restored just after the listeners are up.
            deadline = time.monotonic() + WAIT
            while True:
                restored = re.findall(r"presence subscriptions restored count=(\d+)",
                                      self.server.log()[log_before:])
                if restored or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            if not restored or int(restored[-1]) < len(watchers):
                raise Failure(f"after the restart the server says restored {restored}, "
                              f"wanted at least {len(watchers)}")
            delays = self.presence_steps(pub, watchers, self.PJSUA_STEPS[1:3])
            ended = [e for w, _ in watchers for e in w.seen if e["event"] == "watch_ended"]
            if ended:
                raise Failure(f"a subscription ended: {ended}")
            after = [w.subscribes_sent() for w, _ in watchers]
            if after != subscribes:
                raise Failure(f"SUBSCRIBEs sent by {[w.name for w, _ in watchers]}: "
                              f"{subscribes} before the restart, {after} after")
            self.note_delays(delays)
            for w, kind in watchers:
                if kind != "pjsua" or transport != "tcp":
                    continue
                w.last_presence()  # takes in the events read so far
                again = [e for e in w.seen if e["event"] == "registration"
                         and e.get("code") == 200 and e["t"] > killed]
                if not again:
                    raise Failure(f"{w.name} did not register again after the restart: "
                                  f"{w.seen}")
                self.notes.append(f"{w.name} registered again over a new connection "
                                  f"{(again[0]['t'] - killed) * 1000:.0f} ms after the kill")
            self.notes.append(f"restored subscriptions: {restored[-1]}; SUBSCRIBEs sent by "
                              f"the watchers: {subscribes} before the kill, the same after")
            for agent in [pub] + [w for w, _ in watchers]:
                if agent.finish() != 0:
                    raise Failure(f"{agent.name} saw {agent.seen}")
            # The publication survived too: the publisher's next PUBLISH (SIP-If-Match with
            # the tag from before the kill) was not refused with 412 (pjsua2 would then have
            # published afresh, and the watchers would not have noticed).
            refused = re.findall(r"^SIP/2\.0 412 .*", read(pub.log_path), re.M)
            if refused:
                raise Failure(f"{pub.name} got {refused}: its publication was lost")
        finally:
            kill(pub.proc)
            for w, _ in watchers:
                kill(w.proc)

    def check_publish_burst(self):
        """sipp sends 100 PUBLISHes for liam (one initial, 99 modifies, each a new note) as
        fast as it can; jack (pjsua2) watches liam: a handful of NOTIFYs, the last with the
        last note."""
        watcher = Agent("pjsua", "jack", self.server, "udp", self.work, watch=["liam"])
        try:
            watcher.registered()
            watcher.presence("liam", {})
            quiet_after(watcher.last_presence)
            t0 = time.time()
            status, out = self.sipp("publish_burst.xml", "udp",
                                    keys=[("user", "liam"), ("domain", DOMAIN)],
                                    extra=["-au", "liam", "-ap", password("liam"),
                                           "-auth_uri", aor("liam")])
            t1 = time.time()
            published = re.findall(r"^published: burst (\d+)", out, re.M)
            if status != 0 or len(published) != 100 or "last: burst 100" not in out:
                raise Failure(f"sipp exit {status}, {len(published)} PUBLISHes got 200:\n"
                              + tail(out))
            last = watcher.presence("liam", {"note": "burst 100"}, since=t0)
            # Rate control allows one NOTIFY per second: wait out two more intervals so that
            # any NOTIFY still due has come.
            time.sleep(2.5)
            seen = [e for e in watcher.seen if e["event"] == "presence" and e["t"] >= t0]
            notes = [e["note"] for e in seen]
            allowed = int(t1 - t0) + 3
            if notes[-1] != "burst 100" or len(seen) > allowed:
                raise Failure(f"{len(seen)} NOTIFYs (at most {allowed} wanted) with notes "
                              f"{notes}, the last must be 'burst 100'")
            self.notes.append(f"100 PUBLISHes (each 407 then 200) in {t1 - t0:.2f} s; "
                              f"{watcher.name} got {len(seen)} NOTIFYs: {notes}; "
                              f"the last {last['t'] - t1:+.2f} s after the burst ended")
            if watcher.finish() != 0:
                raise Failure(f"{watcher.name} saw {watcher.seen}")
        finally:
            kill(watcher.proc)

    def check_sipp_publish_etag(self):
        status, out = self.sipp("publish_etag.xml", "udp",
                                keys=[("user", "kim"), ("domain", DOMAIN)],
                                extra=["-au", "kim", "-ap", password("kim"),
                                       "-auth_uri", aor("kim")])
        tags = re.findall(r"^(initial|refresh|modify): 200, SIP-ETag (\S+), Expires (\d+)",
                          out, re.M)
        wanted = ["remove: 200", "stale: 412"]
        if (status != 0 or len(tags) != 3 or len({t for _, t, _ in tags}) != 3
                or not all(w in out for w in wanted)):
            raise Failure(f"sipp exit {status}; wanted three 200s with new tags, then "
                          f"{wanted}:\n{tail(out)}")
        self.notes.append("; ".join(f"{step} → {tag}" for step, tag, _ in tags))

    def check_sipp_subscribe_refresh(self):
        status, out = self.sipp("subscribe_refresh.xml", "udp",
                                keys=[("user", "kim"), ("to", "liam"), ("domain", DOMAIN)],
                                extra=["-au", "kim", "-ap", password("kim"),
                                       "-auth_uri", aor("liam")])
        states = re.findall(r"^(\w+): NOTIFY Subscription-State: *(\S+)", out, re.M)
        answers = re.findall(r"^(\w+): 200, Expires (\d+), Contact <", out, re.M)
        steps = ["subscribe", "refresh", "unsubscribe"]
        if (status != 0 or [s for s, _ in states] != steps
                or [(s, e) for s, e in answers] != list(zip(steps, ["60", "60", "0"]))):
            raise Failure(f"sipp exit {status}:\n{tail(out)}")
        self.notes.append("; ".join(f"{step}: {state}" for step, state in states))


class Lines:
    """A command whose stdout lines are read as they come, each with the time it was read
    (our CLI's `presence watch` and `presence publish`); its stderr goes to a log."""

    def __init__(self, args, log_path):
        self.args = args
        self.log_path = log_path
        self.proc = spawn(args, log_path, stdout=subprocess.PIPE,
                          stderr=open(log_path, "ab"))
        self.lines = []  # (time.time(), line)
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            with self.cond:
                self.lines.append((time.time(), raw.decode("utf-8", "replace").rstrip("\n")))
                self.cond.notify_all()
        with self.cond:
            self.lines.append((time.time(), None))
            self.cond.notify_all()

    def wait(self, text, since=0.0, exact=False, timeout=WAIT):
        """When the first line read at `since` or later that starts with `text` (or is
        `text`, with exact) came; Failure on a timeout or the end of the command."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for at, line in self.lines:
                    if line is None:
                        raise Failure(f"{self.args[1:3]} ended (status {self.proc.wait()}) "
                                      f"before {text!r}:\n{self.output()}")
                    if at >= since and (line == text if exact else line.startswith(text)):
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure(f"no {text!r} from {' '.join(self.args[1:3])} within "
                                  f"{timeout} s:\n{self.output()}")
                self.cond.wait(left)

    def last_line(self):
        with self.cond:
            return max((at for at, _ in self.lines), default=0.0)

    def output(self):
        shown = "\n".join(f"  {line}" for _, line in self.lines if line is not None)
        return shown + "\n  stderr: " + tail(read(self.log_path), 10)

    def stop(self):
        """SIGINT (the CLI then removes its publication or subscription), SIGKILL after 5 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                kill(self.proc)


def quiet_after(last, interval=1.1):
    """Waits until `interval` seconds have passed since `last()` (a time.time() value), so
    that the next change is not held back by the server's rate control (at most one NOTIFY
    per second per watcher) and its delay measures the relay alone."""
    while True:
        left = last() + interval - time.time()
        if left <= 0:
            return
        time.sleep(left)


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def wait_for_text(path, text, proc, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in read(path):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise Failure(f"{text!r} not in {os.path.basename(path)}:\n{tail(read(path))}")


def sipp_logs(cwd):
    out = []
    for name in sorted(os.listdir(cwd)):
        if name.endswith(("_logs.log", "_errors.log", "_screen.log")):
            text = read(os.path.join(cwd, name))
            if name.endswith("_screen.log"):
                text = "\n".join(l for l in text.split("\n") if "Successful call" in l
                                 or "Failed call" in l)
            out.append(text)
    return "\n".join(out)


# parley.example.toml documents this setting.
LEGACY_CLIENTS_CONFIG = """[auth]
algorithms = ["MD5"]
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", action="append", default=[], help="run only checks naming this")
    opts = ap.parse_args()

    for tool in ("sipsak", "sipp", "baresip", "stdbuf"):
        if shutil.which(tool) is None:
            print(f"interop: FAIL {tool} is not installed (.ci/run installs it)")
            return 1
    try:
        import pjsua2  # noqa: F401
    except ImportError as e:
        print(f"interop: FAIL pjsua2 does not import ({e}); pip install pjsua2-python")
        return 1

    binary = os.environ.get("PARLEY_BIN")
    if not binary:
        # The debug build shares its artifacts with `cargo test`, so this is quick after it.
        status, out = run(["cargo", "build", "--quiet", "-p", "parley"], timeout=1800, cwd=ROOT)
        if status != 0:
            print("interop: FAIL cargo build -p parley\n" + tail(out))
            return 1
        binary = os.path.join(ROOT, "target", "debug", "parley")

    work = tempfile.mkdtemp(prefix="parley-interop-")
    deadline = int(os.environ.get("INTEROP_DEADLINE", "600"))

    def on_alarm(signum, frame):
        raise SystemExit(f"interop: FAIL the run took more than {deadline} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit("interop: FAIL interrupted"))
    signal.alarm(deadline)
    t = Interop(binary, work)
    try:
        for user in USERS:
            status, out = t.server.parley("user", "add", aor(user), "--password", password(user))
            if status != 0:
                print(f"interop: FAIL parley user add {aor(user)}\n" + tail(out))
                return 1
        # First the server as shipped: digest challenges offer SHA-256, then MD5 (RFC 8760).
        # pjsua2 and our own client pick SHA-256.
        t.server.start()
        default_checks = [
            ("[default auth] sipsak OPTIONS over UDP gets 200", t.check_sipsak_options, "udp"),
            ("[default auth] pjsua2 and pjsua2 exchange UTF-8 messages over UDP", t.check_exchange, "pjsua", "pjsua", "udp"),
            ("[default auth] parley message send/listen and pjsua2 exchange messages over TCP", t.check_cli_exchange, "pjsua", "tcp"),
            ("[default auth] pjsua2 with a wrong password is refused", t.check_refused, "pjsua", "udp"),
            ("[default auth] presence: pjsua2 sees a pjsua2 user's status and note over UDP", t.check_presence_pair, "pjsua", "pjsua", "udp"),
            ("[default auth] presence: pjsua2 sees a pjsua2 user's status and note over TCP", t.check_presence_pair, "pjsua", "pjsua", "tcp"),
            ("[default auth] presence: parley presence watch shows a pjsua2 user's changes", t.check_cli_watches_pjsua, "udp"),
            ("[default auth] presence: pjsua2 sees what parley presence publish publishes", t.check_pjsua_watches_cli, "tcp"),
        ]
        for name, fn, *args in default_checks:
            if opts.k and not any(k in name for k in opts.k):
                continue
            t.check(name, fn, *args)
        t.server.stop()
        # Then with MD5 only, the setting an operator needs for clients that know only MD5:
        # baresip 1.0 refuses to register when any SHA-256 challenge is present, and sipp and
        # sipsak answer only the first challenge.
        t.server.config = LEGACY_CLIENTS_CONFIG
        t.server.start()

        checks = [
            ("sipsak OPTIONS over UDP gets 200", t.check_sipsak_options, "udp"),
            ("sipsak OPTIONS over TCP gets 200", t.check_sipsak_options, "tcp"),
            ("sipp OPTIONS scenario over UDP", t.check_sipp_options, "udp"),
            ("sipp OPTIONS scenario over TCP", t.check_sipp_options, "tcp"),
            ("GET /healthz says ok", t.check_healthz),
            ("sipp REGISTER with password (MD5) over UDP", t.check_sipp_register, "udp"),
            ("sipp REGISTER with password (MD5) over TCP", t.check_sipp_register, "tcp"),
            ("sipp REGISTER with a wrong password is refused", t.check_sipp_register_refused, "udp"),
            ("sipp MESSAGE with proxy auth relayed to a registered sipp", t.check_sipp_message_relay),
            ("sipsak REGISTER with password over UDP", t.check_sipsak_register, "udp"),
            ("sipsak REGISTER with password over TCP", t.check_sipsak_register, "tcp"),
            ("sipsak REGISTER with a wrong password is refused", t.check_sipsak_register_refused),
            ("sipsak MESSAGE to pjsua2 over UDP", t.check_sipsak_message, "udp"),
            ("sipsak MESSAGE to pjsua2 over TCP", t.check_sipsak_message, "tcp"),
            ("pjsua2 and baresip exchange UTF-8 messages over UDP", t.check_exchange, "pjsua", "baresip", "udp"),
            ("pjsua2 and baresip exchange UTF-8 messages over TCP", t.check_exchange, "pjsua", "baresip", "tcp"),
            ("pjsua2 and pjsua2 exchange UTF-8 messages over TCP", t.check_exchange, "pjsua", "pjsua", "tcp"),
            ("pjsua2 with a wrong password is refused", t.check_refused, "pjsua", "udp"),
            ("baresip with a wrong password is refused", t.check_refused, "baresip", "udp"),
            ("parley message send/listen and pjsua2 exchange messages over UDP", t.check_cli_exchange, "pjsua", "udp"),
            ("parley message send/listen and baresip exchange messages over TCP", t.check_cli_exchange, "baresip", "tcp"),
            ("presence: baresip sees a pjsua2 user's status over UDP", t.check_presence_pair, "pjsua", "baresip", "udp"),
            ("presence: pjsua2 sees a baresip user's status over UDP", t.check_presence_pair, "baresip", "pjsua", "udp"),
            ("presence: baresip sees a pjsua2 user's status over TCP", t.check_presence_pair, "pjsua", "baresip", "tcp"),
            ("presence: sipp PUBLISH entity-tag life cycle (publish_etag.xml)", t.check_sipp_publish_etag),
            ("presence: sipp SUBSCRIBE, refresh, unsubscribe (subscribe_refresh.xml)", t.check_sipp_subscribe_refresh),
            ("presence: 100 PUBLISHes from sipp reach a pjsua2 watcher as a few NOTIFYs", t.check_publish_burst),
            ("presence: pjsua2 and baresip watchers keep seeing changes across a server kill and restart (UDP)", t.check_presence_restart, [("pjsua", "jack"), ("baresip", "kim")], "udp"),
            ("presence: pjsua2 and baresip watchers keep seeing changes across a server kill and restart (TCP)", t.check_presence_restart, [("pjsua", "jack"), ("baresip", "kim")], "tcp"),
            ("MESSAGEs to signed-out users are stored (202)", t.check_offline_stored),
            ("the server restarts on the same data (SIGTERM, start)", t.check_restart),
            ("a stored message reaches pjsua2 at sign-in after the restart", t.check_offline_delivered, "pjsua", "carol"),
            ("a stored message reaches baresip at sign-in after the restart", t.check_offline_delivered, "baresip", "erin"),
            ("the server stops cleanly on SIGTERM", t.check_stops),
        ]
        for name, fn, *args in checks:
            if opts.k and not any(k in name for k in opts.k) and fn != t.check_stops:
                continue
            t.check(name, fn, *args)
    except Failure as e:
        t.failed += 1
        print(f"interop: FAIL {e}")
    finally:
        signal.alarm(0)
        for proc in children:
            kill(proc)
        if os.environ.get("INTEROP_KEEP"):
            print(f"interop: logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"interop: {t.passed} passed, {t.failed} failed")
    return 0 if t.failed == 0 and t.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
