package workflow

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/postgres"
	"aias/internal/tenant"
	"aias/internal/testutil/pgtest"
)

func scheduled(s Schedule) Definition {
	return Definition{Name: "wf", Schedule: &s, Steps: []Step{logStep("a")}}
}

func TestScheduleValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		s       Schedule
		path    string // empty: valid
		message string
	}{
		{"every five minutes", Schedule{Cron: "*/5 * * * *"}, "", ""},
		{"zone and catch-up", Schedule{Cron: "0 9 * * MON-FRI", Timezone: "Europe/Berlin", CatchUp: "once"}, "", ""},
		{"skip spelled out", Schedule{Cron: "0 0 1 JAN *", CatchUp: "skip"}, "", ""},
		{"descriptor", Schedule{Cron: "@hourly", Timezone: "America/New_York"}, "", ""},
		{"UTC by name", Schedule{Cron: "@daily", Timezone: "UTC"}, "", ""},
		{"leap day fires", Schedule{Cron: "0 0 29 2 *"}, "", ""},
		{"missing cron", Schedule{}, "schedule.cron", "is required"},
		{"four fields", Schedule{Cron: "* * * *"}, "schedule.cron", "is not a cron expression"},
		{"six fields (seconds)", Schedule{Cron: "0 * * * * *"}, "schedule.cron", "is not a cron expression"},
		{"minute out of range", Schedule{Cron: "61 * * * *"}, "schedule.cron", "above maximum"},
		{"day of week 7", Schedule{Cron: "0 0 * * 7"}, "schedule.cron", "above maximum"},
		{"unknown descriptor", Schedule{Cron: "@fortnightly"}, "schedule.cron", "is not a cron expression"},
		{"@every", Schedule{Cron: "@every 5m"}, "schedule.cron", "@every is not supported"},
		{"zone inside cron", Schedule{Cron: "CRON_TZ=Europe/Berlin 0 9 * * *"}, "schedule.cron", "set schedule.timezone"},
		{"never fires", Schedule{Cron: "0 0 30 2 *"}, "schedule.cron", "never fires"},
		{"too long", Schedule{Cron: strings.Repeat("1,", 60) + "1 * * * *"}, "schedule.cron", "at most 100"},
		{"unknown zone", Schedule{Cron: "@daily", Timezone: "Mars/Olympus"}, "schedule.timezone", `unknown time zone "Mars/Olympus"`},
		{"server-local zone", Schedule{Cron: "@daily", Timezone: "Local"}, "schedule.timezone", "unknown time zone"},
		{"offset is no zone", Schedule{Cron: "@daily", Timezone: "+02:00"}, "schedule.timezone", "IANA name"},
		{"catch-up policy", Schedule{Cron: "@daily", CatchUp: "all"}, "schedule.catch_up", `must be "skip" or "once"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := scheduled(tt.s).Validate()
			if tt.path == "" {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", tt.s, err)
				}
				return
			}
			e, ok := errs.As(err)
			if !ok || len(e.Fields) != 1 {
				t.Fatalf("Validate(%+v) = %v, want one field error at %s", tt.s, err, tt.path)
			}
			if f := e.Fields[0]; f.Path != tt.path || !strings.Contains(f.Message, tt.message) {
				t.Errorf("Validate(%+v) = %s: %q, want %s: …%s…", tt.s, f.Path, f.Message, tt.path, tt.message)
			}
		})
	}
}

func TestScheduleValidationReportsEveryField(t *testing.T) {
	t.Parallel()
	err := scheduled(Schedule{Cron: "nope", Timezone: "Nowhere", CatchUp: "twice"}).Validate()
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("Validate = %v, want a validation error", err)
	}
	var paths []string
	for _, f := range e.Fields {
		paths = append(paths, f.Path)
	}
	if got, want := strings.Join(paths, ","), "schedule.cron,schedule.timezone,schedule.catch_up"; got != want {
		t.Errorf("Validate paths = %s, want %s", got, want)
	}
}

func mustCron(t *testing.T, s Schedule) *Cron {
	t.Helper()
	c, err := s.ParseCron()
	if err != nil {
		t.Fatalf("ParseCron(%+v) = %v", s, err)
	}
	return c
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCronReadsTheWallClockOfItsZone(t *testing.T) {
	t.Parallel()
	c := mustCron(t, Schedule{Cron: "0 9 * * *", Timezone: "Europe/Berlin"})
	tests := []struct{ after, want string }{
		{"2025-01-15T00:00:00Z", "2025-01-15T08:00:00Z"}, // winter: CET, UTC+1
		{"2025-07-15T00:00:00Z", "2025-07-15T07:00:00Z"}, // summer: CEST, UTC+2
		{"2025-01-15T08:00:00Z", "2025-01-16T08:00:00Z"}, // strictly after
	}
	for _, tt := range tests {
		if got := c.Next(utc(tt.after)); !got.Equal(utc(tt.want)) {
			t.Errorf("Next(%s) = %s, want %s", tt.after, got.UTC().Format(time.RFC3339), tt.want)
		}
	}
	if got := c.AtOrAfter(utc("2025-01-15T08:00:00Z")); !got.Equal(utc("2025-01-15T08:00:00Z")) {
		t.Errorf("AtOrAfter(a tick) = %s, want the tick itself", got)
	}
	if got := mustCron(t, Schedule{Cron: "0 9 * * *"}).Next(utc("2025-01-15T00:00:00Z")); !got.Equal(utc("2025-01-15T09:00:00Z")) {
		t.Errorf("Next without a zone = %s, want 09:00 UTC", got)
	}
}

func ticksBetween(c *Cron, from, to time.Time) []string {
	var out []string
	for t := c.Next(from); !t.IsZero() && t.Before(to); t = c.Next(t) {
		out = append(out, t.UTC().Format("01-02T15:04"))
	}
	return out
}

func TestCronAcrossDaylightSavingTime(t *testing.T) {
	t.Parallel()
	berlin := func(expr string) *Cron { return mustCron(t, Schedule{Cron: expr, Timezone: "Europe/Berlin"}) }
	tests := []struct {
		name     string
		c        *Cron
		from, to string
		want     string
	}{
		// 2024-10-27: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
		{"repeated hour ticks once", berlin("30 2 * * *"), "2024-10-26T12:00:00Z", "2024-10-28T12:00:00Z", "10-27T00:30,10-28T01:30"},
		{"every-hour schedules follow real time", berlin("0 * * * *"), "2024-10-26T23:30:00Z", "2024-10-27T02:30:00Z",
			"10-27T00:00,10-27T01:00,10-27T02:00"},
		// 2024-03-31: 02:00 CET becomes 03:00 CEST; 02:30 does not exist.
		{"skipped hour has no tick", berlin("30 2 * * *"), "2024-03-30T12:00:00Z", "2024-04-01T12:00:00Z", "04-01T00:30"},
	}
	for _, tt := range tests {
		if got := strings.Join(ticksBetween(tt.c, utc(tt.from), utc(tt.to)), ","); got != tt.want {
			t.Errorf("%s: ticks = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestEffectiveCatchUpDefaultsToSkip(t *testing.T) {
	t.Parallel()
	if got := (Schedule{}).EffectiveCatchUp(); got != CatchUpSkip {
		t.Errorf("EffectiveCatchUp() = %q, want %q", got, CatchUpSkip)
	}
}

type scheduleRow struct {
	Schedule *string    `db:"schedule"`
	NextAt   *time.Time `db:"schedule_next_at"`
}

func TestSavingAVersionMaintainsTheNextTick(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	s, err := tenant.Create(ctx, db.DB, "ops@example.com", "ops")
	if err != nil {
		t.Fatal(err)
	}
	var id uuid.UUID
	save := func(d Definition) scheduleRow {
		t.Helper()
		var row scheduleRow
		err := db.InTenantTx(ctx, s.TenantID, func(q postgres.Querier) error {
			if id == uuid.Nil {
				w, err := Create(ctx, q, s.TenantID, d)
				id = w.ID
				if err != nil {
					return err
				}
			} else if _, err := Update(ctx, q, s.TenantID, id, d); err != nil {
				return err
			}
			return q.GetContext(ctx, &row, `SELECT schedule::text, schedule_next_at FROM workflows WHERE id = $1`, id)
		})
		if err != nil {
			t.Fatal(err)
		}
		return row
	}
	hourly := scheduled(Schedule{Cron: "0 * * * *"})
	first := save(hourly)
	if first.NextAt == nil || first.NextAt.Minute() != 0 || time.Until(*first.NextAt) > time.Hour || time.Until(*first.NextAt) <= 0 {
		t.Fatalf("next tick after create = %v, want the next full hour", first.NextAt)
	}
	// The scheduler has advanced the tick; a new version with the same
	// schedule must not move it back.
	err = db.InTenantTx(ctx, s.TenantID, func(q postgres.Querier) error {
		_, err := q.ExecContext(ctx, `UPDATE workflows SET schedule_next_at = $2 WHERE id = $1`, id, first.NextAt.Add(time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	hourly.Description = "same schedule, new version"
	if kept := save(hourly); kept.NextAt == nil || !kept.NextAt.Equal(first.NextAt.Add(time.Hour)) {
		t.Errorf("next tick after an unrelated change = %v, want it kept at %v", kept.NextAt, first.NextAt.Add(time.Hour))
	}
	daily := scheduled(Schedule{Cron: "0 9 * * *", Timezone: "Europe/Berlin"})
	if moved := save(daily); moved.NextAt == nil || moved.NextAt.In(mustCron(t, *daily.Schedule).Location()).Hour() != 9 {
		t.Errorf("next tick after a new cron = %v, want 09:00 Berlin", moved.NextAt)
	}
	if off := save(Definition{Name: "wf", Steps: []Step{logStep("a")}}); off.Schedule != nil || off.NextAt != nil {
		t.Errorf("schedule after removing it = %v, %v; want both NULL", off.Schedule, off.NextAt)
	}
}

func TestDecodeReadsAScheduleBlock(t *testing.T) {
	t.Parallel()
	doc := `
name: nightly
schedule: {cron: "*/5 * * * *", timezone: Europe/Berlin, catch_up: once}
steps: [{name: a, type: log, with: {message: "tick {{ trigger.body.scheduled_at }}"}}]`
	d, err := Decode([]byte(doc), "application/yaml")
	if err != nil {
		t.Fatalf("Decode = %v", err)
	}
	want := Schedule{Cron: "*/5 * * * *", Timezone: "Europe/Berlin", CatchUp: "once"}
	if d.Schedule == nil || *d.Schedule != want {
		t.Fatalf("Decode schedule = %+v, want %+v", d.Schedule, want)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Validate = %v, want nil", err)
	}
	_, err = Decode([]byte(`{"name":"w","schedule":{"cron":5,"every":"1m"},"steps":[]}`), "application/json")
	e, ok := errs.As(err)
	if !ok || len(e.Fields) != 2 || e.Fields[0].Path != "schedule.cron" || e.Fields[1].Path != "schedule.every" {
		t.Errorf("Decode(mistyped schedule) = %v, want schedule.cron and schedule.every reported", err)
	}
}
