package charter_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"charter.dev/charter"
)

func ExampleBus() {
	bus, err := charter.NewBus()
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Close()

	// "*" matches one token; a final ">" matches one or more.
	created, err := bus.Subscribe("orders.*.created")
	if err != nil {
		log.Fatal(err)
	}
	defer created.Close()

	for _, topic := range []string{"orders.eu.created", "orders.eu.paid", "orders.us.created"} {
		report, err := bus.Publish(topic, []byte("order 17"), charter.Header{Name: "trace", Value: "abc"})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: matched %d\n", topic, report.Matched)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for range 2 {
		msg, err := created.Recv(ctx)
		if err != nil {
			log.Fatal(err)
		}
		trace, _ := msg.Header("trace")
		fmt.Printf("received %s %q trace=%s\n", msg.Topic, msg.Payload, trace)
	}
	// Output:
	// orders.eu.created: matched 1
	// orders.eu.paid: matched 0
	// orders.us.created: matched 1
	// received orders.eu.created "order 17" trace=abc
	// received orders.us.created "order 17" trace=abc
}

func ExampleBus_Request() {
	bus, err := charter.NewBus()
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Close()

	// The responder answers on the request's reply inbox.
	_, err = bus.SubscribeFunc("svc.upper", func(req *charter.Message) error {
		_, err := bus.Respond(req, bytes.ToUpper(req.Payload))
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	reply, err := bus.Request(ctx, "svc.upper", []byte("hello"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", reply.Payload)

	_, err = bus.Request(ctx, "svc.missing", nil)
	fmt.Println(err)
	// Output:
	// HELLO
	// charter: CHARTER_E_NOT_FOUND: no subscriber for "svc.missing" to answer the request
}

func ExampleSubscription_C() {
	bus, err := charter.NewBus()
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Close()
	alerts, err := bus.Subscribe("alerts.>")
	if err != nil {
		log.Fatal(err)
	}

	for _, level := range []string{"warn", "page"} {
		if _, err := bus.Publish("alerts."+level, []byte("disk full")); err != nil {
			log.Fatal(err)
		}
	}
	for range 2 {
		select {
		case msg := <-alerts.C():
			fmt.Printf("%s: %s\n", msg.Topic, msg.Payload)
		case <-time.After(time.Second):
			log.Fatal("no alert")
		}
	}

	// Close ends the subscription and closes the channel.
	alerts.Close()
	_, open := <-alerts.C()
	fmt.Println("open:", open)
	// Output:
	// alerts.warn: disk full
	// alerts.page: disk full
	// open: false
}

// A Recv waits parked in the Go runtime, holding no thread, until a message
// comes, the subscription ends or its context is done. A wait that ends
// with the context takes nothing.
func ExampleSubscription_Recv() {
	bus, err := charter.NewBus()
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Close()
	jobs, err := bus.Subscribe("jobs")
	if err != nil {
		log.Fatal(err)
	}
	defer jobs.Close()

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	_, err = jobs.Recv(ctx)
	fmt.Println("cancelled:", errors.Is(err, context.Canceled), errors.Is(err, charter.ErrCancelled))

	go func() {
		if _, err := bus.Publish("jobs", []byte("resize")); err != nil {
			log.Fatal(err)
		}
	}()
	msg, err := jobs.Recv(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", msg.Payload)
	// Output:
	// cancelled: true true
	// resize
}

func ExampleWithOverflow() {
	bus, err := charter.NewBus()
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Close()

	// A queue of two that keeps the first messages when full.
	sub, err := bus.Subscribe("ticks", charter.WithCapacity(2), charter.WithOverflow(charter.DropNewest))
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	for i := range 5 {
		if _, err := bus.Publish("ticks", fmt.Appendf(nil, "%d", i)); err != nil {
			log.Fatal(err)
		}
	}
	for {
		msg, ok, err := sub.TryRecv()
		if err != nil {
			log.Fatal(err)
		}
		if !ok {
			break
		}
		fmt.Printf("tick %s\n", msg.Payload)
	}
	stats, err := sub.Stats()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("received=%d delivered=%d dropped=%d queued=%d\n",
		stats.Received, stats.Delivered, stats.Dropped.Total(), stats.Queued)
	// Output:
	// tick 0
	// tick 1
	// received=5 delivered=2 dropped=3 queued=0
}
