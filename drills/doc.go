// Package drills holds the reliability and security drills: automated tests
// that start the real binaries (bin/bff, bin/fcmsink) as processes against
// the real PostgreSQL and Redis, break something on purpose — kill the BFF,
// lose Redis, cut the database, make FCM fail, attack the API — and count
// what arrived at the FCM sink and what is in the database.
//
// They are slow (minutes) and need the real services, so `make test` only
// compiles them; `make drills` (ZSB_DRILLS=1) runs them, and CI runs that
// after `make test`.
package drills
