package kind

import (
	"context"
	"fmt"
)

// ValueType is the type of one argument value as the caller gave it. Its
// numbers are those of enum gogo_arg_type of the C ABI.
type ValueType int32

// The argument value types.
const (
	ValueNone   ValueType = 0 // no value (None): the parameter's default applies
	ValueStr    ValueType = 1 // UTF-8 text, in Bytes
	ValueBytes  ValueType = 2 // bytes, in Bytes
	ValueInt    ValueType = 3 // Int
	ValueFloat  ValueType = 4 // Float
	ValueBool   ValueType = 5 // Int: 0 or 1
	ValueList   ValueType = 6 // Items, their names unused
	ValueMap    ValueType = 7 // Items, each named by its key
	ValueStream ValueType = 8 // Stream
)

// String names the type in neutral words.
func (t ValueType) String() string {
	switch t {
	case ValueNone:
		return "none"
	case ValueStr:
		return "string"
	case ValueBytes:
		return "bytes"
	case ValueInt:
		return "int"
	case ValueFloat:
		return "float"
	case ValueBool:
		return "bool"
	case ValueList:
		return "list"
	case ValueMap:
		return "map"
	case ValueStream:
		return "channel"
	}
	return fmt.Sprintf("type %d", int32(t))
}

// Value is one argument value. The engine decodes the caller's arguments
// into Values; a kind reads them through Args. Name is set for named
// arguments and map entries. Bytes and Items are the kind's to keep, but the
// Name of a top-level argument may alias the caller's memory: copy it
// (strings.Clone) to keep it past Prepare.
type Value struct {
	Name   string
	Type   ValueType
	Int    int64
	Float  float64
	Bytes  []byte
	Items  []Value
	Stream Stream
}

// Stream is a channel that a task sends items to as it goes (lines of a
// program's output, chunks of a download), for the caller to receive while
// the task runs. A kind takes one as a Channel parameter (Args.Stream).
type Stream interface {
	// Send waits until the item is taken or buffered. It fails when the
	// stream is closed or ctx is done (pass the task's context: a cancelled
	// task then stops sending).
	Send(ctx context.Context, item Item) error
	// Close closes the stream: receivers get what was sent, then the end.
	// The engine closes a task's streams when the task ends, whatever the
	// outcome, and also when it is cancelled before its work started; a
	// kind may close one sooner. Closing twice is fine.
	Close()
}

// Item is one value sent to a Stream: bytes, and whether they are text (a
// Python str) so that they come out as text.
type Item struct {
	Data []byte
	Text bool
}
