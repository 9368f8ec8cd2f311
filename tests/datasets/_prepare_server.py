"""A loopback HTTP server (127.0.0.1 only) that serves synthetic published files, with HTTP Range support
and faults on demand, and the dataset facts patched to describe those files (sizes and checksums)."""
from __future__ import annotations

import dataclasses
import hashlib
import http.server
import re
import threading

_RANGE = re.compile(r"bytes=(\d+)-$")


class FileServer:
    """`files` {name: bytes} served at `/<name>`; `cut[name] = n` sends the full length but only n bytes
    (then closes) on the next request of `name`; every request is logged as (name, Range header)."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut: dict[str, int] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                name = self.path.lstrip("/").split("?")[0]
                server.requests.append((name, self.headers.get("Range")))
                if name not in server.files:
                    self.send_error(404)
                    return
                body = server.files[name]
                start = 0
                match = _RANGE.match(self.headers.get("Range") or "")
                if match:
                    start = int(match.group(1))
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                cut = server.cut.pop(name, None)
                self.wfile.write(body[start:cut] if cut is not None else body[start:])
                self.wfile.flush()
                if cut is not None:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def template(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/{{name}}"

    def requested(self) -> list[str]:
        return [name for name, _ in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def describe(spec, data: bytes):
    """`spec` (a PublishedFile) with the size and checksums of `data` where the real facts have them, so
    both the verified and the unverified paths are exercised as they are for the real files."""
    return dataclasses.replace(
        spec,
        size=len(data) if spec.size is not None else None,
        sha256=hashlib.sha256(data).hexdigest() if spec.sha256 else None,
        md5=hashlib.md5(data).hexdigest() if spec.md5 else None,
    )
