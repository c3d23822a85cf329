"""A Python peer for the Go binding's cross-language bridge test: answers
requests on xl.ping (upper-casing the payload) and, once the Go side asks
with xl.start, publishes xl.hello. Prints "ready" once its bridge is up;
exits when stdin closes."""

import sys

import charter

with charter.Bus() as bus:

    def answer(m: charter.Message) -> None:
        bus.respond(m, m.payload.upper())
        if m.topic == "xl.start":
            bus.publish("xl.hello", b"from python", {"lang": "python"})

    bus.subscribe("xl.ping", answer)
    bus.subscribe("xl.start", answer)
    with charter.Bridge(bus, sys.argv[1], imports=["xl.ping", "xl.start"], exports=["xl.hello"]) as bridge:
        bridge.flush(10)
        print("ready", flush=True)
        sys.stdin.read()
