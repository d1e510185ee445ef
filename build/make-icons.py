#!/usr/bin/env python3
"""Draws Berth's icons (an anchor on a rounded square) as PNGs with the standard library only."""
import math, struct, sys, zlib
from pathlib import Path

def png(path, size, bg, fg, rounded=True):
    s = size / 64.0
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            px, py = (x + 0.5) / s, (y + 0.5) / s  # 64x64 design space
            inside_bg = True
            if rounded:
                r = 14
                cx = min(max(px, r), 64 - r); cy = min(max(py, r), 64 - r)
                inside_bg = (px - cx) ** 2 + (py - cy) ** 2 <= r * r
            d_ring = abs(math.hypot(px - 32, py - 15) - 5)
            shank = abs(px - 32) <= 2.6 and 20 <= py <= 52
            stock = abs(py - 27) <= 2.4 and 21 <= px <= 43
            d_arc = abs(math.hypot(px - 32, py - 33) - 18)
            arc = d_arc <= 2.6 and py >= 38
            flukes = (abs(px - 14.5) <= 3 and abs(py - 40) <= 3.5) or (abs(px - 49.5) <= 3 and abs(py - 40) <= 3.5)
            on = d_ring <= 2.4 or shank or stock or arc or flukes
            if on and inside_bg:
                row += bytes(fg)
            elif inside_bg and rounded:
                row += bytes(bg)
            else:
                row += bytes((0, 0, 0, 0)) if rounded else (bytes(bg) if not on else bytes(fg))
        rows.append(bytes(row))
    raw = b''.join(rows)
    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    data = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', size, size, 8, 6, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')
    Path(path).write_bytes(data)

out = Path(sys.argv[1] if len(sys.argv) > 1 else 'resources')
out.mkdir(parents=True, exist_ok=True)
blue, white, clear = (31, 111, 235, 255), (255, 255, 255, 255), (0, 0, 0, 0)
png(out / 'icon.png', 512, blue, white)
# Tray on macOS: a template image (pure black on transparency, "Template" in the name), which macOS tints for
# light and dark menu bars. Windows and Linux panels do not tint: they get the coloured icon, small.
black = (0, 0, 0, 255)
png(out / 'trayTemplate.png', 16, clear, black, rounded=False)
png(out / 'trayTemplate@2x.png', 32, clear, black, rounded=False)
png(out / 'tray.png', 16, blue, white)
png(out / 'tray@2x.png', 32, blue, white)
