"""Peers that join and never read: how much memory do they cost the coordinator?

Starts nothing itself: `bench/peer-flood.sh` starts a coordinator (waiting for a worker that never comes) and runs
this script against it. Each peer is a DEALER that sends HELLO (and, with --heartbeat, HEARTBEATs so that it stays a
member) and never reads what it is sent. The coordinator's resident memory is read from /proc before and after.
Only the loopback address is ever used.
"""
import argparse
import os
import random
import struct
import time

import zmq

MAGIC = 0x4B424D45
HELLO, HEARTBEAT, SYNC = 1, 6, 7   # SYNC: protocol version 1 only


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


PROTOCOL = 3


def frames(tag: int, payload: bytes, sequence: int) -> list:
    header = struct.pack("<IHHIIQII", MAGIC, PROTOCOL, tag, 0, 0, sequence, len(payload), crc32c(payload))
    return [header, payload]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the coordinator's pid, for its memory")
    parser.add_argument("--peers", type=int, default=60)
    parser.add_argument("--requests", type=int, default=0,
                        help="requests for state each peer sends after HELLO: SYNCs (protocol 1), repeated HELLOs (2 and 3)")
    parser.add_argument("--protocol", type=int, default=3, choices=[1, 2, 3], help="the coordinator's protocol version")
    parser.add_argument("--heartbeat", action="store_true", help="stay a member: heartbeat every 0.5 s")
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    global PROTOCOL
    PROTOCOL = args.protocol

    before = rss_mib(args.pid)
    context = zmq.Context()
    peers = []
    for _ in range(args.peers):
        socket = context.socket(zmq.DEALER)
        socket.setsockopt(zmq.RCVHWM, 1)   # read nothing: let what the coordinator sends pile up on its side
        socket.setsockopt(zmq.LINGER, 0)
        socket.connect(f"tcp://127.0.0.1:{args.port}")
        peers.append(socket)
    time.sleep(0.5)
    sequence = 0
    for i, socket in enumerate(peers):
        sequence += 1
        name = f"flood{i}".encode()
        payload = struct.pack("<QQQI", random.getrandbits(63) + 1, 0, 0, len(name)) + name
        socket.send_multipart(frames(HELLO, payload, sequence))
        for _ in range(args.requests):
            sequence += 1
            if args.protocol == 1:
                socket.send_multipart(frames(SYNC, struct.pack("<Q", 0), sequence))
            else:
                socket.send_multipart(frames(HELLO, payload, sequence))
    peak = before
    end = time.time() + args.seconds
    while time.time() < end:
        if args.heartbeat:
            for socket in peers:
                sequence += 1
                socket.send_multipart(frames(HEARTBEAT, struct.pack("<Q", 0xFFFFFFFFFFFFFFFF if args.protocol == 1 else 0), sequence))
        time.sleep(0.5)
        peak = max(peak, rss_mib(args.pid))
    after = rss_mib(args.pid)
    print(f"RESULT peers={args.peers} requests={args.requests} protocol={args.protocol} heartbeat={int(args.heartbeat)} "
          f"rss_before_mib={before:.0f} rss_peak_mib={peak:.0f} rss_after_mib={after:.0f} "
          f"growth_mib={peak - before:.0f}")
    for socket in peers:
        socket.close()
    context.term()


if __name__ == "__main__":
    main()
