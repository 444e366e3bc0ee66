#!/usr/bin/env python3
"""mkimage.py ELF OUT [--flash-size-code N]: an ESP32-C3 second-stage
bootloader image (as the ROM loads it) of ELF's loadable segments: the
common header (magic 0xE9, segment count, SPI mode DIO, flash size code,
entry), the extended header (chip id 5, revisions 0..99, hash appended),
each segment as load address + length + bytes, the XOR checksum in the
last byte of a 16-byte-aligned block, then the SHA-256 of all of it."""
import hashlib
import struct
import sys


def segments(elf):
    if elf[:4] != b"\x7fELF" or elf[4] != 1:
        raise SystemExit("mkimage: not a 32-bit ELF")
    e_entry, e_phoff = struct.unpack_from("<II", elf, 24)
    e_phentsize, e_phnum = struct.unpack_from("<HH", elf, 42)
    segs = []
    for i in range(e_phnum):
        p_type, p_offset, _vaddr, p_paddr, p_filesz, _memsz, _flags, _align = struct.unpack_from(
            "<8I", elf, e_phoff + i * e_phentsize)
        if p_type == 1 and p_filesz > 0:   # PT_LOAD with bytes
            data = elf[p_offset:p_offset + p_filesz]
            data += b"\0" * (-len(data) % 4)
            segs.append((p_paddr, data))
    return e_entry, segs


def main():
    elf = open(sys.argv[1], "rb").read()
    size_code = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--flash-size-code" else 3
    entry, segs = segments(elf)
    out = bytearray(struct.pack("<BBBBI", 0xE9, len(segs), 2, size_code << 4, entry))
    # wp pin, drive settings, chip id 5 (ESP32-C3), min rev, min/max full rev, reserved, hash appended
    out += struct.pack("<B3sHBHH4sB", 0xEE, b"\0\0\0", 5, 0, 0, 99, b"\0" * 4, 1)
    csum = 0xEF
    for addr, data in segs:
        out += struct.pack("<II", addr, len(data)) + data
        for b in data:
            csum ^= b
    out += b"\0" * (15 - len(out) % 16)
    out.append(csum)
    out += hashlib.sha256(out).digest()
    open(sys.argv[2], "wb").write(out)


if __name__ == "__main__":
    main()
