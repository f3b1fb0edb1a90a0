"""A correct srpc server and client, as a student would submit them: `python3 srpc_lab.py
SERVER` or `python3 srpc_lab.py CLIENT`.

The server binds socket.gethostname() on port 4444 like the lab, reads every frame to its full
length, serves each client on its own thread, keeps one dictionary for all of them, and answers
{"status": "ERROR"} to anything it cannot read instead of crashing. The client makes the lab's
six calls, one connection each, reads each reply whole with the same recv_message, and prints
"Call:" and "Ret:" for each.
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


def recv_message(conn):
    """The next message, or None when the peer closed before a whole one arrived."""
    try:
        _, length = struct.unpack("ii", recv_exactly(conn, 8))
        return json.loads(recv_exactly(conn, length).decode())
    except ConnectionError:
        return None


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


def client_do_single_call(call):
    with socket.create_connection((socket.gethostname(), PORT), timeout=10) as conn:
        send_message(conn, call)
        return recv_message(conn)


def client():
    for call in [
        {"func": "GET", "params": {"obj": "ABC"}},
        {"func": "PUT", "params": {"obj": "HELLO", "val": "WORLD"}},
        {"func": "PUT", "params": {"obj": "ABC", "val": {"val1": 111, "val2": 222}}},
        {"func": "PUT", "params": {"obj": "DEF", "val": {"val1": 333, "val2": 444}}},
        {"func": "GET", "params": {"obj": "ABC"}},
        {"func": "GET", "params": {"obj": "DEF"}},
    ]:
        print("Call:" + str(call))
        print("Ret:" + str(client_do_single_call(call)))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "CLIENT":
        client()
        return
    if len(sys.argv) < 2 or sys.argv[1] != "SERVER":
        sys.exit("usage: python3 srpc_lab.py SERVER|CLIENT")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((socket.gethostname(), PORT))
    listener.listen(64)
    print(f"listening on {socket.gethostname()}:{PORT}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
