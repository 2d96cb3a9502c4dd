"""The loopback teacher server speaks HTTP as real servers do: clients that read to EOF must not hang on it."""

import http.client
import json
import socket

import pytest

from tests.helpers.teacher_server import TeacherServer

BODY = json.dumps({"model": "fake-teacher", "seed": 976, "messages": [{"role": "user", "content": "x = 1"}]}).encode()


@pytest.mark.parametrize(
    ("version", "connection"), [("HTTP/1.1", "Connection: close\r\n"), ("HTTP/1.0", "")], ids=["close", "http/1.0"]
)
def test_the_connection_ends_after_the_answer_when_the_client_asks(version, connection):
    request = (
        f"POST /v1/chat/completions {version}\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{connection}Content-Length: {len(BODY)}\r\n\r\n"
    ).encode()
    with TeacherServer() as server, socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request + BODY)
        data = b""
        while chunk := sock.recv(65536):  # to EOF; a connection left open raises TimeoutError
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"\r\nconnection: close" in head.lower()
    assert json.loads(payload)["choices"][0]["finish_reason"] == "stop"


def test_a_keep_alive_connection_serves_several_requests():
    with TeacherServer() as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        for _ in range(2):
            conn.request("POST", "/v1/chat/completions", BODY, {"Content-Type": "application/json"})
            response = conn.getresponse()
            assert response.status == 200
            assert response.getheader("Connection") is None
            assert json.loads(response.read())["choices"][0]["finish_reason"] == "stop"
        conn.close()
    assert server.attempts[0] == 2
