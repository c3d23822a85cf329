package charter_test

import (
	"errors"
	"fmt"
	"log"

	"charter.dev/charter"
)

// Example is the Go quickstart of the repository's README.md; a test checks
// that the two stay identical.
func Example() {
	reg, err := charter.NewRegistry()
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	// Higher priorities fire first; a failing handler never stops the rest.
	_, err = reg.Register(func(event []byte) error {
		fmt.Printf("audit: %s\n", event)
		return nil
	}, charter.WithPriority(10))
	if err != nil {
		log.Fatal(err)
	}
	_, err = reg.Register(func(event []byte) error {
		return errors.New("cache offline")
	})
	if err != nil {
		log.Fatal(err)
	}

	report, err := reg.Notify([]byte("config reloaded"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("delivered=%d failed=%d\n", report.Delivered, report.Failed)
	// Output:
	// audit: config reloaded
	// delivered=1 failed=1
}

func ExampleRegistry_Unregister() {
	reg, err := charter.NewRegistry()
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	// A one-shot handler: it unregisters itself on its first event.
	var id charter.HandlerID
	id, err = reg.Register(func(event []byte) error {
		fmt.Printf("once: %s\n", event)
		_, err := reg.Unregister(id)
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, event := range []string{"first", "second"} {
		report, err := reg.Notify([]byte(event))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: delivered=%d\n", event, report.Delivered)
	}
	// Output:
	// once: first
	// first: delivered=1
	// second: delivered=0
}

func ExampleError() {
	_, err := charter.NewRegistry(charter.WithMaxDepth(100))
	fmt.Println(err)
	fmt.Println(errors.Is(err, charter.ErrInvalidArgument))

	var cerr *charter.Error
	if errors.As(err, &cerr) {
		fmt.Println(cerr.Code, int32(cerr.Code))
	}
	// Output:
	// charter: CHARTER_E_INVALID_ARGUMENT: max_depth must be between 1 and 64, got 100
	// true
	// CHARTER_E_INVALID_ARGUMENT -2
}

func ExampleRegistry_Close() {
	reg, err := charter.NewRegistry()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(reg.Close())
	fmt.Println(reg.Close())

	_, err = reg.Notify([]byte("late"))
	fmt.Println(errors.Is(err, charter.ErrClosed), err)
	// Output:
	// <nil>
	// <nil>
	// true charter: CHARTER_E_CLOSED: registry is closed
}
