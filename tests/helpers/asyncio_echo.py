"""The echo servers of Python's asyncio documentation ("TCP echo server using streams", "UDP
echo server" with a DatagramProtocol), on 127.0.0.1 PORT for both. Prints "ready" once both
listen; serves until killed.

Usage: asyncio_echo.py PORT"""
import asyncio
import sys


async def handle_echo(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


class EchoServerProtocol(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)


async def main(port):
    loop = asyncio.get_running_loop()
    server = await asyncio.start_server(handle_echo, "127.0.0.1", port)
    await loop.create_datagram_endpoint(EchoServerProtocol, local_addr=("127.0.0.1", port))
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main(int(sys.argv[1])))
