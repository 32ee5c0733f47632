package pushsink

func (s *Sink) routeXiaomi() {}
