package charter

import (
	"context"
	"errors"
	"iter"
)

// All returns an iterator over the subscription's messages, for use with
// range: each step is one [Subscription.Recv], so a message is taken only
// when the loop asks for it, and breaking out of the loop leaves every
// later message queued for the next receive. The sequence ends, with no
// error, once the subscription has been closed (by Close or its bus's
// Close); any other failure, such as ctx's error or the end of the
// session ([ErrExpired], [ErrRevoked]), comes as the last pair, with a nil
// message.
func (s *Subscription) All(ctx context.Context) iter.Seq2[*Message, error] {
	return func(yield func(*Message, error) bool) {
		for {
			m, err := s.Recv(ctx)
			if errors.Is(err, ErrClosed) {
				return
			}
			if !yield(m, err) || err != nil {
				return
			}
		}
	}
}
