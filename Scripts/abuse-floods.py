#!/usr/bin/env python3
"""Flood clients for Scripts/abuse.sh: runs one flood against a live Canopy server on loopback while
a probe (its own process) requests a page every 50 ms, samples the server's RSS and open
descriptors every 100 ms, and prints one result line (tab-separated) for the flood.

    abuse-floods.py FLOOD --pid PID --edge PORT --admin PORT --host HOST --expect TEXT [--seconds N]

Floods: h2-junk, h2-settings, h2-ping, h2-continuation, h2-rapid-reset, pipelining, idle, slowloris,
admin-bodies. Only the standard library: HTTP/2 frames are built by hand.
"""
import argparse
import multiprocessing
import os
import socket
import sys
import threading
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(kind, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def literal(name, value):
    """An HPACK literal field without indexing, no Huffman (names and values under 127 bytes)."""
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def request_block(host, path=b"/"):
    return (literal(b":method", b"GET") + literal(b":scheme", b"http") + literal(b":path", path)
            + literal(b":authority", host))


def connect(port, rcvbuf=None, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


class Flood:
    """Runs `body(stop, stats)` in `threads` threads until `seconds` have passed."""

    def __init__(self, args):
        self.args = args
        self.host = args.host.encode()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.counts = {}
        self.sockets = []

    def count(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def keep(self, s):
        with self.lock:
            self.sockets.append(s)

    def close_all(self):
        with self.lock:
            for s in self.sockets:
                try:
                    s.close()
                except OSError:
                    pass
            self.sockets = []

    # MARK: HTTP/2

    def h2_stream(self, opening, repeated, connections=2):
        """Opens `connections` h2c connections, sends `opening`, then `repeated()` as fast as the
        server takes it, never reading. Counts connections the server closed."""
        def worker():
            try:
                s = connect(self.args.edge)
                self.keep(s)
                s.sendall(PREFACE + frame(4, 0, 0) + opening)
                while not self.stop.is_set():
                    s.sendall(repeated())
                    self.count("bytes sent", 0)
            except OSError:
                self.count("closed by server")
        return [threading.Thread(target=worker) for _ in range(connections)]

    def flood_h2_junk(self):
        junk = os.urandom(1 << 16)
        # A DATA frame on stream 0 is a connection error (RFC 9113 §6.1): GOAWAY, then close.
        return self.h2_stream(frame(0, 0, 0, b"x"), lambda: junk)

    def flood_h2_settings(self):
        batch = frame(4, 0, 0, b"\x00\x03\x00\x00\x00\x64") * 2000
        return self.h2_stream(b"", lambda: batch)

    def flood_h2_ping(self):
        batch = frame(6, 0, 0, b"12345678") * 2000
        return self.h2_stream(b"", lambda: batch)

    def flood_h2_continuation(self):
        # HEADERS without END_HEADERS, then CONTINUATION frames that never end the block.
        piece = frame(9, 0, 1, literal(b"x-pad", b"a" * 100) * 100)
        return self.h2_stream(frame(1, 0, 1, request_block(self.host)), lambda: piece * 16)

    def flood_h2_rapid_reset(self):
        def worker():
            try:
                s = connect(self.args.edge)
                self.keep(s)
                s.sendall(PREFACE + frame(4, 0, 0))
                drain = threading.Thread(target=self.drain, args=(s,), daemon=True)
                drain.start()
                stream = 1
                block = request_block(self.host)
                while not self.stop.is_set() and stream < 2**31 - 200:
                    batch = b""
                    for _ in range(100):
                        batch += frame(1, 0x05, stream, block) + frame(3, 0, stream, b"\x00\x00\x00\x08")
                        stream += 2
                    s.sendall(batch)
                    self.count("streams", 100)
            except OSError:
                self.count("closed by server")
        return [threading.Thread(target=worker) for _ in range(4)]

    def drain(self, s):
        try:
            while not self.stop.is_set():
                if not s.recv(1 << 16):
                    return
        except OSError:
            return

    # MARK: HTTP/1.1

    def flood_pipelining(self):
        batch = (b"GET / HTTP/1.1\r\nHost: " + self.host + b"\r\n\r\n") * 1000

        def worker():
            try:
                s = connect(self.args.edge, rcvbuf=16 << 10)
                self.keep(s)
                while not self.stop.is_set():
                    s.sendall(batch)
                    self.count("requests sent", 1000)
            except socket.timeout:
                self.count("stalled (server stopped reading)")
                self.stop.wait()
            except OSError:
                self.count("closed by server")
        return [threading.Thread(target=worker) for _ in range(4)]

    def flood_idle(self):
        def worker():
            for _ in range(self.args.idle):
                if self.stop.is_set():
                    return
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                try:
                    s.connect_ex(("127.0.0.1", self.args.edge))
                    self.keep(s)
                    self.count("opened")
                except OSError:
                    s.close()
                    self.count("could not open")
            self.stop.wait()
            alive = 0
            with self.lock:
                for s in self.sockets:
                    try:
                        if s.recv(1, socket.MSG_PEEK) == b"":
                            continue
                    except BlockingIOError:
                        alive += 1
                    except OSError:
                        pass
            self.count("still open at the end", alive)
        return [threading.Thread(target=worker)]

    def flood_slowloris(self):
        def worker():
            mine = []
            for _ in range(self.args.slow // 4):
                try:
                    s = connect(self.args.edge)
                    s.sendall(b"GET / HTTP/1.1\r\nHost: " + self.host + b"\r\n")
                    self.keep(s)
                    mine.append(s)
                except OSError:
                    self.count("could not open")
            while not self.stop.wait(1.0):
                for s in list(mine):
                    try:
                        s.sendall(b"X-Slow: 1\r\n")
                    except OSError:
                        mine.remove(s)
                        self.count("closed by server")
        return [threading.Thread(target=worker) for _ in range(4)]

    def flood_admin_bodies(self):
        head = (b"POST /api/v1/sites/site/builds HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 4194304\r\n\r\n")
        body = b"x" * ((4 << 20) - 1)

        def worker():
            for _ in range(25):
                try:
                    s = connect(self.args.admin, timeout=30)
                    self.keep(s)
                    s.sendall(head + body)  # one byte short: the server waits for it
                    self.count("stalled bodies")
                except OSError:
                    self.count("refused or closed")
                if self.stop.is_set():
                    return
        return [threading.Thread(target=worker) for _ in range(4)]


def probe(port, host, expect, stop, results):
    """Every 50 ms: a fresh connection, GET /, checked. Appends (ok, seconds) to `results`."""
    request = b"GET / HTTP/1.1\r\nHost: " + host.encode() + b"\r\nConnection: close\r\n\r\n"
    while not stop.is_set():
        started = time.monotonic()
        ok = False
        try:
            s = connect(port, timeout=5)
            s.sendall(request)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            ok = data.startswith(b"HTTP/1.1 200") and expect.encode() in data
        except OSError:
            ok = False
        results.append((ok, time.monotonic() - started))
        time.sleep(max(0.0, 0.05 - (time.monotonic() - started)))


def sample(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        return rss // 1024, len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, StopIteration):
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("flood")
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--edge", type=int, required=True)
    parser.add_argument("--admin", type=int, required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--expect", required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--idle", type=int, default=20000)
    parser.add_argument("--slow", type=int, default=2000)
    # A shared machine: a flood that makes the server grow without bound is stopped at this RSS.
    parser.add_argument("--rss-cap", type=int, default=2048)
    args = parser.parse_args()

    flood = Flood(args)
    threads = getattr(flood, "flood_" + args.flood.replace("-", "_"))()
    manager = multiprocessing.Manager()
    results = manager.list()
    probe_stop = multiprocessing.Event()
    prober = multiprocessing.Process(target=probe, args=(args.edge, args.host, args.expect, probe_stop, results))
    prober.start()
    peak_rss, peak_fds, alive = 0, 0, True
    for t in threads:
        t.daemon = True
        t.start()
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        s = sample(args.pid)
        if s is None:
            alive = False
            break
        peak_rss, peak_fds = max(peak_rss, s[0]), max(peak_fds, s[1])
        if peak_rss > args.rss_cap:
            flood.count(f"stopped early: server RSS over {args.rss_cap} MiB")
            break
        time.sleep(0.1)
    flood.stop.set()
    for t in threads:
        t.join(timeout=10)
    flood.close_all()
    time.sleep(1.0)  # the probe keeps going a moment after the flood ends
    probe_stop.set()
    prober.join(timeout=10)
    probes = list(results)
    ok = sum(1 for r in probes if r[0])
    worst = max((r[1] for r in probes), default=0.0)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(flood.counts.items()) if v)
    if sample(args.pid) is None:
        alive = False
    print("\t".join([
        args.flood, "alive" if alive else "DIED", f"{peak_rss}", f"{peak_fds}",
        f"{ok}/{len(probes)}", f"{100.0 * ok / max(1, len(probes)):.1f}%", f"{worst * 1000:.0f}", counts,
    ]), flush=True)


if __name__ == "__main__":
    main()
