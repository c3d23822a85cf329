// Package charter is the Go binding of Charter: a handler registry, a topic
// bus, capabilities (keys, tokens, an authority that verifies them and
// opens sessions, and buses that enforce their grants) and a tamper-evident
// audit log of their decisions, provided by the Rust library libcharter
// through its C ABI.
//
// # Objects and Close
//
// Every object that wraps a Charter handle ([Registry], [Bus], [KeyPair],
// [Token], [Authority], [Session], [AuditLog]), and every [Subscription], has a Close
// method. Close is idempotent: the first call frees the handle (or ends
// the subscription) and a second call returns nil. Any other method called after Close returns an error matching
// [ErrClosed]. Such an object, or a pull Subscription, that becomes
// unreachable without being closed is released by a cleanup
// ([runtime.AddCleanup]) as a backstop, but programs should call Close: the
// garbage collector does not know how much memory or how many callbacks a
// handle holds.
//
// # Errors
//
// Every error returned by Charter is a [*Error] carrying the C status code
// and the message of the failing call. Match errors with [errors.Is] and the
// sentinels, one per status a Go caller can receive: errors.Is(err,
// charter.ErrLimitExceeded). An I/O failure also matches the operating
// system's error (errors.Is(err, fs.ErrNotExist)), and a wait that its
// context ended matches both [ErrCancelled] and the context's error.
//
// Simple properties ([KeyPair.PublicKey], [Token.Subject], [Session.Active],
// [Registry.Len], ...) return a value without an error: the zero value once
// the object is closed, or for a nil receiver.
//
// # Concurrency
//
// All methods are safe for concurrent use. Handlers run on the goroutine
// that calls Notify, and inline bus callbacks on the goroutine that calls
// Publish, with no Charter lock held, so they may call any method, on the
// same registry or bus too (including Close). Calls that wait, such as
// [Subscription.Recv] and [Bus.Request], take a [context.Context].
//
// # Waiting
//
// [Subscription.Recv], [Subscription.RecvMany], [Subscription.All],
// [Subscription.C] and [Bus.Request] wait in the Go
// runtime, not in a blocked C call: the goroutine parks on a channel that
// Charter signals, through a C waiter, when the subscription becomes
// readable (a message arrived, or it ended), and then receives. A waiting
// receiver costs a parked goroutine, no OS thread, so tens of thousands of
// subscriptions (up to a bus's 65,536) can wait at once. Cancelling the
// context ends a wait at once and takes nothing: the next message stays
// queued.
package charter
