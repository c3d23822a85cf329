// Package charter is the Go binding of Charter: a handler registry (and,
// in later stages, a pub/sub bus, capabilities and an audit log) provided
// by the Rust library libcharter through its C ABI.
//
// # Objects and Close
//
// Every object that wraps a Charter handle, such as [Registry], has a Close
// method. Close is idempotent: the first call frees the handle and a second
// call returns nil. Any other method called after Close returns an error
// matching [ErrClosed]. An object that becomes unreachable without being
// closed is freed by a cleanup ([runtime.AddCleanup]) as a backstop, but
// programs should call Close: the garbage collector does not know how much
// memory or how many callbacks a handle holds.
//
// # Errors
//
// Every error returned by Charter is a [*Error] carrying the C status code
// and the message of the failing call. Match errors with [errors.Is] and the
// sentinels, one per status: errors.Is(err, charter.ErrLimitExceeded).
//
// # Concurrency
//
// All methods are safe for concurrent use. Handlers run on the goroutine
// that calls Notify, with no Charter lock held, so a handler may call any
// method, on the same registry too (including Close).
package charter
