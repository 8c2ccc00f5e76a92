package console

import (
	"fmt"
	"sort"
	"time"
)

// Charts are drawn on the server as SVG: the template writes rects and
// texts from these numbers (presentation attributes, no inline style), so
// a chart needs no script and nothing a page shows is ever markup built
// from data.

// Chart is an SVG drawing in a viewBox of Width × Height.
type Chart struct {
	Width, Height float64
	Bars          []Bar
	Labels        []Label
	Legend        []string // the statuses shown, for the legend
	Empty         bool
	Summary       string // the chart in words, for screen readers
}

// Bar is one rectangle; Class colours it (bar-<status>), Title is its
// tooltip.
type Bar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

// Label is one text of a chart.
type Label struct {
	X, Y   float64
	Text   string
	Anchor string // start, middle, end
}

// Count is how many runs of a status began in one minute.
type Count struct {
	Minute time.Time
	Status string
	N      int64
}

// statusOrder stacks bars the same way everywhere: finished at the bottom.
var statusOrder = []string{"succeeded", "failed", "dead", "canceled", "running", "delayed", "queued", "held"}

// PerMinute draws runs per minute by status over the window ending at now,
// as stacked bars, one column per minute.
func PerMinute(now time.Time, window time.Duration, counts []Count) Chart {
	const width, height, top, bottom, left = 960.0, 200.0, 10.0, 22.0, 36.0
	minutes := int(window / time.Minute)
	start := now.Truncate(time.Minute).Add(-window + time.Minute)
	colW := (width - left) / float64(minutes)
	byMinute := map[int]map[string]int64{}
	seen := map[string]bool{}
	var total, peak int64
	for _, c := range counts {
		i := int(c.Minute.Sub(start) / time.Minute)
		if i < 0 || i >= minutes {
			continue
		}
		if byMinute[i] == nil {
			byMinute[i] = map[string]int64{}
		}
		byMinute[i][c.Status] += c.N
		seen[c.Status] = true
		total += c.N
	}
	for _, m := range byMinute {
		var sum int64
		for _, n := range m {
			sum += n
		}
		peak = max(peak, sum)
	}
	ch := Chart{Width: width, Height: height, Empty: total == 0,
		Summary: fmt.Sprintf("%d runs in the last %s, at most %d in one minute", total, dur(window), peak)}
	for _, st := range statusOrder {
		if seen[st] {
			ch.Legend = append(ch.Legend, st)
		}
	}
	scale := (height - top - bottom) / float64(max(peak, 1))
	idx := make([]int, 0, len(byMinute))
	for i := range byMinute {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		y := height - bottom
		for _, st := range statusOrder {
			n := byMinute[i][st]
			if n == 0 {
				continue
			}
			h := float64(n) * scale
			y -= h
			w := max(colW, 3) // a minute is under a pixel wide: keep a bar visible
			x := min(left+float64(i)*colW, width-w)
			ch.Bars = append(ch.Bars, Bar{X: x, Y: y, W: w, H: h, Class: "bar-" + st,
				Title: fmt.Sprintf("%s: %d %s", start.Add(time.Duration(i)*time.Minute).UTC().Format("15:04"), n, st)})
		}
	}
	ch.Labels = append(ch.Labels, Label{X: left - 4, Y: top + 8, Text: fmt.Sprint(peak), Anchor: "end"},
		Label{X: left - 4, Y: height - bottom, Text: "0", Anchor: "end"})
	for h := 0; h <= int(window/time.Hour); h += 6 {
		t := start.Add(time.Duration(h) * time.Hour)
		x := left + float64(h*60)*colW
		anchor := "middle"
		if h == 0 {
			anchor = "start"
		} else if h*60 >= minutes {
			anchor, x = "end", width
			t = now
		}
		ch.Labels = append(ch.Labels, Label{X: x, Y: height - 6, Text: t.UTC().Format("15:04"), Anchor: anchor})
	}
	return ch
}

// Span is one step of a run for its timeline: when its last attempt began
// and ended, and how many attempts failed before.
type Span struct {
	Name    string
	Status  string
	Start   *time.Time
	End     *time.Time
	Retries int
}

// Timeline draws a run's steps as bars by start and duration, one row each,
// from the run's start to its last step's end. A step with failed attempts
// has a dashed outline and says how many; a step that never ran has no bar.
func Timeline(runStart time.Time, spans []Span) Chart {
	const width, row, left, right = 960.0, 26.0, 170.0, 240.0
	end := runStart
	for _, s := range spans {
		if s.End != nil && s.End.After(end) {
			end = *s.End
		}
		if s.Start != nil && s.Start.After(end) {
			end = *s.Start
		}
	}
	total := max(end.Sub(runStart), time.Millisecond)
	scale := (width - left - right) / float64(total)
	ch := Chart{Width: width, Height: row*float64(len(spans)) + 22, Empty: len(spans) == 0,
		Summary: fmt.Sprintf("%d steps over %s", len(spans), dur(total))}
	for i, s := range spans {
		y := float64(i) * row
		name := s.Name
		if len(name) > 24 {
			name = name[:23] + "…"
		}
		ch.Labels = append(ch.Labels, Label{X: left - 8, Y: y + 17, Text: name, Anchor: "end"})
		if s.Start == nil {
			ch.Labels = append(ch.Labels, Label{X: left, Y: y + 17, Text: s.Status, Anchor: "start"})
			continue
		}
		stop := end
		if s.End != nil {
			stop = *s.End
		}
		x := left + float64(s.Start.Sub(runStart))*scale
		w := max(float64(stop.Sub(*s.Start))*scale, 2)
		text := fmt.Sprintf("%s · %s", s.Status, dur(stop.Sub(*s.Start)))
		if s.Retries > 0 {
			text += fmt.Sprintf(" · %d failed attempts", s.Retries)
			ch.Bars = append(ch.Bars, Bar{X: x - 2, Y: y + 2, W: w + 4, H: row - 4, Class: "bar-retry",
				Title: fmt.Sprintf("%s: %d failed attempts; the bar is the last attempt", s.Name, s.Retries)})
		}
		ch.Bars = append(ch.Bars, Bar{X: x, Y: y + 5, W: w, H: row - 10, Class: "bar-" + s.Status,
			Title: fmt.Sprintf("%s: %s", s.Name, text)})
		// The label goes after the bar, or before it when the bar ends
		// near the right edge.
		if x+w+6 <= width-right {
			ch.Labels = append(ch.Labels, Label{X: x + w + 6, Y: y + 17, Text: text, Anchor: "start"})
		} else {
			ch.Labels = append(ch.Labels, Label{X: x - 6, Y: y + 17, Text: text, Anchor: "end"})
		}
	}
	ch.Labels = append(ch.Labels, Label{X: left, Y: ch.Height - 4, Text: "0", Anchor: "start"},
		Label{X: width - right, Y: ch.Height - 4, Text: dur(total), Anchor: "end"})
	return ch
}
