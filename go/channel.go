package main

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"time"
)

// maxChannelCapacity bounds a channel's buffer: Go allocates it whole, at
// creation (a million items take 32 MiB).
const maxChannelCapacity = 1 << 20

// ErrChannelClosed is returned by a send on a closed channel, and by a
// receive on a closed channel with nothing left in it.
var ErrChannelClosed = errors.New("the channel is closed")

// Item is one value sent through a Channel: bytes, and whether they were
// sent as text (a Python str) so that they come out the same way.
type Item struct {
	Data []byte
	Text bool
}

// Channel is a Go channel that Python and tasks share. Closing it does not
// close the Go channel (a blocked sender would panic); it closes a second
// channel that every send and receive also selects on.
type Channel struct {
	items  chan Item
	closed chan struct{}
	once   sync.Once
}

// NewChannel returns an open channel; capacity 0 makes every send wait for
// a receiver, as in Go.
func NewChannel(capacity int) *Channel {
	return &Channel{items: make(chan Item, capacity), closed: make(chan struct{})}
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
// (ErrChannelClosed), ctx is done, or timeout passes (negative: no limit,
// zero: only if it can go at once; ErrTimeout).
func (c *Channel) Send(ctx context.Context, item Item, timeout time.Duration) error {
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
func (c *Channel) Recv(timeout time.Duration) (Item, error) {
	select {
	case item := <-c.items:
		return item, nil
	default:
	}
	if c.isClosed() {
		return c.drain()
	}
	if timeout == 0 {
		return Item{}, ErrTimeout
	}
	expired, stop := expiry(timeout)
	defer stop()
	select {
	case item := <-c.items:
		return item, nil
	case <-c.closed:
		return c.drain()
	case <-expired:
		return Item{}, ErrTimeout
	}
}

// drain takes what is left in a closed channel, or reports it closed.
func (c *Channel) drain() (Item, error) {
	select {
	case item := <-c.items:
		return item, nil
	default:
		return Item{}, ErrChannelClosed
	}
}

// Select receives from whichever of chans has an item first, waiting up to
// timeout. It returns the index of that channel and the item; for a channel
// that is closed and empty it returns its index and ErrChannelClosed.
func Select(chans []*Channel, timeout time.Duration) (int, Item, error) {
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
		return -1, Item{}, ErrTimeout
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
		return -1, Item{}, ErrTimeout
	}
	i := chosen / 2
	if chosen%2 == 0 {
		return i, value.Interface().(Item), nil
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
