package notify

// keys names the pipeline's Redis keys. Keys used together in one command
// or script share the {notify} hash tag, so they live in one Redis Cluster
// slot.
type keys struct {
	stream string // notification work relayed from the outbox
	dead   string // dead-letter stream
	wake   string // sorted set: when the dispatcher next has push work
}

// consumerGroup is the stream's consumer group; every instance joins it and
// they share the work.
const consumerGroup = "notify"

func newKeys(prefix string) keys {
	return keys{
		stream: prefix + "{notify}:stream",
		dead:   prefix + "{notify}:dead",
		wake:   prefix + "{notify}:wake",
	}
}
