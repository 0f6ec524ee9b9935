"""The seed's echo client, re-created: socket_echo_client.py [HOST [PORT]] (localhost 10000).
With HOST given it is the seed's socket_echo_client_explicit.py."""
import socket
import sys

host = sys.argv[1] if len(sys.argv) > 1 else "localhost"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 10000

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_address = (host, port)
print("connecting to {} port {}".format(*server_address))
sock.connect(server_address)

try:
    message = b"This is the message.  It will be repeated."
    print("sending {!r}".format(message))
    sock.sendall(message)

    amount_received = 0
    amount_expected = len(message)
    while amount_received < amount_expected:
        data = sock.recv(16)
        amount_received += len(data)
        print("received {!r}".format(data))
finally:
    print("closing socket")
    sock.close()
