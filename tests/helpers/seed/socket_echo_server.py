"""The seed's echo server (Python socket module tutorial), re-created for interoperation tests.

Usage: socket_echo_server.py [HOST [PORT]]   (defaults: localhost 10000, as in the seed)
HOST '' binds all addresses, as the seed's socket_echo_server_any.py does."""
import socket
import sys

host = sys.argv[1] if len(sys.argv) > 1 else "localhost"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 10000

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server_address = (host, port)
print("starting up on {} port {}".format(*server_address), flush=True)
sock.bind(server_address)
sock.listen(1)

while True:
    print("waiting for a connection", flush=True)
    connection, client_address = sock.accept()
    try:
        print("connection from", client_address, flush=True)
        while True:
            data = connection.recv(16)
            print("received {!r}".format(data), flush=True)
            if data:
                print("sending data back to the client", flush=True)
                connection.sendall(data)
            else:
                print("no data from", client_address, flush=True)
                break
    finally:
        connection.close()
