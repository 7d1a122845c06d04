"""A fake LaunchDarkly bulk events endpoint for the benchmark: accepts POST /events/bulk/<id> (gzip or not),
counts events, de-duplicates payload IDs, answers GET /count. Runs as its own process on 127.0.0.1.

    python bench/sink.py            # prints the URL, serves until killed"""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import orjson


class _State:
    lock = threading.Lock()
    events = 0
    payloads: ClassVar[set[str]] = set()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        count = len(orjson.loads(body))
        with _State.lock:
            payload = self.headers.get("X-LaunchDarkly-Payload-ID", "")
            if payload not in _State.payloads:
                _State.payloads.add(payload)
                _State.events += count
        self._answer(202, b"")

    def do_GET(self) -> None:
        self._answer(200, str(_State.events).encode())

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Sink:
    """Start the sink in a child process; `url` to send to, `events()` to read the count."""

    def __enter__(self) -> Sink:
        self._proc = subprocess.Popen([sys.executable, __file__], stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        self.url = self._proc.stdout.readline().strip()
        return self

    def events(self) -> int:
        with urllib.request.urlopen(self.url + "/count", timeout=10) as answer:
            return int(answer.read())

    def __exit__(self, *exc: object) -> None:
        self._proc.kill()
        self._proc.wait()


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
