package engine

// Limits of the engine. The C ABI reports them in gogo_info, which is where
// the C++ and Python layers read them: each is written here only.
const (
	// MaxRuntimeConcurrency bounds a runtime's max_concurrency.
	MaxRuntimeConcurrency = 1<<31 - 1
	// MaxLaneConcurrency bounds a lane's concurrency (a map's): a lane keeps
	// a slot per running item.
	MaxLaneConcurrency = 1 << 20
	// MaxChannelCapacity bounds a channel's buffer: Go allocates it whole,
	// at creation (a million items take 32 MiB).
	MaxChannelCapacity = 1 << 20
)
