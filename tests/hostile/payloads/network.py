# A listening socket and a connection out: the kernel has no network but its own loopback.
import socket

server = socket.socket()
server.bind(("0.0.0.0", 0))
server.listen()
print("listening on", server.getsockname())
for host in ("1.1.1.1", "8.8.8.8"):
    try:
        socket.create_connection((host, 53), timeout=3)
        print("REACHED", host)
    except OSError as exc:
        print("no network:", host, type(exc).__name__)
