"""TEST TOOLING: a minimal, in-memory, Confluent-compatible schema registry for end-to-end tests.

``edx-event-bus-kafka`` needs a schema registry (``EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL``) and no
registry installs from the package indexes here. This server speaks the small subset of the
Confluent REST API that ``confluent_kafka.schema_registry.SchemaRegistryClient`` uses to
serialize and deserialize Avro events:

- ``POST /subjects/{subject}/versions``: register a schema, answer ``{"id": n}``; the same schema
  text always gets the same id.
- ``POST /subjects/{subject}``: look a registered schema up (404 when it is not registered).
- ``GET /schemas/ids/{id}``: the schema text of an id.
- ``GET /subjects``, ``GET /subjects/{subject}/versions``, ``GET /subjects/{subject}/versions/{v|latest}``.
- anything else (e.g. ``GET /associations/...``): 404 with a Confluent error body, which the
  client treats as "nothing configured".

It keeps no data on disk, checks no compatibility and has no authentication: never use it
outside tests and demos. Run it with ``python -m badges.testing.schema_registry --port N``.
"""
from __future__ import annotations

import argparse
import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from badges.testing.processes import serve_until_stopped

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaStore:
    """Schemas by id and the versions of each subject; safe to share between request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids_by_schema: dict[tuple[str, str], int] = {}
        self._schemas: dict[int, dict[str, Any]] = {}
        self._subjects: dict[str, list[int]] = {}

    def register(self, subject: str, schema: dict[str, Any]) -> int:
        key = (schema.get("schemaType", "AVRO"), schema["schema"])
        with self._lock:
            schema_id = self._ids_by_schema.get(key)
            if schema_id is None:
                schema_id = len(self._schemas) + 1
                self._ids_by_schema[key] = schema_id
                self._schemas[schema_id] = {"schema": schema["schema"], "schemaType": key[0]}
            versions = self._subjects.setdefault(subject, [])
            if schema_id not in versions:
                versions.append(schema_id)
            return schema_id

    def lookup(self, subject: str, schema: dict[str, Any]) -> dict[str, Any] | None:
        key = (schema.get("schemaType", "AVRO"), schema["schema"])
        with self._lock:
            schema_id = self._ids_by_schema.get(key)
            versions = self._subjects.get(subject, [])
            if schema_id is None or schema_id not in versions:
                return None
            return self._version_body(subject, versions.index(schema_id) + 1)

    def schema(self, schema_id: int) -> dict[str, Any] | None:
        with self._lock:
            found = self._schemas.get(schema_id)
            return dict(found) if found else None

    def subjects(self) -> list[str]:
        with self._lock:
            return sorted(self._subjects)

    def versions(self, subject: str) -> list[int] | None:
        with self._lock:
            versions = self._subjects.get(subject)
            return list(range(1, len(versions) + 1)) if versions else None

    def version(self, subject: str, version: str) -> dict[str, Any] | None:
        with self._lock:
            versions = self._subjects.get(subject)
            if not versions:
                return None
            number = len(versions) if version == "latest" else int(version) if version.isdigit() else 0
            if not 1 <= number <= len(versions):
                return None
            return self._version_body(subject, number)

    def _version_body(self, subject: str, number: int) -> dict[str, Any]:
        schema_id = self._subjects[subject][number - 1]
        return {"subject": subject, "version": number, "id": schema_id, **self._schemas[schema_id]}


class SchemaRegistryHandler(BaseHTTPRequestHandler):
    server: SchemaRegistryServer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read the broker's and consumer's logs, not this one's."""

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _not_found(self, error_code: int, message: str) -> None:
        self._send(HTTPStatus.NOT_FOUND, {"error_code": error_code, "message": message})

    def _parts(self) -> list[str]:
        return [unquote(part) for part in urlsplit(self.path).path.strip("/").split("/") if part]

    def _read_schema(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
            self._send(HTTPStatus.UNPROCESSABLE_ENTITY, {"error_code": 42201, "message": "Invalid schema"})
            return None
        return body

    def do_POST(self) -> None:
        parts = self._parts()
        if len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
            schema = self._read_schema()
            if schema is not None:
                self._send(HTTPStatus.OK, {"id": self.server.store.register(parts[1], schema)})
        elif len(parts) == 2 and parts[0] == "subjects":
            schema = self._read_schema()
            if schema is not None:
                found = self.server.store.lookup(parts[1], schema)
                if found is None:
                    self._not_found(40403, "Schema not found")
                else:
                    self._send(HTTPStatus.OK, found)
        else:
            self._not_found(404, "Not found")

    def do_GET(self) -> None:
        parts = self._parts()
        store = self.server.store
        if len(parts) == 3 and parts[:2] == ["schemas", "ids"] and parts[2].isdigit():
            found = store.schema(int(parts[2]))
            return self._send(HTTPStatus.OK, found) if found else self._not_found(40403, "Schema not found")
        if parts == ["subjects"]:
            return self._send(HTTPStatus.OK, store.subjects())
        if len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
            versions = store.versions(parts[1])
            return self._send(HTTPStatus.OK, versions) if versions else self._not_found(40401, "Subject not found")
        if len(parts) == 4 and parts[0] == "subjects" and parts[2] == "versions":
            found = store.version(parts[1], parts[3])
            return self._send(HTTPStatus.OK, found) if found else self._not_found(40402, "Version not found")
        return self._not_found(404, "Not found")


class SchemaRegistryServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), SchemaRegistryHandler)
        self.store = SchemaStore()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description="In-memory schema registry for tests (not for production).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    options = parser.parse_args()
    server = SchemaRegistryServer(options.host, options.port)
    print(f"test schema registry listening on {server.url}", flush=True)
    serve_until_stopped(server)


if __name__ == "__main__":
    main()
