package bff

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestETagMatchesIfNoneMatchLists(t *testing.T) {
	const tag = `"7.20261125"`
	cases := []struct {
		header string
		want   bool
	}{
		{"", false},
		{tag, true},
		{"*", true},
		{" * ", true},
		{`W/` + tag, true},
		{`"6.20261125"`, false},
		{`"6.20261125",` + tag, true},
		{`"6.20261125" ,	W/` + tag + ` , "8.1"`, true},
		{`"6.20261125", "8.1"`, false},
		{`,,`, false},
		{`W/`, false},
		{`"7.20261125`, false},
		{`*, "1.2"`, false}, // "*" only on its own
	}
	for _, c := range cases {
		if got := etagMatches(c.header, tag); got != c.want {
			t.Errorf("etagMatches(%q) = %v, want %v", c.header, got, c.want)
		}
	}
	if etagMatches(`""`, "") || etagMatches(",", "") {
		t.Error("an empty tag matched")
	}
}

func TestValidProjectIDIsTheContractsShape(t *testing.T) {
	long := make([]byte, 65)
	for i := range long {
		long[i] = 'A'
	}
	for id, want := range map[string]bool{
		"WF-DEMO-CIVIL":   true,
		"a":               true,
		"0-9-az-AZ":       true,
		string(long[:64]): true,
		string(long):      false,
		"":                false,
		"WF_DEMO":         false,
		"WF DEMO":         false,
		"WF/DEMO":         false,
		"项目":              false,
		"WF-DEMO-CIVIL\n": false,
		"..":              false,
	} {
		if got := validProjectID(id); got != want {
			t.Errorf("validProjectID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestDeadlineContextBehavesAsWithDeadline(t *testing.T) {
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "v")

	t.Run("never waited on", func(t *testing.T) {
		at := time.Now().Add(time.Hour)
		d := &deadlineContext{Context: parent, deadline: at}
		if got, ok := d.Deadline(); !ok || !got.Equal(at) {
			t.Fatalf("Deadline() = %v, %v", got, ok)
		}
		if d.Value(key{}) != "v" {
			t.Fatal("the parent's values are lost")
		}
		if d.cancel != nil || d.inner != nil {
			t.Fatal("a timer was made before anything waited")
		}
		d.stop()
		select {
		case <-d.Done():
		default:
			t.Fatal("Done is open after the request ended")
		}
		if !errors.Is(d.Err(), context.Canceled) {
			t.Fatalf("Err() = %v after the request ended", d.Err())
		}
	})

	t.Run("waited on, the deadline passes", func(t *testing.T) {
		d := &deadlineContext{Context: parent, deadline: time.Now().Add(20 * time.Millisecond)}
		defer d.stop()
		child, cancel := context.WithTimeout(d, time.Hour) // asks for Done
		defer cancel()
		if d.Err() != nil {
			t.Fatalf("Err() = %v before the deadline", d.Err())
		}
		select {
		case <-child.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the deadline never reached a derived context")
		}
		if !errors.Is(d.Err(), context.DeadlineExceeded) || !errors.Is(child.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err() = %v, child %v", d.Err(), child.Err())
		}
	})

	t.Run("the parent is canceled", func(t *testing.T) {
		p, cancel := context.WithCancel(parent)
		d := &deadlineContext{Context: p, deadline: time.Now().Add(time.Hour)}
		defer d.stop()
		done := d.Done()
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the parent's cancel did not reach it")
		}
		if !errors.Is(d.Err(), context.Canceled) {
			t.Fatalf("Err() = %v", d.Err())
		}
	})

	t.Run("an earlier parent deadline wins", func(t *testing.T) {
		early := time.Now().Add(time.Minute)
		p, cancel := context.WithDeadline(parent, early)
		defer cancel()
		d := &deadlineContext{Context: p, deadline: time.Now().Add(time.Hour)}
		defer d.stop()
		if got, _ := d.Deadline(); !got.Equal(early) {
			t.Fatalf("Deadline() = %v, want the parent's %v", got, early)
		}
	})

	t.Run("AfterFunc and Cause", func(t *testing.T) {
		d := &deadlineContext{Context: parent, deadline: time.Now().Add(20 * time.Millisecond)}
		defer d.stop()
		called := make(chan struct{})
		context.AfterFunc(d, func() { close(called) })
		select {
		case <-called:
		case <-time.After(10 * time.Second):
			t.Fatal("AfterFunc's function never ran")
		}
		if !errors.Is(context.Cause(d), context.DeadlineExceeded) {
			t.Fatalf("Cause = %v, want the deadline", context.Cause(d))
		}

		ended := &deadlineContext{Context: parent, deadline: time.Now().Add(time.Hour)}
		ended.stop()
		late := make(chan struct{})
		context.AfterFunc(ended, func() { close(late) })
		select {
		case <-late:
		case <-time.After(10 * time.Second):
			t.Fatal("AfterFunc on an ended request never ran")
		}
	})

	t.Run("derived contexts need no goroutine", func(t *testing.T) {
		d := &deadlineContext{Context: parent, deadline: time.Now().Add(time.Hour)}
		defer d.stop()
		before := runtime.NumGoroutine()
		var cancels []context.CancelFunc
		for range 200 {
			_, cancel := context.WithCancel(d)
			cancels = append(cancels, cancel)
			context.AfterFunc(d, func() {})
		}
		// A context the package does not know is watched by one goroutine
		// per child: 400 here.
		if grown := runtime.NumGoroutine() - before; grown > 50 {
			t.Fatalf("%d goroutines for 400 derived contexts", grown)
		}
		for _, c := range cancels {
			c()
		}
	})

	t.Run("waiters racing the end of the request", func(t *testing.T) {
		for range 100 {
			d := &deadlineContext{Context: parent, deadline: time.Now().Add(time.Hour)}
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-d.Done() // closed by stop, whichever came first
				}()
			}
			d.stop()
			wg.Wait()
		}
	})
}
