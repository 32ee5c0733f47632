package push

// MaxBatch asks s how many pushes for provider it takes together, for a
// caller (the pipeline) that sizes its Send calls per provider: the
// vendor's documented most for one request (1,000 device tokens of one
// notice at Huawei, HarmonyOS, Honor, Xiaomi and vivo, 1,000 messages at
// OPPO), 500 for FCM (one SendEach call), the requests kept in flight for
// APNs (one device a request). A Send may be given any number: more than
// that for one notice is cut into requests of at most that many, so the
// fewest requests come from giving Send one notice's messages for a
// provider in multiples of it. The answer comes from s's method
//
//	MaxBatch(provider string) int
//
// which a Router and every sender in this module have; 0 means s does not
// say (or does not serve provider), and the caller's own bound stands.
func MaxBatch(s Sender, provider string) int {
	if b, ok := s.(interface{ MaxBatch(provider string) int }); ok {
		return b.MaxBatch(provider)
	}
	return 0
}
