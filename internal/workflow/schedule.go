package workflow

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // schedules name IANA zones; images without /usr/share/zoneinfo still know them

	"github.com/robfig/cron/v3"

	"aias/internal/errs"
)

// Catch-up policies: what happens to the ticks of a schedule that passed
// while no scheduler was leading.
const (
	CatchUpSkip = "skip" // the default: missed ticks start no run
	CatchUpOnce = "once" // all missed ticks together start one run
)

// Bounds on a schedule block.
const (
	maxCronLen     = 100
	maxTimezoneLen = 64
)

// cronParser reads the standard five fields (minute hour day-of-month month
// day-of-week, with names such as MON or JAN) and the descriptors @yearly,
// @annually, @monthly, @weekly, @daily, @midnight and @hourly. "@every" is
// parsed but refused by ParseCron: its ticks depend on when counting began,
// so two schedulers would not agree on them.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// starBit is robfig/cron's mark of a field written as "*".
const starBit = 1 << 63

// Cron is a parsed schedule: the ticks of its cron expression, read on the
// wall clock of its time zone.
//
// Daylight saving time: a wall-clock time that does not exist on the day
// clocks go forward has no tick that day; a time that occurs twice on the day
// clocks go back ticks once (the first), unless the hour field is "*"
// (@hourly, "*/15 * * * *"), whose ticks follow real time through both hours.
type Cron struct {
	spec *cron.SpecSchedule
	loc  *time.Location
}

// ParseCron compiles a schedule. It fails for what validate reports.
func (s Schedule) ParseCron() (*Cron, error) {
	loc, err := loadZone(s.Timezone)
	if err != nil {
		return nil, err
	}
	spec, err := parseSpec(s.Cron)
	if err != nil {
		return nil, fmt.Errorf("cron %q %w", s.Cron, err)
	}
	spec.Location = loc
	return &Cron{spec: spec, loc: loc}, nil
}

// EffectiveCatchUp is the catch-up policy with the default applied.
func (s Schedule) EffectiveCatchUp() string {
	if s.CatchUp == "" {
		return CatchUpSkip
	}
	return s.CatchUp
}

// Location is the time zone the schedule's wall clock is read in.
func (c *Cron) Location() *time.Location { return c.loc }

// Next returns the first tick strictly after t, or the zero time when the
// schedule has none within five years.
func (c *Cron) Next(t time.Time) time.Time {
	for {
		t = c.spec.Next(t)
		if t.IsZero() || !c.repeat(t) {
			return t
		}
	}
}

// AtOrAfter returns the first tick at or after t (zero: none within five years).
func (c *Cron) AtOrAfter(t time.Time) time.Time { return c.Next(t.Add(-time.Nanosecond)) }

// repeat reports whether tick t shows the same wall-clock time as an earlier
// instant — the second pass through an hour when clocks go back — for a
// schedule that names its hours. Zones shift by 30 minutes, one or two hours.
func (c *Cron) repeat(t time.Time) bool {
	if c.spec.Hour&starBit != 0 {
		return false
	}
	wall := t.In(c.loc)
	for _, d := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
		if sameWallClock(t.Add(-d).In(c.loc), wall) {
			return true
		}
	}
	return false
}

func sameWallClock(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd && a.Hour() == b.Hour() && a.Minute() == b.Minute() && a.Second() == b.Second()
}

func loadZone(name string) (*time.Location, error) {
	switch {
	case name == "":
		return time.UTC, nil
	case name == "Local" || len(name) > maxTimezoneLen:
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

func parseSpec(expr string) (*cron.SpecSchedule, error) {
	expr = strings.TrimSpace(expr)
	switch {
	case expr == "":
		return nil, errors.New("is required")
	case len(expr) > maxCronLen:
		return nil, fmt.Errorf("must be at most %d characters", maxCronLen)
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		return nil, errors.New("must not name a time zone; set schedule.timezone instead")
	case strings.HasPrefix(expr, "@every"):
		return nil, errors.New(`@every is not supported; write the interval as cron fields ("*/5 * * * *")`)
	}
	sched, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("is not a cron expression (minute hour day-of-month month day-of-week, or @hourly, @daily, @weekly, @monthly, @yearly): %s", err.Error())
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, errors.New("is not a cron expression")
	}
	return spec, nil
}

// validate checks a schedule block at path.
func (s *Schedule) validate(path string) []errs.FieldError {
	if s == nil {
		return nil
	}
	var problems []errs.FieldError
	add := func(field, msg string) {
		problems = append(problems, errs.FieldError{Path: path + "." + field, Message: msg})
	}
	spec, err := parseSpec(s.Cron)
	if err != nil {
		add("cron", err.Error())
	}
	loc, err := loadZone(s.Timezone)
	if err != nil {
		add("timezone", err.Error()+" (an IANA name such as Europe/Berlin)")
	}
	if s.CatchUp != "" && s.CatchUp != CatchUpSkip && s.CatchUp != CatchUpOnce {
		add("catch_up", fmt.Sprintf("must be %q or %q", CatchUpSkip, CatchUpOnce))
	}
	if spec != nil && loc != nil {
		spec.Location = loc
		if spec.Next(time.Now()).IsZero() {
			add("cron", "never fires (no matching date within five years)")
		}
	}
	return problems
}
