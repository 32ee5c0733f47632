package notify

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the pipeline's Prometheus series.
type Metrics struct {
	pushes        *prometheus.CounterVec
	deadLetters   prometheus.Counter
	streamLen     prometheus.Gauge
	streamPend    prometheus.Gauge
	pushLatency   prometheus.Histogram
	outboxBacklog prometheus.Gauge
	handoffs      *prometheus.CounterVec
	// outboxDead counts outbox entries that are dead letters, from the
	// database (every instance reports the same number).
	outboxDead prometheus.Gauge
	dueToSent  prometheus.Histogram
	withheld   *prometheus.CounterVec
	fenced     prometheus.Counter
}

// NewMetrics registers the pipeline's series on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zsb_pushes_total", Help: "Push sends by outcome (sent, retry, failed, deactivate).",
		}, []string{"outcome"}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zsb_notify_dead_letters_total", Help: "Notification work moved to the dead-letter stream.",
		}),
		streamLen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zsb_notify_stream_length", Help: "Entries in the notification stream.",
		}),
		streamPend: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zsb_notify_stream_pending", Help: "Entries delivered to a consumer and not yet acknowledged.",
		}),
		outboxBacklog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zsb_notify_outbox_unprocessed", Help: "Outbox rows not yet processed.",
		}),
		handoffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zsb_notify_reader_handoffs_total",
			Help: "Stream entries a reader turned into pushes due now, by who sends them: a sender reserved beforehand, or the dispatcher when no sender was free.",
		}, []string{"to"}),
		pushLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "zsb_event_to_push_seconds",
			Help:    "From an upstream event's receipt to the push provider accepting the push.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300, 3600, 43200},
		}),
	}
	for _, c := range []prometheus.Collector{m.pushes, m.deadLetters, m.streamLen, m.streamPend, m.pushLatency, m.outboxBacklog, m.handoffs} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.outboxDead = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "zsb_outbox_dead_letters",
		Help: "Outbox entries that used up their relays unprocessed and have not been re-driven (bff outbox list / redrive).",
	})
	if err := reg.Register(m.outboxDead); err != nil {
		return nil, err
	}
	m.dueToSent = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "zsb_push_due_to_sent_seconds",
		Help: "From the moment a push was due (after quiet hours, a digest window or a retry wait) to the push provider accepting it.",
		// The alert (scripts/alerts) reads the p95 against 30 s.
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900},
	})
	m.withheld = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "zsb_pushes_withheld_total",
		Help: "Pushes not sent because the user's preferences no longer allowed them when they were due, by reason (project_muted, category_disabled, push_disabled).",
	}, []string{"reason"})
	m.fenced = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "zsb_push_records_fenced_total",
		Help: "Push outcomes not recorded because their delivery's lease had been taken over by another attempt (a send that outlived its lease).",
	})
	for _, c := range []prometheus.Collector{m.dueToSent, m.withheld, m.fenced} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
