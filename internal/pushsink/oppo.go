package pushsink

func (s *Sink) routeOPPO() {}
