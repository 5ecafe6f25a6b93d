#!/usr/bin/python3
"""A client this project did not write: Debian's python3-grpcio calls switchyardd's
standard grpc.health.v1 service and one read RPC, sending and decoding raw protobuf
bytes (no code generated from our .proto).

usage: grpc_client.py HOST:PORT TOKEN
prints: "health <hex>", "version <text>", "no-token <status code>"
"""
import sys

import grpc


def main():
    address, token = sys.argv[1], sys.argv[2]
    channel = grpc.insecure_channel(address, options=[("grpc.enable_http_proxy", 0)])

    check = channel.unary_unary("/grpc.health.v1.Health/Check")
    # HealthCheckRequest{service: ""} is empty; SERVING is field 1 = 1, i.e. 08 01.
    print("health", check(b"", timeout=5).hex())

    get_status = channel.unary_unary("/switchyard.v1.Switchyard/GetStatus")
    reply = get_status(b"", metadata=[("authorization", "Bearer " + token)], timeout=5)
    # Status.version is field 1, a string: tag 0x0a, length, bytes.
    if reply[0] != 0x0A:
        raise SystemExit("unexpected first field in Status: %r" % reply[:4])
    print("version", reply[2 : 2 + reply[1]].decode())

    try:
        get_status(b"", timeout=5)
        print("no-token accepted")
    except grpc.RpcError as err:
        print("no-token", err.code().name)


if __name__ == "__main__":
    main()
