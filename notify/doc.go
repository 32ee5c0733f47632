// Package notify is the push pipeline: it turns outbox entries into inbox
// rows and pushes, respecting each user's preferences, and delivers them
// once each through the push providers.
//
// One event, in order: a writer (notify/intake for the upstream webhook,
// notify/tasks for help-agent work) commits a notify/outbox entry with its
// change; the relay (or the intake's own hand-off) publishes the entry's id
// to a Redis stream; a stream reader claims the entry and, in one
// transaction, writes each recipient's inbox row and, where the recipient's
// preferences allow a push now or later, a push job; the dispatcher plans
// each due job into one delivery per active device, leases the deliveries
// and sends them through a notify/push Sender, recording each outcome. One
// shortcut skips the dispatcher for pushes due at once (Pipeline.sendStraight).
//
// Several instances may run the pipeline at once: the stream's consumer
// group, SKIP LOCKED leases and unique keys make every entry, notice and
// delivery happen once, and anything a dead instance held is taken over.
package notify
