#!/usr/bin/env python3
"""The baseline of issue 6: a straightforward line-by-line Python parser doing the same
extraction as `ncclscope report` on the NCCL side, written honestly — compiled regexes,
one pass, no needless work — so the ratio measures the approach, not a strawman.

Per line: find the NCCL marker, split NCCL's `host:pid:tid [dev]` header, classify the
message (version, network, NET/OFI provider, NET/IB and NET/Socket devices, comm init
start/complete, channel connections, COLL traces, env echoes, WARNs), keep per process the
line count, first and last line, ranks and cudaDevs; nccl-tests rows and devices. Prints a
JSON summary (processes, communicators, networks, warnings, busbw rows).

    python3 bench/baseline.py FILE_OR_DIR...
"""
import json
import os
import re
import sys

MARKER = re.compile(r"(?:^|[\s\]:>])NCCL (INFO|WARN|TRACE|CALL|ABORT)(?: |$)")
HEADER = re.compile(r"([^\s:\[\]()<>|]+):(\d+):(\d+)(?: \[(-?\d+)\])? ")
VERSION = re.compile(r"^NCCL version (\S+)")
USING_NET = re.compile(r"^Using network (\S+)")
OFI_PROVIDER = re.compile(r"^NET/OFI Selected [Pp]rovider is ([^\s,]+)(?:, fabric is ([^\s,]+))?.*?(?:\(found (\d+) nics\))?")
OFI_PLATFORM = re.compile(r"^NET/OFI Running on (\S+) platform")
IB_DEVS = re.compile(r"^NET/IB : Using (.*?)(?: ; OOB (\S+))?$")
SOCKET_DEVS = re.compile(r"^NET/Socket : Using (.*)$")
COMM_INIT = re.compile(
    r"comm (0x[0-9a-f]+) rank (\d+) nranks (\d+) cudaDev (\d+)(?: nvmlDev \d+)? busId ([0-9a-fA-F:.]+)"
    r"(?: commId (0x[0-9a-f]+))?(?: localSize \d+)?(?: used \d+ bytes)? - (Init START|Init COMPLETE)"
)
CONNECTION = re.compile(r"^Channel (\d+)/(?:\d+) : (\d+)\[[^\]]*\] -> (\d+)\[[^\]]*\] \[(send|receive)\] via (\S+)")
COLL = re.compile(r"^(\w+): opCount ([0-9a-f]+) ")
ENV = re.compile(r"^(NCCL_\w+|FI_\w+) set (?:by environment )?to (\S+)")
TESTS_ROW = re.compile(
    r"^\s+(\d+)\s+(\d+)\s+(\w+)\s+(\w+|-)\s+(-?\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\S+)"
    r"\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\S+)"
)
TESTS_DEVICE = re.compile(r"^#\s+Rank\s+(\d+) Group\s+\d+ Pid\s+(\d+) on\s+(\S+) device\s+(\d+) \[([^\]]+)\] (.*)$")


class Proc:
    __slots__ = ("lines", "first", "last", "ranks", "devs", "warns")

    def __init__(self):
        self.lines = 0
        self.first = None
        self.last = None
        self.ranks = set()
        self.devs = set()
        self.warns = 0


def inputs(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for f in sorted(files):
                    yield os.path.join(root, f)
        else:
            yield p


def main(paths):
    procs = {}
    comms = {}
    networks = {}
    providers = {}
    platforms = {}
    env = {}
    warns = []
    colls = 0
    tests_rows = []
    devices = 0
    for path in inputs(paths):
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip("\r\n")
                m = MARKER.search(line)
                if m is None:
                    t = TESTS_ROW.match(line)
                    if t:
                        tests_rows.append((int(t.group(1)), float(t.group(8))))
                    elif TESTS_DEVICE.match(line):
                        devices += 1
                    continue
                level = m.group(1)
                h = HEADER.search(line, 0, m.start() + 1)
                key = (h.group(1), int(h.group(2))) if h else (path, None)
                p = procs.get(key)
                if p is None:
                    p = procs[key] = Proc()
                    p.first = (path, n, line)
                p.lines += 1
                p.last = (path, n, line)
                if h and h.group(4) is not None:
                    p.devs.add(int(h.group(4)))
                msg = line[m.end():]
                if level == "WARN":
                    p.warns += 1
                    if len(warns) < 1000:
                        warns.append((path, n, msg))
                    continue
                c = COLL.match(msg)
                if c:
                    colls += 1
                    continue
                c = COMM_INIT.search(msg)
                if c:
                    cid = c.group(6) or ("n" + c.group(3))
                    comm = comms.setdefault(cid, {"nranks": int(c.group(3)), "start": set(), "complete": set()})
                    rank = int(c.group(2))
                    p.ranks.add(rank)
                    comm["complete" if c.group(7) == "Init COMPLETE" else "start"].add(rank)
                    continue
                c = CONNECTION.match(msg)
                if c:
                    networks[c.group(5)] = networks.get(c.group(5), 0) + 1
                    continue
                for rx, into in ((VERSION, None), (USING_NET, networks), (OFI_PROVIDER, providers), (OFI_PLATFORM, platforms)):
                    c = rx.match(msg)
                    if c:
                        if into is not None:
                            into[c.group(1)] = into.get(c.group(1), 0) + 1
                        break
                else:
                    c = IB_DEVS.match(msg) or SOCKET_DEVS.match(msg)
                    if c:
                        networks[msg.split(" ")[0]] = networks.get(msg.split(" ")[0], 0) + 1
                        continue
                    c = ENV.match(msg)
                    if c:
                        env[c.group(1)] = c.group(2)
    out = {
        "processes": len(procs),
        "lines": sum(p.lines for p in procs.values()),
        "communicators": {
            k: {"nranks": v["nranks"], "start": len(v["start"]), "complete": len(v["complete"])}
            for k, v in comms.items()
        },
        "networks": networks,
        "providers": providers,
        "platforms": platforms,
        "env": env,
        "warns": len(warns),
        "coll_lines": colls,
        "tests_rows": len(tests_rows),
        "tests_devices": devices,
        "stuck": sorted(
            f"{k[0]}:{k[1]}" for k, p in procs.items() if p.ranks and not any(
                r in c["complete"] for c in comms.values() for r in p.ranks
            )
        )[:20],
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
