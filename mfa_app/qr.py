"""QR codes as compact inline SVG: one path of horizontal runs, no image library."""

from html import escape

import qrcode
from qrcode.constants import ERROR_CORRECT_M

BORDER = 4


def qr_matrix(data: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=BORDER)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def _path(matrix: list[list[bool]]) -> str:
    parts = []
    for y, row in enumerate(matrix):
        x, width = 0, len(row)
        while x < width:
            if row[x]:
                start = x
                while x < width and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return "".join(parts)


def qr_svg(data: str, title: str = "QR code") -> str:
    """Return an ``<svg>`` element drawing ``data`` as a QR code."""
    matrix = qr_matrix(data)
    size = len(matrix)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'class="mfa-qr" role="img" aria-label="{escape(title)}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path d="{_path(matrix)}" fill="#000"/></svg>'
    )
