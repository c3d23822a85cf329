package charter_test

import (
	"errors"
	"fmt"
	"log"
	"time"

	"charter.dev/charter"
)

// A root key grants a service the right to publish order events; an
// authority trusting the root opens a session for the service once it has
// proved it holds the token's key, and an enforcing bus checks every call
// against the session's grants, until the token is revoked.
func Example_capabilities() {
	root, err := charter.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	defer root.Close()
	service, err := charter.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	defer service.Close()
	rootKey := root.PublicKey()
	serviceKey := service.PublicKey()

	now := time.Now()
	token, err := charter.Mint(root, serviceKey,
		[]string{"publish orders.*.created", "subscribe orders.>"}, now, now.Add(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	defer token.Close()

	auth, err := charter.NewAuthority([]charter.PublicKey{rootKey})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	// The service signs a fresh challenge: a copied token alone is useless.
	challenge, _ := auth.Challenge()
	proof, _ := token.Prove(service, challenge)
	session, err := auth.OpenSession(token, challenge, proof)
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()

	bus, err := charter.NewBusWithAuthority(auth)
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Close()
	client := bus.Client(session)
	_, err = client.SubscribeFunc("orders.>", func(m *charter.Message) error {
		fmt.Printf("got %s on %s\n", m.Payload, m.Topic)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}

	_, err = client.Publish("orders.eu.created", []byte("o-17"))
	fmt.Println("created:", err)
	_, err = client.Publish("orders.eu.deleted", []byte("o-17"))
	fmt.Println("deleted denied:", errors.Is(err, charter.ErrDenied))
	_, err = bus.Publish("orders.eu.created", nil)
	fmt.Println("no session denied:", errors.Is(err, charter.ErrDenied))

	link, _ := token.LinkID(0)
	if _, err := auth.Revoke(link); err != nil {
		log.Fatal(err)
	}
	_, err = client.Publish("orders.eu.created", nil)
	fmt.Println("after revocation:", errors.Is(err, charter.ErrRevoked))
	stats, _ := bus.Stats()
	fmt.Println("denied:", stats.Denied)
	// Output:
	// got o-17 on orders.eu.created
	// created: <nil>
	// deleted denied: true
	// no session denied: true
	// after revocation: true
	// denied: 3
}
