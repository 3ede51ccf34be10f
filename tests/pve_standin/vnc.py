"""RFB (VNC) pieces of the console path: the stand-in plays QEMU's VNC server
towards the websocket client (RFB 3.8, VncAuth with the vncproxy password), then
authenticates as a client to the test's real VNC server and splices the rest."""

import asyncio
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, modes

try:  # cryptography >= 43 moved TripleDES to 'decrepit'
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover - Debian 12 ships 38
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

RFB_VERSION = b"RFB 003.008\n"
SEC_NONE, SEC_VNC = 1, 2


class RfbError(Exception):
    pass


def _reverse_bits(b):
    return int(f"{b:08b}"[::-1], 2)


def vnc_des_response(password, challenge):
    """VncAuth: DES-ECB of the 16-byte challenge with the bit-reversed password
    (first 8 bytes, zero padded). TripleDES with an 8-byte key is single DES."""
    key = bytes(_reverse_bits(c) for c in password.encode("latin-1")[:8].ljust(8, b"\0"))
    enc = Cipher(TripleDES(key), modes.ECB()).encryptor()
    return enc.update(challenge) + enc.finalize()


class ByteStream:
    """Minimal read-exactly / write interface over a websocket or a TCP stream."""

    async def read(self, n):
        raise NotImplementedError

    async def write(self, data):
        raise NotImplementedError


class WsStream(ByteStream):
    def __init__(self, ws):
        self.ws = ws
        self.buf = b""

    async def read(self, n):
        import aiohttp
        while len(self.buf) < n:
            msg = await self.ws.receive()
            if msg.type == aiohttp.WSMsgType.BINARY:
                self.buf += msg.data
            elif msg.type == aiohttp.WSMsgType.TEXT:
                self.buf += msg.data.encode("latin-1")
            else:
                raise RfbError("websocket closed")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    async def write(self, data):
        await self.ws.send_bytes(data)


class TcpStream(ByteStream):
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    async def read(self, n):
        try:
            return await self.reader.readexactly(n)
        except asyncio.IncompleteReadError as exc:
            raise RfbError("upstream closed") from exc

    async def write(self, data):
        self.writer.write(data)
        await self.writer.drain()


async def serve_vnc_auth(client, password):
    """Server side of the RFB 3.8 security handshake; True if the password matched."""
    await client.write(RFB_VERSION)
    version = await client.read(12)
    if not version.startswith(b"RFB 003."):
        raise RfbError(f"bad client version {version!r}")
    await client.write(bytes([1, SEC_VNC]))
    chosen = (await client.read(1))[0]
    if chosen != SEC_VNC:
        reason = b"Unsupported security type"
        await client.write(struct.pack(">I", 1) + struct.pack(">I", len(reason)) + reason)
        return False
    challenge = os.urandom(16)
    await client.write(challenge)
    response = await client.read(16)
    if response != vnc_des_response(password, challenge):
        reason = b"Authentication failed"
        await client.write(struct.pack(">I", 1) + struct.pack(">I", len(reason)) + reason)
        return False
    await client.write(struct.pack(">I", 0))
    return True


async def client_vnc_auth(upstream, password):
    """Client side towards the real VNC server, up to a successful SecurityResult."""
    version = await upstream.read(12)
    if not version.startswith(b"RFB 003."):
        raise RfbError(f"upstream is not a VNC server: {version!r}")
    await upstream.write(RFB_VERSION)
    count = (await upstream.read(1))[0]
    if count == 0:
        length = struct.unpack(">I", await upstream.read(4))[0]
        raise RfbError("upstream refused: " + (await upstream.read(length)).decode(errors="replace"))
    types = list(await upstream.read(count))
    if password and SEC_VNC in types:
        await upstream.write(bytes([SEC_VNC]))
        challenge = await upstream.read(16)
        await upstream.write(vnc_des_response(password, challenge))
    elif SEC_NONE in types:
        await upstream.write(bytes([SEC_NONE]))
    else:
        raise RfbError(f"no usable security type among {types}")
    result = struct.unpack(">I", await upstream.read(4))[0]
    if result != 0:
        raise RfbError("upstream VNC authentication failed")


async def splice(ws, ws_stream, reader, writer):
    """Bytes both ways until either side closes."""
    import aiohttp

    async def ws_to_tcp():
        if ws_stream.buf:
            writer.write(ws_stream.buf)
            ws_stream.buf = b""
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                writer.write(msg.data)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                writer.write(msg.data.encode("latin-1"))
            else:
                break
            await writer.drain()

    async def tcp_to_ws():
        while True:
            data = await reader.read(65536)
            if not data:
                break
            await ws.send_bytes(data)

    tasks = [asyncio.ensure_future(ws_to_tcp()), asyncio.ensure_future(tcp_to_ws())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        writer.close()
