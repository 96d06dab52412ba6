#!/usr/bin/env python3
"""Convert a valgrind lackey trace (--trace-mem=yes) into ChampSim input_instr records.

There is no PIN tracer on the machines the repository's traces were made on, so the ChampSim test traces are
this conversion of real lackey traces. Each lackey 'I ADDR,SIZE' line starts a record with ip = ADDR; the
' L ADDR,SIZE' lines after it fill source_memory (at most 4), ' S' lines destination_memory (at most 2),
' M' lines both; further operands of the same instruction are dropped (ChampSim's tracer drops them too:
the record has 4 + 2 slots). Registers are 0 and is_branch/branch_taken 0: lackey does not give them.
Record layout (ChampSim inc/trace_instruction.h, struct input_instr, 64 bytes, little-endian):
    u64 ip; u8 is_branch; u8 branch_taken; u8 destination_registers[2]; u8 source_registers[4];
    u64 destination_memory[2]; u64 source_memory[4]

Usage: scripts/lackey-to-champsim.py < prog.lackey | xz -9 > prog.champsimtrace.xz
"""
import struct
import sys

RECORD = struct.Struct("<QBB2B4B2Q4Q")
assert RECORD.size == 64


def flush(out, ip, dst, src):
    if ip is None:
        return
    d = (dst + [0, 0])[:2]
    s = (src + [0, 0, 0, 0])[:4]
    out.write(RECORD.pack(ip, 0, 0, 0, 0, 0, 0, 0, 0, *d, *s))


def main():
    out = sys.stdout.buffer
    ip, dst, src = None, [], []
    for line in sys.stdin.buffer:
        if line.startswith(b"I  "):
            flush(out, ip, dst, src)
            ip, dst, src = int(line[3:].split(b",")[0], 16), [], []
        elif len(line) > 3 and line[0:1] == b" " and line[2:3] == b" " and line[1:2] in b"LSM" and ip is not None:
            addr = int(line[3:].split(b",")[0], 16)
            kind = line[1:2]
            if kind in (b"L", b"M"):
                src.append(addr)
            if kind in (b"S", b"M"):
                dst.append(addr)
    flush(out, ip, dst, src)


if __name__ == "__main__":
    main()
