package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"gogoroutines.dev/go/kind"
)

// ErrChannelClosed is returned by a send on a closed channel, and by a
// receive on a closed channel with nothing left in it.
var ErrChannelClosed = errors.New("the channel is closed")

// Channel is a Go channel of kind.Items that callers and tasks share: a
// task's kind sends to it as a kind.Stream. Closing it does not close the
// Go channel (a blocked sender would panic); it closes a second channel
// that every send and receive also selects on.
type Channel struct {
	items  chan kind.Item
	closed chan struct{}
	once   sync.Once
	owner  *Runtime // closes it when it closes; nil: none
}

// NewChannel returns an open channel with no runtime; capacity 0 makes
// every send wait for a receiver, as in Go.
func NewChannel(capacity int) (*Channel, error) {
	if capacity < 0 || capacity > MaxChannelCapacity {
		return nil, fmt.Errorf("%w: capacity must be between 0 and %d, got %d",
			kind.ErrInvalidArgument, MaxChannelCapacity, capacity)
	}
	return &Channel{items: make(chan kind.Item, capacity), closed: make(chan struct{})}, nil
}

// NewChannel returns an open channel that the runtime closes when it
// closes, until Release.
func (rt *Runtime) NewChannel(capacity int) (*Channel, error) {
	c, err := NewChannel(capacity)
	if err != nil {
		return nil, err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, ErrClosed
	}
	if rt.channels == nil {
		rt.channels = map[*Channel]struct{}{}
	}
	rt.channels[c] = struct{}{}
	c.owner = rt
	return c, nil
}

// Release tells the channel's runtime that nobody but the tasks streaming
// into it holds it any more, so that the runtime stops keeping it.
func (c *Channel) Release() {
	if rt := c.owner; rt != nil {
		rt.mu.Lock()
		delete(rt.channels, c)
		rt.mu.Unlock()
	}
}

// Close closes the channel: later sends fail, receives drain what is left.
// Closing twice is fine.
func (c *Channel) Close() { c.once.Do(func() { close(c.closed) }) }

// Len returns how many items wait in the channel's buffer.
func (c *Channel) Len() int { return len(c.items) }

// Cap returns the channel's capacity.
func (c *Channel) Cap() int { return cap(c.items) }

func (c *Channel) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// Send waits until the item is taken or buffered, the channel is closed
// (ErrChannelClosed) or ctx is done: a task's kind.Stream.
func (c *Channel) Send(ctx context.Context, item kind.Item) error {
	return c.SendWithin(ctx, item, -1)
}

// SendWithin is Send, giving up with ErrTimeout after timeout (negative: no
// limit, zero: only if the item can go at once).
func (c *Channel) SendWithin(ctx context.Context, item kind.Item, timeout time.Duration) error {
	if c.isClosed() {
		return ErrChannelClosed
	}
	if err := ctx.Err(); err != nil {
		return err // a cancelled task sends nothing more
	}
	select {
	case c.items <- item:
		return nil
	default:
	}
	if timeout == 0 {
		return ErrTimeout
	}
	expired, stop := expiry(timeout)
	defer stop()
	select {
	case c.items <- item:
		return nil
	case <-c.closed:
		return ErrChannelClosed
	case <-ctx.Done():
		return ctx.Err()
	case <-expired:
		return ErrTimeout
	}
}

// Recv waits for an item like Send waits to send one. A closed channel
// gives what is left in it, then ErrChannelClosed.
func (c *Channel) Recv(timeout time.Duration) (kind.Item, error) {
	select {
	case item := <-c.items:
		return item, nil
	default:
	}
	if c.isClosed() {
		return c.drain()
	}
	if timeout == 0 {
		return kind.Item{}, ErrTimeout
	}
	expired, stop := expiry(timeout)
	defer stop()
	select {
	case item := <-c.items:
		return item, nil
	case <-c.closed:
		return c.drain()
	case <-expired:
		return kind.Item{}, ErrTimeout
	}
}

// drain takes what is left in a closed channel, or reports it closed.
func (c *Channel) drain() (kind.Item, error) {
	select {
	case item := <-c.items:
		return item, nil
	default:
		return kind.Item{}, ErrChannelClosed
	}
}

// Select receives from whichever of chans has an item first, waiting up to
// timeout. It returns the index of that channel and the item; for a channel
// that is closed and empty it returns its index and ErrChannelClosed.
func Select(chans []*Channel, timeout time.Duration) (int, kind.Item, error) {
	for i, c := range chans { // something ready already: no need to block
		select {
		case item := <-c.items:
			return i, item, nil
		default:
		}
	}
	for i, c := range chans {
		if c.isClosed() {
			item, err := c.drain()
			return i, item, err
		}
	}
	if timeout == 0 {
		return -1, kind.Item{}, ErrTimeout
	}
	cases := make([]reflect.SelectCase, 0, 2*len(chans)+1)
	for _, c := range chans {
		cases = append(cases,
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c.items)},
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c.closed)})
	}
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)})
	}
	chosen, value, _ := reflect.Select(cases)
	if chosen == 2*len(chans) {
		return -1, kind.Item{}, ErrTimeout
	}
	i := chosen / 2
	if chosen%2 == 0 {
		return i, value.Interface().(kind.Item), nil
	}
	item, err := chans[i].drain() // closed: items sent before the close come first
	return i, item, err
}

// expiry returns a channel that delivers once timeout has passed (never, for
// a negative timeout) and a function that releases its timer.
func expiry(timeout time.Duration) (<-chan time.Time, func()) {
	if timeout < 0 {
		return nil, func() {}
	}
	timer := time.NewTimer(timeout)
	return timer.C, func() { timer.Stop() }
}
