#!/usr/bin/env python3
"""Pulls an image as the kubelet does: CRI's ImageService.PullImage on containerd's socket.

    cri_pull.py SOCKET REFERENCE     prints the pulled image's ref

In containerd 1.6 this pull uses the remote-snapshot unpacker (each layer's Prepare labelled with the chain ID it
wants, so a proxy snapshotter that has the layer can answer it and containerd skips it); `ctr images pull` does not.
The two messages are encoded by hand (runtime.v1.PullImageRequest{image: ImageSpec{image: REFERENCE}}), so only
python3-grpcio is needed, no generated code.
"""
import sys

import grpc


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def length_delimited(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def first_string(message):
    """Field 1 of a message whose first field is a string (PullImageResponse.image_ref)."""
    if not message or message[0] != (1 << 3 | 2):
        return ""
    length, i, shift = 0, 1, 0
    while True:
        byte = message[i]
        length |= (byte & 0x7F) << shift
        i += 1
        shift += 7
        if not byte & 0x80:
            break
    return message[i:i + length].decode()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    socket, reference = sys.argv[1:]
    request = length_delimited(1, length_delimited(1, reference.encode()))
    with grpc.insecure_channel(f"unix://{socket}") as channel:
        pull = channel.unary_unary("/runtime.v1.ImageService/PullImage",
                                   request_serializer=lambda b: b, response_deserializer=lambda b: b)
        print(first_string(pull(request, timeout=1800)))


if __name__ == "__main__":
    main()
