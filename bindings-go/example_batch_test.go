package charter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"time"

	"charter.dev/charter"
)

// PublishBatch publishes many payloads in one call; RecvMany waits for the
// first message and takes what is queued behind it, up to its limit.
func ExampleBus_PublishBatch() {
	bus, err := charter.NewBus()
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Close()
	sub, err := bus.Subscribe("metrics.>")
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()

	n, report, err := bus.PublishBatch("metrics.cpu", [][]byte{[]byte("41"), []byte("42"), []byte("43")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("published", n, "delivered", report.Delivered)
	msgs, err := sub.RecvMany(context.Background(), 64)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range msgs {
		fmt.Printf("%s ", m.Payload)
	}
	fmt.Println()
	// Output:
	// published 3 delivered 3
	// 41 42 43
}

// All ranges over a subscription: a message is taken only when the loop
// asks for it, so breaking out leaves the rest queued.
func ExampleSubscription_All() {
	bus, err := charter.NewBus()
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Close()
	sub, err := bus.Subscribe("jobs")
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	for _, job := range []string{"a", "b", "c"} {
		if _, err := bus.Publish("jobs", []byte(job)); err != nil {
			log.Fatal(err)
		}
	}

	for msg, err := range sub.All(context.Background()) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s\n", msg.Payload)
		if string(msg.Payload) == "b" {
			break
		}
	}
	left, _, _ := sub.TryRecv()
	fmt.Printf("still queued: %s\n", left.Payload)
	// Output:
	// a
	// b
	// still queued: c
}

// A token and a public key are JSON strings; an I/O failure matches both
// ErrIO and the operating system's error.
func ExampleToken_MarshalText() {
	root, err := charter.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	defer root.Close()
	tok, err := charter.Mint(root, root.PublicKey(), []string{"publish a.>"}, time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	defer tok.Close()

	out, err := json.Marshal(struct {
		Token *charter.Token    `json:"token"`
		Root  charter.PublicKey `json:"root"`
	}{tok, tok.RootKey()})
	if err != nil {
		log.Fatal(err)
	}
	var back struct {
		Token *charter.Token    `json:"token"`
		Root  charter.PublicKey `json:"root"`
	}
	if err := json.Unmarshal(out, &back); err != nil {
		log.Fatal(err)
	}
	defer back.Token.Close()
	fmt.Println(back.Token.Text() == tok.Text(), back.Root == root.PublicKey(), back.Token.LinkCount())

	dir, err := os.MkdirTemp("", "charter-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	_, err = charter.OpenAudit(filepath.Join(dir, "missing", "audit.log"))
	fmt.Println(errors.Is(err, charter.ErrIO), errors.Is(err, fs.ErrNotExist))
	// Output:
	// true true 1
	// true true
}
