package pushsink

func (s *Sink) routeHonor() {}
