#!/usr/bin/env python3
# A static HTTPS file server for the update tests (run inside a test network namespace):
#   https.py DIR PORT CERT KEY        serves DIR on 127.0.0.1:PORT with the test CA's server cert
import http.server, ssl, sys, functools

directory, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass

handler = functools.partial(Quiet, directory=directory)
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
httpd.serve_forever()
