package sqldb

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The merger is exercised through both stores by the conformance suite;
// these tests cover what a database cannot be made to do on cue: a failing
// or panicking batch, and callers that go away.

func TestMergerAnswersEachCallWithItsOwnResult(t *testing.T) {
	var batches, keys atomic.Int64
	release := make(chan struct{})
	m := &merger[int, string]{run: func(_ context.Context, ks []int, out []string) error {
		if batches.Add(1) == 1 {
			<-release // hold the first batch so the others queue behind it
		}
		keys.Add(int64(len(ks)))
		for i, k := range ks {
			out[i] = strconv.Itoa(k)
		}
		return nil
	}}
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	call := func(k int) {
		defer wg.Done()
		got, err := m.do(context.Background(), k)
		if err != nil || got != strconv.Itoa(k) {
			errs <- errors.New("call " + strconv.Itoa(k) + " got " + got)
		}
	}
	wg.Add(1)
	go call(0)
	waitFor(t, func() bool { return batches.Load() == 1 })
	for k := 1; k < 50; k++ {
		wg.Add(1)
		go call(k)
	}
	waitFor(t, func() bool { m.mu.Lock(); defer m.mu.Unlock(); return len(m.pending) == 49 })
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if b, k := batches.Load(), keys.Load(); b != 2 || k != 50 {
		t.Fatalf("%d keys in %d batches, want 50 in 2 (the 49 that waited merged)", k, b)
	}
}

func TestMergerFailureAndPanicStayInTheirBatch(t *testing.T) {
	var n atomic.Int64
	m := &merger[int, int]{run: func(_ context.Context, ks []int, out []int) error {
		switch n.Add(1) {
		case 1:
			return errors.New("boom")
		case 2:
			panic("bad row")
		}
		copy(out, ks)
		return nil
	}}
	ctx := context.Background()
	if _, err := m.do(ctx, 1); err == nil || err.Error() != "boom" {
		t.Fatalf("failing batch: %v", err)
	}
	if _, err := m.do(ctx, 2); err == nil {
		t.Fatal("panicking batch: no error")
	}
	if got, err := m.do(ctx, 3); err != nil || got != 3 {
		t.Fatalf("after a failure and a panic: %d, %v", got, err)
	}
}

func TestMergerCallerGoingAwayFailsOnlyItself(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	m := &merger[int, int]{run: func(ctx context.Context, ks []int, out []int) error {
		if ctx.Err() != nil {
			return ctx.Err() // the leader's cancellation must not reach the batch
		}
		if len(ks) == 1 && ks[0] == 1 {
			close(started)
			<-release
		}
		copy(out, ks)
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	leader := make(chan error, 1)
	go func() { _, err := m.do(ctx, 1); leader <- err }()
	<-started
	follower := make(chan error, 1)
	go func() {
		got, err := m.do(context.Background(), 2)
		if err == nil && got != 2 {
			err = errors.New("wrong result")
		}
		follower <- err
	}()
	waitFor(t, func() bool { m.mu.Lock(); defer m.mu.Unlock(); return len(m.pending) == 1 })
	cancel()
	close(release)
	if err := <-follower; err != nil {
		t.Fatalf("follower: %v", err)
	}
	<-leader // either its result or its own cancellation
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestMergerLeaderReturnsAfterItsOwnBatch(t *testing.T) {
	// Under steady load there is always a next batch; the caller that ran
	// the first must not be kept running the others.
	firstHeld, second := make(chan struct{}), make(chan struct{})
	releaseFirst, releaseSecond := make(chan struct{}), make(chan struct{})
	m := &merger[int, int]{run: func(_ context.Context, ks []int, out []int) error {
		switch ks[0] {
		case 1:
			close(firstHeld)
			<-releaseFirst
		case 2:
			close(second)
			<-releaseSecond
		}
		copy(out, ks)
		return nil
	}}
	leader := make(chan error, 1)
	go func() { _, err := m.do(context.Background(), 1); leader <- err }()
	<-firstHeld
	follower := make(chan error, 1)
	go func() { _, err := m.do(context.Background(), 2); follower <- err }()
	waitFor(t, func() bool { m.mu.Lock(); defer m.mu.Unlock(); return len(m.pending) == 1 })
	close(releaseFirst)
	<-second
	select {
	case err := <-leader:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first caller is still running the next batch")
	}
	close(releaseSecond)
	if err := <-follower; err != nil {
		t.Fatal(err)
	}
}

func TestMergerBoundsAHungStatement(t *testing.T) {
	var n atomic.Int64
	m := &merger[int, int]{timeout: 50 * time.Millisecond, run: func(ctx context.Context, ks []int, out []int) error {
		if n.Add(1) == 1 {
			<-ctx.Done() // a statement stuck on a dead connection
			return ctx.Err()
		}
		copy(out, ks)
		return nil
	}}
	ctx := context.Background() // the caller itself never gives up
	if _, err := m.do(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung batch: %v", err)
	}
	if got, err := m.do(ctx, 2); err != nil || got != 2 {
		t.Fatalf("after a hung batch: %d, %v", got, err)
	}
}
