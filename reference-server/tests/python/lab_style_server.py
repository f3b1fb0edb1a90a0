"""A srpc server written the way the lab's provided code works: a module-level dict, one
request per connection, json.dumps with default arguments, struct "ii" headers.

It exists so the reference server can be compared byte for byte with CPython's own json module.
Unlike a typical student server it reads the header and payload completely, so the comparison
never depends on how the loopback happens to split writes.

Usage: python3 lab_style_server.py PORT   (0 picks a free port; the chosen one is printed)
"""
import json
import socket
import struct
import sys

store = {}


def do_get(params):
    name = params["obj"]
    return {"obj": name, "val": store.get(name)}


def do_put(params):
    name = params["obj"]
    value = params["val"]
    store[name] = value
    return {"obj": name, "response": "ok"}


def dispatch(message):
    func = message["func"]
    params = message["params"]
    if func == "GET":
        return {"func": "GET", "response": do_get(params)}
    if func == "PUT":
        return {"func": "PUT", "response": do_put(params)}
    return {"func": func, "response": "ERROR - Function doesn't exist"}


def read_exactly(conn, count):
    chunks = []
    while count > 0:
        chunk = conn.recv(min(count, 65536))
        if not chunk:
            break
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def read_request(conn):
    header = read_exactly(conn, 8)
    if len(header) < 8:
        return None
    _version, length = struct.unpack("ii", header)
    return json.loads(read_exactly(conn, length).decode())


def write_reply(conn, reply):
    text = json.dumps(reply)
    conn.sendall(struct.pack("ii", 1, len(text)) + text.encode())


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 4444
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen()
    host, port = listener.getsockname()
    print(f"listening on {host}:{port}", flush=True)
    while True:
        conn, _ = listener.accept()
        message = read_request(conn)
        if message:
            write_reply(conn, {"status": "OK", "response": dispatch(message)})
        else:
            write_reply(conn, {"status": "ERROR"})
        conn.close()


if __name__ == "__main__":
    main()
