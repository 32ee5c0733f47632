package pushsink

func (s *Sink) routeVivo() {}
