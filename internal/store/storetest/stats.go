package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// testStatsAndSearch checks the statistics queries against the same
// figures computed one incident at a time in Go (nearest-rank
// percentiles), for an admin, a member of the restricted incidents and a
// non-member, with exercises left out; and that the ranked incident
// search ranks, pages and keeps restricted incidents from non-members.
func testStatsAndSearch(t *testing.T, st *store.Store) {
	ctx := context.Background()
	member := newUser(t, st, "stats-member", core.RoleAnalyst)
	outsider := newUser(t, st, "stats-outsider", core.RoleAnalyst)
	var restricted []int64
	var incs []*core.Incident
	for i := range 41 {
		inc := &core.Incident{Title: fmt.Sprintf("stats %d", i), Severity: core.Severities[i%4],
			Category: core.Categories[i%5], Phase: core.Phases[i%len(core.Phases)], CauseClass: core.CauseClasses[i%len(core.CauseClasses)],
			Restricted: i%7 == 0, Exercise: i%9 == 0, Description: "ordinary text"}
		if i%3 == 0 {
			inc.Description = "ransomware ransomware ransomware note found"
		} else if i%3 == 1 {
			inc.Description = "one ransomware mention among many other words in a long description of the event"
		}
		inc.CreatedAt = base.Add(time.Duration(i) * 24 * time.Hour)
		occurred := inc.CreatedAt.Add(-time.Duration(i*i%17) * time.Hour)
		detected := inc.CreatedAt
		inc.Facts.OccurredAt, inc.Timestamps.DetectedAt = &occurred, &detected
		if i%2 == 0 {
			acked := inc.CreatedAt.Add(time.Duration(i%13) * time.Minute)
			inc.Timestamps.AcknowledgedAt = &acked
		}
		if i%4 != 3 {
			contained := detected.Add(time.Duration(i*7%23) * time.Hour)
			recovered := contained.Add(time.Duration(i%5) * time.Hour)
			inc.Timestamps.ContainedAt, inc.Timestamps.RecoveredAt = &contained, &recovered
		}
		if err := inc.Normalize(); err != nil {
			t.Fatal(err)
		}
		inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return create(ctx, tx, inc) })
		if inc.Restricted {
			restricted = append(restricted, inc.ID)
		}
		incs = append(incs, inc)
	}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		for _, id := range restricted {
			if _, err := tx.AddMember(ctx, id, member.ID); err != nil {
				return err
			}
		}
		return nil
	})
	from, to := base.Add(5*24*time.Hour), base.Add(35*24*time.Hour)
	for _, sc := range []struct {
		name     string
		scope    store.Scope
		from, to *time.Time
	}{
		{"all", store.Scope{All: true}, nil, nil},
		{"member", store.Scope{UserID: member.ID}, nil, nil},
		{"outsider", store.Scope{UserID: outsider.ID}, nil, nil},
		{"outsider-window", store.Scope{UserID: outsider.ID}, &from, &to},
	} {
		t.Run(sc.name, func(t *testing.T) {
			wantCounts := map[store.StatCount]int64{}
			spans := map[string][]time.Duration{}
			for _, inc := range incs {
				if inc.Exercise || (inc.Restricted && sc.scope.UserID == outsider.ID) ||
					(sc.from != nil && inc.CreatedAt.Before(*sc.from)) || (sc.to != nil && !inc.CreatedAt.Before(*sc.to)) {
					continue
				}
				wantCounts[store.StatCount{Category: inc.Category, Severity: inc.Severity, Phase: inc.Phase, CauseClass: inc.CauseClass}]++
				ts := inc.Timestamps
				add := func(name string, from, to *time.Time) {
					if from != nil && to != nil && !to.Before(*from) {
						spans[name] = append(spans[name], to.Sub(*from))
					}
				}
				reported := ts.ReportedAt
				add("mttd", inc.Facts.OccurredAt, ts.DetectedAt)
				add("mtta", &reported, ts.AcknowledgedAt)
				add("mttc", ts.DetectedAt, ts.ContainedAt)
				add("mttr", ts.DetectedAt, ts.RecoveredAt)
			}
			f := store.StatsFilter{Scope: sc.scope, From: sc.from, To: sc.to}
			counts, err := st.CountIncidentStats(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got := map[store.StatCount]int64{}
			var n [4]int64
			for _, c := range counts {
				for i, s := range c.Spans {
					n[i] += s
				}
				k := c
				k.N, k.Spans = 0, [4]int64{}
				got[k] += c.N
			}
			diff(t, "stat counts", got, wantCounts)
			ds, err := st.DurationStats(ctx, f, n)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != 4 {
				t.Fatalf("duration stats %+v", ds)
			}
			for i, d := range ds {
				name := store.ResponseMeasureNames[i]
				v := spans[name]
				slices.Sort(v)
				want := store.DurationStat{Measure: name, N: int64(len(v))}
				if len(v) > 0 {
					rank := func(p int) time.Duration { return v[(p*len(v)+99)/100-1] }
					want.Median, want.P90 = rank(50), rank(90)
				}
				if d != want {
					t.Errorf("%s: got %+v, want %+v", name, d, want)
				}
			}
		})
	}

	// Search: the three-times mention outranks the single one; paging
	// covers every match once; restricted incidents only for members.
	for _, sc := range []struct {
		scope store.Scope
		want  int
	}{{store.Scope{All: true}, 28}, {store.Scope{UserID: member.ID}, 28}, {store.Scope{UserID: outsider.ID}, 24}} {
		hits, more, err := st.SearchIncidents(ctx, sc.scope, "RANSOMWARE", 0, 100)
		if err != nil || more {
			t.Fatalf("search: %v %v", err, more)
		}
		if len(hits) != sc.want {
			t.Errorf("scope %+v: %d hits, want %d", sc.scope, len(hits), sc.want)
		}
		for i, h := range hits {
			if h.Restricted && sc.scope.UserID == outsider.ID {
				t.Errorf("outsider finds restricted %s", h.Key)
			}
			if i > 0 && h.Score > hits[i-1].Score {
				t.Errorf("not ranked at %d", i)
			}
		}
		if !strings.Contains(hits[0].Description, "ransomware ransomware") {
			t.Errorf("best hit %q", hits[0].Description)
		}
		var paged []int64
		for off := 0; ; off += 5 {
			page, more, err := st.SearchIncidents(ctx, sc.scope, "ransomware", off, 5)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range page {
				paged = append(paged, h.ID)
			}
			if !more {
				break
			}
		}
		var all []int64
		for _, h := range hits {
			all = append(all, h.ID)
		}
		if !slices.Equal(paged, all) {
			t.Errorf("paged %v, whole %v", paged, all)
		}
	}
	if hits, _, err := st.SearchIncidents(ctx, store.Scope{All: true}, "!!", 0, 10); err != nil || len(hits) != 0 {
		t.Errorf("punctuation: %v %v", hits, err)
	}
}
