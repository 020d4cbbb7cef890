package engine

// gcBallast raises the Go heap's garbage-collection goal without using
// memory. The GC runs when the heap reaches twice its live size, and never
// below 4 MB: an embedded runtime whose live heap is a few MB (results handed
// to Python as soon as they are ready) would otherwise collect every 4 MB of
// allocation, hundreds of times a second in an HTTP fan-out. These bytes
// count as live heap, so collections come every ~ballast bytes instead; they
// are never written, so the kernel never backs them with pages (no RSS), and
// they hold no pointers, so marking skips them.
var gcBallast = make([]byte, ballastSize)

const ballastSize = 16 << 20
