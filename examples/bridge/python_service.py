"""The Python service of the cross-process bridge demo (run.sh): "orders",
on a bus of its own, carried onto NATS by a sealed and verifying bridge.

It mints both services' tokens from one root, starts the Go service, then:
publishes an order (the Go service receives it, proven), receives the Go
service's invoice (proven), answers the Go service's request with a signed
reply and gets a signed reply to its own; a forger on plain NATS, holding
the Go service's public token but not its key, is refused and audited.

Usage: python_service.py NATS_URL DIR GO_SERVICE
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import charter


def forge(url: str, subject: str, token: str) -> None:
    """Publishes a message with a stolen token and a made-up proof over raw
    NATS protocol: the forger is any client of the server, not a bridge."""
    headers = (
        "NATS/1.0\r\n"
        "Charter-Origin: 00000000000000000000000000000000\r\n"
        "Charter-Seq: 1\r\n"
        f"Charter-Time: {int(time.time() * 1000)}\r\n"
        f"Charter-Token: {token}\r\n"
        "Charter-Proof: " + "A" * 86 + "\r\n\r\n"
    ).encode()
    payload = b"invoice: pay 1,000,000 EUR to the forger"
    address = urlparse(url)
    with socket.create_connection((address.hostname, address.port)) as s:
        s.recv(4096)  # INFO
        s.sendall(b'CONNECT {"verbose":false,"headers":true}\r\n')
        s.sendall(f"HPUB {subject} {len(headers)} {len(headers) + len(payload)}\r\n".encode())
        s.sendall(headers + payload + b"\r\nPING\r\n")
        reply = b""
        while b"PONG" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk


def main() -> None:
    url, dir_name, go_service = sys.argv[1:4]
    out = Path(dir_name)
    now = int(time.time())
    root, py_key, go_key = (charter.KeyPair.generate() for _ in range(3))

    def mint(holder: charter.KeyPair, grants: list[str]) -> charter.Token:
        """A token from the root for `holder`, valid for the next hour."""
        return charter.Token.mint(root, holder.public_key, grants, now - 60, now + 3600)

    py_token = mint(py_key, ["publish orders.>", "request billing.quote", "subscribe orders.lookup"])
    go_token = mint(go_key, ["publish billing.invoice", "request orders.lookup", "subscribe billing.quote"])
    (out / "root.pub").write_text(f"{root.public_key}\n")
    (out / "go.token").write_text(f"{go_token}\n")
    go_key.write_file(out / "go.key", pem=True)
    signer = charter.KeyPair.generate()
    log = charter.AuditLog.open(out / "py-audit.log", signer=signer, origin="demo.local/python")
    (out / "py-audit.vkey").write_text(f"{log.verifier_key}\n")

    authority = charter.Authority([root.public_key])
    with charter.Bus() as bus:
        invoices = bus.subscribe("billing.invoice")

        def lookup(m: charter.Message) -> None:
            who = m.header("Charter-Principal") or "?"
            print(f"   python: lookup request {m.payload!r} from {who[:24]}... (proven)")
            bus.respond(m, b"order 17: 3 widgets, shipped")

        bus.subscribe("orders.lookup", lookup)
        with charter.Bridge(
            bus,
            url,
            exports=["orders.created", "billing.quote"],
            imports=["billing.invoice", "orders.lookup"],
            token=py_token,
            key=py_key,
            authority=authority,
            audit=log,
            audit_scope="all",
        ) as bridge:
            bridge.flush(20)
            go = subprocess.Popen(
                [go_service, url, dir_name], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            assert go.stdin is not None and go.stdout is not None
            try:
                assert go.stdout.readline().strip() == "ready", "the Go service did not start"
                print(f"   python: publishing orders.created as {py_key.principal[:24]}...")
                bus.publish("orders.created", b"order 17")
                print(go.stdout.readline(), end="")
                invoice = invoices.recv(timeout=20)
                who = invoice.header("Charter-Principal") or "?"
                print(f"   python: received billing.invoice {invoice.payload!r} from {who[:24]}... (proven)")
                print(go.stdout.readline(), end="")  # the lookup request, answered here
                reply = bus.request("billing.quote", b"order 17", timeout=20)
                print(go.stdout.readline(), end="")
                who = reply.header("Charter-Principal") or "?"
                print(f"   python: signed reply {reply.payload!r} from {who[:24]}... (verified)")

                print("   forger: HPUB billing.invoice with the Go service's token and a made-up proof")
                forge(url, "billing.invoice", str(go_token))
                deadline = time.monotonic() + 20
                while bridge.refused()["bad_proof"] == 0:
                    assert time.monotonic() < deadline, "the forgery was not refused"
                    time.sleep(0.01)
                try:
                    invoices.recv(timeout=0.2)
                    raise SystemExit("the forged invoice was delivered")
                except charter.TimeoutError:
                    pass
                refused = {k: v for k, v in bridge.refused().items() if v}
                print(f"   python: refused {refused}; nothing delivered")
                stats = bridge.stats()
                print(f"   python: bridge exported {stats['exported']}, imported {stats['imported']}")
            finally:
                go.stdin.close()
                print(go.stdout.read(), end="")
                if go.wait(timeout=20) != 0:
                    raise SystemExit("the Go service failed")
    log.checkpoint()
    log.close()


if __name__ == "__main__":
    main()
