"""A current ClickHouse engine (chDB, the in-process ClickHouse from PyPI's chdb-core) behind ClickHouse's HTTP
interface, for the tests that prove every statement Tollgate sends also works on a current ClickHouse
(docs/decisions/0014-current-clickhouse.md). No current clickhouse-server package installs on these machines; this
runs the same engine in one process. It speaks the part of the HTTP interface Tollgate's client uses: SQL in the
POST body (plain or chunked) or ?query=, `database` and settings as URL parameters, data inline after `FORMAT`, errors as a non-200
status with ClickHouse's `Code: N. DB::Exception: ...` text, and /ping. Statements run one at a time (one chDB
session); each one run is appended to --log as one JSON line {sql, ok, error}.

Usage: python server.py --port 8125 --data DIR [--log FILE]
"""

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from chdb import session as chdb_session

# URL parameters that are not settings.
NOT_SETTINGS = {"query", "database", "user", "password", "query_id", "session_id", "default_format"}
# Settings of the HTTP layer, which chDB has no use for.
HTTP_ONLY = {"wait_end_of_query", "send_progress_in_http_headers", "http_headers_progress_interval_ms"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--log")
    args = parser.parse_args()
    sess = chdb_session.Session(args.data)
    lock = threading.Lock()
    log = open(args.log, "a", encoding="utf-8") if args.log else None
    version = str(sess.query("SELECT version()", "TabSeparated")).strip()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:  # quiet
            pass

        def reply(self, status: int, body: bytes, code: str = "") -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-ClickHouse-Server-Display-Name", f"chdb {version}")
            if code:
                self.send_header("X-ClickHouse-Exception-Code", code)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path in ("/ping", "/"):
                params = dict(parse_qsl(urlsplit(self.path).query))
                if "query" not in params:
                    self.reply(200, b"Ok.\n")
                    return
            self.run(b"")

        def do_POST(self) -> None:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                body = bytearray()
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        break
                    body += self.rfile.read(size)
                    self.rfile.readline()  # the chunk's CRLF
                self.run(bytes(body))
            else:
                self.run(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def run(self, body: bytes) -> None:
            params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
            sql = params.get("query", "")
            text = body.decode("utf-8")
            sql = f"{sql}\n{text}" if sql and text else (sql or text)
            settings = {k: v for k, v in params.items() if k not in NOT_SETTINGS and k not in HTTP_ONLY}
            with lock:
                try:
                    sess.query(f"USE {params.get('database') or 'default'}")
                    for key, value in settings.items():
                        quoted = value if value.isdigit() else "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
                        sess.query(f"SET {key} = {quoted}")
                    result = sess.query(sql, "TabSeparated")
                    out = result.bytes() if hasattr(result, "bytes") else str(result).encode("utf-8")
                    ok, error = True, None
                except Exception as e:  # chDB raises its own error type with ClickHouse's text
                    ok, error = False, str(e)
                if log:
                    log.write(json.dumps({"sql": sql, "ok": ok, "error": error}) + "\n")
                    log.flush()
            if ok:
                self.reply(200, out)
            else:
                code = error.split(".", 1)[0].removeprefix("Code: ") if error.startswith("Code: ") else ""
                self.reply(404 if code == "60" else 500, error.encode("utf-8"), code)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"chdb {version} answering ClickHouse HTTP on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
