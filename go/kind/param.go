package kind

import (
	"encoding/json"
	"fmt"
)

// Param documents and types one argument of a kind.
type Param struct {
	// Name is the argument's name (a keyword argument in Python).
	Name string
	// Type is what values the argument takes; others are refused at spawn.
	Type Type
	// Default is the value a getter returns when the argument is absent (or
	// None): an int for Int, a float64 or int for Number, a string for String
	// and Data, a bool for Bool. nil: the type's zero value. It is written
	// here only, never again at the getter.
	Default any
	// Required makes the spawn fail when the argument is absent (or None).
	Required bool
	// Doc is a short phrase for `python -m gogoroutines`.
	Doc string
}

// Type is the type of a parameter: which argument values it accepts.
type Type int

// The parameter types, and the Args getter that reads each.
const (
	// String is UTF-8 text (a Python str): Args.Str.
	String Type = iota + 1
	// Data is text or bytes, read as bytes: Args.Data.
	Data
	// Int is an integer: Args.Int, Args.IntIn.
	Int
	// Number is an integer or a float: Args.Float, Args.Seconds.
	Number
	// Bool is true or false: Args.Bool.
	Bool
	// StringList is a list of strings: Args.StrList.
	StringList
	// StringMap is a map of string to string: Args.StrMap.
	StringMap
	// Channel is a channel to stream to: Args.Stream.
	Channel
	// Any is any value, read with Args.Value.
	Any
)

var typeNames = map[Type]string{
	String: "string", Data: "string or bytes", Int: "int", Number: "number", Bool: "bool",
	StringList: "list of strings", StringMap: "map of string to string", Channel: "channel",
	Any: "any",
}

// String names the type in neutral words (callers add their language's).
func (t Type) String() string {
	if name, ok := typeNames[t]; ok {
		return name
	}
	return fmt.Sprintf("type %d", int(t))
}

// phrase is the type with its article, as messages say what a value must be.
func (t Type) phrase() string {
	if t == Int {
		return "an int"
	}
	return "a " + t.String()
}

// accepts reports whether a value of type v may be given for the type.
func (t Type) accepts(v ValueType) bool {
	switch t {
	case String:
		return v == ValueStr
	case Data:
		return v == ValueStr || v == ValueBytes
	case Int:
		return v == ValueInt
	case Number:
		return v == ValueInt || v == ValueFloat
	case Bool:
		return v == ValueBool
	case StringList:
		return v == ValueList
	case StringMap:
		return v == ValueMap
	case Channel:
		return v == ValueStream
	case Any:
		return true
	}
	return false
}

// MarshalJSON writes a parameter as `python -m gogoroutines` lists it.
func (p Param) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		Default  any    `json:"default"`
		Required bool   `json:"required"`
		Doc      string `json:"doc"`
	}{p.Name, p.Type.String(), p.Default, p.Required, p.Doc})
}

// checkDefault tells whether a Param's Default suits its Type.
func (p Param) checkDefault() error {
	if p.Default == nil {
		return nil
	}
	ok := false
	switch p.Default.(type) {
	case int, int64:
		ok = p.Type == Int || p.Type == Number
	case float64:
		ok = p.Type == Number
	case string:
		ok = p.Type == String || p.Type == Data
	case bool:
		ok = p.Type == Bool
	}
	if !ok {
		return fmt.Errorf("parameter '%s' of type %s has a default of Go type %T", p.Name, p.Type, p.Default)
	}
	if p.Required {
		return fmt.Errorf("parameter '%s' is required and has a default", p.Name)
	}
	return nil
}
