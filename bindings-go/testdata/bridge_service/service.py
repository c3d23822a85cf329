"""The Python service of the cross-language bridge test
(bridge_langs_test.go); service.c says what every service does.

Usage: service.py NATS_URL DIR PREFIX SELF PEER
"""

import sys
from pathlib import Path

import charter


def main() -> int:
    url, folder, prefix, self, peer = sys.argv[1:6]
    d = Path(folder)
    text = lambda name: (d / name).read_text().strip()  # noqa: E731
    peer_principal = text(f"{peer}.principal")
    token = charter.Token.from_text(text(f"{self}.token"))
    key = charter.KeyPair.read_file(d / f"{self}.key", allow_open_permissions=True)
    authority = charter.Authority([text("root.pub")])
    own_svc, own_event = f"{prefix}.{self}.svc", f"{prefix}.{self}.event"
    peer_svc, peer_event = f"{prefix}.{peer}.svc", f"{prefix}.{peer}.event"

    def proven(m: charter.Message, payload: bytes) -> bool:
        return (
            m.header("Charter-Principal") == peer_principal
            and m.header("Charter-Status") is None
            and m.payload == payload
        )

    with charter.Bus() as bus:

        def answer(m: charter.Message) -> None:
            if m.header("Charter-Principal") != peer_principal:
                bus.respond(m, f"{self} refuses an unproven request".encode())
                return
            bus.respond(m, f"{self} answers ".encode() + m.payload)

        bus.subscribe(own_svc, answer)
        events = bus.subscribe(peer_event)
        with charter.Bridge(
            bus,
            url,
            exports=[own_event, peer_svc],
            imports=[peer_event, own_svc],
            token=token,
            key=key,
            authority=authority,
        ) as bridge:
            bridge.flush(20)
            print("ready", flush=True)
            if sys.stdin.readline().strip() != "go":
                return 1
            bus.publish(own_event, f"event from {self}".encode())
            reply = bus.request(peer_svc, f"ping from {self}".encode(), timeout=20)
            if not proven(reply, f"{peer} answers ping from {self}".encode()):
                print(f"python service: the reply is {reply.payload!r}", file=sys.stderr)
                return 1
            event = events.recv(timeout=20)
            if not proven(event, f"event from {peer}".encode()):
                print(f"python service: the event is {event.payload!r}", file=sys.stderr)
                return 1
            print("done", flush=True)
            sys.stdin.read()
            print(f"refused {sum(bridge.refused().values())}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
