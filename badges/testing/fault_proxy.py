"""TEST TOOLING: a TCP proxy in front of a database, whose faults a test switches on and off.

Service processes connect to the proxy instead of the database; the test calls
:meth:`FaultProxy.set_mode`:

``up``
    Bytes flow both ways.
``down``
    The database is unreachable: every open connection is closed, and each new connection is
    accepted and closed at once (what a stopped server or a refused port looks like to a client).
``blackhole``
    The database host accepts connections and never answers (a partition, a failover address that
    swallows packets). Open connections are closed when it starts; connections accepted while it
    lasts are read and never answered, and stay silent after the mode changes back to ``up``, so
    a client that waits on one without a timeout waits until the proxy stops.

The proxy runs as threads of the test process, on a free loopback port.
"""
from __future__ import annotations

import contextlib
import socket
import threading
from typing import Literal

Mode = Literal["up", "down", "blackhole"]
CHUNK = 65536


def _close(sock: socket.socket) -> None:
    """Close ``sock`` and wake any thread blocked reading it."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.mode: Mode = "up"
        self.accepted = 0
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []  # sockets of forwarded connections, closed on a cut
        self._silent: list[socket.socket] = []  # blackholed connections, closed only by stop()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def set_mode(self, mode: Mode) -> None:
        with self._lock:
            self.mode = mode
            if mode != "up":
                for sock in self._open:
                    _close(sock)
                self._open.clear()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)
        _close(self._listener)
        with self._lock:
            for sock in self._open + self._silent:
                _close(sock)
            self._open.clear()
            self._silent.clear()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            with self._lock:
                mode = self.mode
                if mode == "blackhole":
                    self._silent.append(client)
            if mode == "down":
                _close(client)
            elif mode == "blackhole":
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
            else:
                self._forward(client)

    def _forward(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _close(client)
            return
        server.settimeout(None)
        with self._lock:
            if self.mode != "up":  # cut while connecting
                _close(client)
                _close(server)
                return
            self._open += [client, server]
        for source, target in ((client, server), (server, client)):
            threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(CHUNK):
                target.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(target)
            with self._lock:
                for sock in (source, target):
                    if sock in self._open:
                        self._open.remove(sock)

    @staticmethod
    def _swallow(client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while client.recv(CHUNK):
                pass
