#!/usr/bin/env python3
"""Reads a PNG screenshot (8-bit RGB or RGBA, non-interlaced, as Chromium writes) with zlib
alone and prints, as JSON: its size, the share of pixels that differ from the background
colour, the share in flame colours (red clearly above blue), and for the pixel row given
the share of flame-coloured pixels. Usage: png_stats.py SCREENSHOT.png ROW"""
import json, struct, sys, zlib

data = open(sys.argv[1], "rb").read()
row_asked = int(sys.argv[2])
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, header = 8, b"", None
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    chunk = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        header = struct.unpack(">IIBBBBB", chunk)
    elif kind == b"IDAT":
        idat += chunk
    pos += 12 + length
width, height, depth, colour, _, _, interlace = header
assert depth == 8 and colour in (2, 6) and interlace == 0, header
bpp = 3 if colour == 2 else 4
raw = zlib.decompress(idat)
stride = width * bpp
rows, prev, at = [], bytearray(stride), 0
for _ in range(height):
    kind, line = raw[at], bytearray(raw[at + 1:at + 1 + stride])
    at += 1 + stride
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if kind == 1: line[i] = (line[i] + a) & 255
        elif kind == 2: line[i] = (line[i] + b) & 255
        elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line

def pixel(x, y):
    r = rows[y]
    return r[x * bpp], r[x * bpp + 1], r[x * bpp + 2]

def flame(p):
    return p[0] >= 190 and p[0] - p[2] >= 80

background = pixel(1, 1)
different = flamed = 0
for y in range(height):
    for x in range(width):
        p = pixel(x, y)
        different += p != background
        flamed += flame(p)
row = [flame(pixel(x, row_asked)) for x in range(width)] if 0 <= row_asked < height else []
print(json.dumps({
    "width": width, "height": height,
    "background": background,
    "non_background": different / (width * height),
    "flame": flamed / (width * height),
    "row_flame": sum(row) / max(len(row), 1),
}))
