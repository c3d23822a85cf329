package charter

import "context"

// Client is a [Bus] as seen by the holder of a [Session]: its Publish,
// Subscribe, SubscribeFunc and Request are those of the Bus, checked
// against the session's grants, on any bus (a bus made with
// [NewBusWithAuthority] accepts no other calls). A call the grants do not
// cover fails with [ErrDenied]; one made after the session expired or was
// revoked, with [ErrExpired] or [ErrRevoked]. The subscriptions a Client
// opens end when its session expires or is revoked.
//
// Responding to a request needs no grant, but on a bus with an authority it
// needs a live session: answer with [Client.Respond]. The core decides
// every rule; a subscription made through a Client can be received from,
// inspected and closed only by the holder of the same session. A Client
// needs no Close (the bus keeps one C client per session until its own
// Close); it fails with [ErrClosed] once its bus or its session is closed.
type Client struct {
	bus     *Bus
	session *Session
}

// Client returns a Client that acts on b for the holder of s: the session's
// view of the bus, named as in every other language.
func (b *Bus) Client(s *Session) *Client {
	return &Client{bus: b, session: s}
}

// WithSession is the former name of [Bus.Client].
//
// Deprecated: use [Bus.Client], the name the other languages use.
func (b *Bus) WithSession(s *Session) *Client {
	return b.Client(s)
}

// Session returns the session the Client acts for.
func (c *Client) Session() *Session {
	if c == nil {
		return nil
	}
	return c.session
}

// Publish is [Bus.Publish] for the session's holder; it needs a grant
// "publish P" with P matching topic.
func (c *Client) Publish(topic string, payload []byte, headers ...Header) (PublishReport, error) {
	s, err := c.holder()
	if err != nil {
		return PublishReport{}, err
	}
	return c.bus.publish(s, topic, payload, headers)
}

// Subscribe is [Bus.Subscribe] for the session's holder; it needs a grant
// "subscribe P" with P containing pattern.
func (c *Client) Subscribe(pattern string, opts ...SubscribeOption) (*Subscription, error) {
	s, err := c.holder()
	if err != nil {
		return nil, err
	}
	return c.bus.subscribe(s, pattern, opts)
}

// SubscribeFunc is [Bus.SubscribeFunc] for the session's holder; it needs
// a grant "subscribe P" with P containing pattern.
func (c *Client) SubscribeFunc(pattern string, fn MessageFunc, opts ...SubscribeOption) (*Subscription, error) {
	s, err := c.holder()
	if err != nil {
		return nil, err
	}
	return c.bus.subscribeFunc(s, pattern, fn, opts)
}

// Request is [Bus.Request] for the session's holder; it needs a grant
// "request P" with P matching topic. The reply needs no grant.
func (c *Client) Request(ctx context.Context, topic string, payload []byte, headers ...Header) (*Message, error) {
	s, err := c.holder()
	if err != nil {
		return nil, err
	}
	return c.bus.request(ctx, s, topic, payload, headers)
}

// Respond is [Bus.Respond] for the session's holder.
func (c *Client) Respond(req *Message, payload []byte, headers ...Header) (PublishReport, error) {
	s, err := c.holder()
	if err != nil {
		return PublishReport{}, err
	}
	return c.bus.respond(s, req, payload, headers)
}

// holder returns the session, which must not be nil: a nil session would
// make the Client's calls the Bus's own.
func (c *Client) holder() (*Session, error) {
	if c == nil {
		return nil, nilArgument("client")
	}
	if c.session == nil {
		return nil, nilArgument("session")
	}
	return c.session, nil
}
