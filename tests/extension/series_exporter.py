"""A real HTTP exporter of made-up RSS series (leak, plateau, sawtooth) for a real Prometheus to scrape."""

from __future__ import annotations

import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MB = 1_000_000
SHAPES = {
    "leak": lambda t: 100 * MB + 2 * MB * t,                      # 7,200 MB/h, a straight line
    "plateau": lambda t: 100 * MB + 50 * MB * (1 - math.exp(-t)),  # a cache that fills, then stays
    "sawtooth": lambda t: 100 * MB + 20 * MB * ((t % 4) / 4),      # GC: grows and drops every 4 s
}


class SeriesExporter:
    """Serves ``/<shape>/metrics`` with ``process_resident_memory_bytes`` following that shape since start."""

    def __init__(self, port: int) -> None:
        started = time.time()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                shape = SHAPES.get(self.path.strip("/").split("/")[0])
                if shape is None:
                    self.send_error(404)
                    return
                body = f"process_resident_memory_bytes {shape(time.time() - started)}\n".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.started = started
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
