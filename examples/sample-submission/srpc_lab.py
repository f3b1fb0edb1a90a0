"""A correct srpc server, as a student would submit it: `python3 srpc_lab.py SERVER`.

It binds socket.gethostname() on port 4444 like the lab, reads every frame to its full
length, serves each client on its own thread, keeps one dictionary for all of them, and answers
{"status": "ERROR"} to anything it cannot read instead of crashing.
"""
import json
import socket
import struct
import sys
import threading

PORT = 4444
store = {}
lock = threading.Lock()


def recv_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(min(n - len(data), 65536))
        if not chunk:
            raise ConnectionError("client closed early")
        data += chunk
    return data


def send_message(conn, obj):
    text = json.dumps(obj)
    conn.sendall(struct.pack("ii", 1, len(text)) + text.encode())


def answer(message):
    func = message["func"]
    params = message["params"]
    if func == "PUT":
        with lock:
            store[params["obj"]] = params["val"]
        return {"status": "OK", "response": {"func": "PUT", "response": {"obj": params["obj"], "response": "ok"}}}
    if func == "GET":
        with lock:
            val = store.get(params["obj"])
        return {"status": "OK", "response": {"func": "GET", "response": {"obj": params["obj"], "val": val}}}
    return {"status": "OK", "response": {"func": func, "response": "ERROR - Function doesn't exist"}}


def serve(conn):
    conn.settimeout(5)
    try:
        try:
            _, length = struct.unpack("ii", recv_exactly(conn, 8))
            if length < 0 or length > 16 << 20:
                raise ValueError("bad length")
            reply = answer(json.loads(recv_exactly(conn, length).decode()))
        except Exception:
            reply = {"status": "ERROR"}
        send_message(conn, reply)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    if len(sys.argv) < 2 or sys.argv[1] != "SERVER":
        sys.exit("usage: python3 srpc_lab.py SERVER")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((socket.gethostname(), PORT))
    listener.listen(64)
    print(f"listening on {socket.gethostname()}:{PORT}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
