"""Loopback fakes of the providers that tests and benchmarks share: the real Gmail and Twilio SDKs
talk to them over 127.0.0.1 (`google.py`: the OAuth token endpoint and the Gmail API; `twilio.py`:
Messages and Calls, and Twilio's side of the webhooks; `processes.py`: each fake in a child process
of its own, for benchmarks). They stand in for the outside world, so they import nothing of the
service's layers: only the standard library and the providers' own SDKs."""

from http.server import ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    """A threading HTTP server with a listen backlog like a real service's: the standard library's
    5 overflows when a client opens many connections at once (each text or call is one, over
    HTTP/1.0), and the kernel then drops the connection and the client retries it after up to a
    second, a pause the fake would add to whatever a test or benchmark measures."""

    request_queue_size = 128
