package kind

// Limits on arguments, shared by every kind. The C ABI reports them in
// gogo_info, which is where the C++ and Python layers read them.
const (
	// MaxArgs is the most arguments one task takes.
	MaxArgs = 64
	// MaxValueDepth bounds the nesting of list and map arguments.
	MaxValueDepth = 8
	// MaxSeconds bounds every duration (a timeout, a sleep): 100 years.
	// Anything larger does not fit a time.Duration comfortably and is
	// certainly a mistake.
	MaxSeconds = 100 * 365 * 24 * 3600
)
