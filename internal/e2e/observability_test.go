package e2e_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"
	"unicode"

	"sigs.k8s.io/yaml"

	"aias/internal/config"
	"aias/internal/tools/loopback"
)

// The dashboard and alert rules in deploy/ use metric names; these tests
// check every expression's brackets and functions and prove every metric it
// reads is exported on /metrics by the program that owns it. (promtool
// would check more, but the Prometheus module it comes in does not fit in
// this module's dependencies.)

const (
	alertsFile    = "../../deploy/prometheus/alerts.yml"
	dashboardFile = "../../deploy/grafana/aias-dashboard.json"
)

// exporters says which program exports a metric, by name prefix. Metrics no
// prefix covers fail the test: a new one must be placed here.
var exporters = []struct {
	prefix   string
	programs []string
}{
	{"aias_http_", []string{"ingress"}},
	{"aias_intake_", []string{"ingress"}},
	{"aias_runs_finished_", []string{"worker"}},
	{"aias_run_end_to_end_", []string{"worker"}},
	{"aias_step_", []string{"worker"}},
	{"aias_sweep", []string{"scheduler"}},
	{"aias_schedule", []string{"scheduler"}}, // aias_scheduler_leader, aias_schedule_ticks_total
	{"asynq_", []string{"scheduler"}},        // once, not per worker replica
	{"go_sql_", []string{"ingress", "worker", "scheduler"}},
	{"aias_redis_pool_", []string{"ingress", "worker", "scheduler"}},
	{"aias_dependency_up", []string{"ingress", "worker", "scheduler"}},
}

// madeByPrometheus are series Prometheus records itself when it scrapes.
var madeByPrometheus = []string{"up"}

type alertRules struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

type dashboard struct {
	UID    string `json:"uid"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource *struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// expressions reads every PromQL expression of the rules and the dashboard,
// keyed by where it is.
func expressions(t *testing.T) map[string]string {
	t.Helper()
	exprs := map[string]string{}
	var rules alertRules
	readYAML(t, alertsFile, &rules)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs["alert "+r.Alert] = r.Expr
		}
	}
	var d dashboard
	readJSON(t, dashboardFile, &d)
	for _, p := range d.Panels {
		for i, tg := range p.Targets {
			// Grafana's variables, as Grafana would substitute them
			exprs["panel "+p.Title+" #"+string(rune('A'+i))] = strings.ReplaceAll(tg.Expr, "$__rate_interval", "1m")
		}
	}
	return exprs
}

// metricNames returns the metric names a PromQL expression selects, after
// checking that its brackets and quotes balance. It is a scanner, not a full
// parser: identifiers that are functions, aggregations, keywords, label
// names in braces or in by/without/on/ignoring/group_* lists, and durations
// are not metrics; every other identifier is.
func metricNames(t *testing.T, where, expr string) []string {
	t.Helper()
	var names []string
	var stack []byte
	skipList := false // the next (...) is a label list
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			if j >= len(expr) {
				t.Errorf("%s: unterminated string in %q", where, expr)
				return nil
			}
			i = j + 1
		case c == '(' || c == '{' || c == '[':
			if c == '(' && skipList || c == '{' || c == '[' {
				j := strings.IndexByte(expr[i:], map[byte]byte{'(': ')', '{': '}', '[': ']'}[c])
				if j < 0 {
					t.Errorf("%s: unclosed %c in %q", where, c, expr)
					return nil
				}
				i += j + 1
				skipList = false
				continue
			}
			stack = append(stack, c)
			i++
		case c == ')':
			if len(stack) == 0 {
				t.Errorf("%s: unbalanced ) in %q", where, expr)
				return nil
			}
			stack = stack[:len(stack)-1]
			i++
		case c == '_' || c == ':' || unicode.IsLetter(rune(c)):
			j := i
			for j < len(expr) && (expr[j] == '_' || expr[j] == ':' || unicode.IsLetter(rune(expr[j])) || unicode.IsDigit(rune(expr[j]))) {
				j++
			}
			word := expr[i:j]
			next := strings.TrimLeft(expr[j:], " \t\n")
			switch {
			case slices.Contains(listKeywords, word):
				skipList = true
			case slices.Contains(operatorKeywords, word):
			case strings.HasPrefix(next, "by") || strings.HasPrefix(next, "without"): // sum by (x) (...)
				if !slices.Contains(promqlFunctions, word) {
					t.Errorf("%s: %s is not a PromQL aggregation", where, word)
				}
			case strings.HasPrefix(next, "("):
				if !slices.Contains(promqlFunctions, word) {
					t.Errorf("%s: %s( is not a PromQL function or aggregation", where, word)
				}
			default:
				names = append(names, word)
			}
			i = j
		case unicode.IsDigit(rune(c)) || c == '.':
			for i < len(expr) && (unicode.IsDigit(rune(expr[i])) || unicode.IsLetter(rune(expr[i])) || expr[i] == '.') {
				i++ // numbers and durations (5m, 1e3)
			}
		default:
			i++
		}
	}
	if len(stack) != 0 {
		t.Errorf("%s: unbalanced ( in %q", where, expr)
	}
	if len(names) == 0 {
		t.Errorf("%s: %q reads no metric", where, expr)
	}
	return names
}

var (
	listKeywords     = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}
	operatorKeywords = []string{"and", "or", "unless", "bool", "offset"}
	// the PromQL functions and aggregations the files may use
	promqlFunctions = []string{"sum", "min", "max", "avg", "count", "topk", "bottomk", "quantile", "stddev",
		"rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile", "absent", "absent_over_time",
		"time", "vector", "scalar", "clamp_min", "clamp_max", "max_over_time", "min_over_time", "avg_over_time",
		"sum_over_time", "changes", "resets", "label_replace", "round", "abs", "timestamp"}
)

func TestAlertRulesAreWellFormed(t *testing.T) {
	t.Parallel()
	var rules alertRules
	readYAML(t, alertsFile, &rules)
	// the functions Prometheus gives annotation templates
	funcs := template.FuncMap{}
	for _, f := range []string{"humanize", "humanizeDuration", "humanizePercentage", "humanize1024", "humanizeTimestamp", "printf", "query", "first", "value", "label", "title", "toUpper", "toLower"} {
		funcs[f] = func(...any) string { return "" }
	}
	seen := map[string]bool{}
	for _, g := range rules.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("rule group %q is unnamed or empty", g.Name)
		}
		for _, r := range g.Rules {
			if r.Alert == "" || seen[r.Alert] {
				t.Errorf("alert %q: missing or duplicate name", r.Alert)
			}
			seen[r.Alert] = true
			metricNames(t, "alert "+r.Alert, r.Expr)
			if _, err := time.ParseDuration(r.For); err != nil {
				t.Errorf("alert %s: for %q: %v", r.Alert, r.For, err)
			}
			if sev := r.Labels["severity"]; sev != "warning" && sev != "critical" {
				t.Errorf("alert %s: severity %q, want warning or critical", r.Alert, sev)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s: summary and description are required (they say what to do)", r.Alert)
			}
			for k, v := range r.Annotations {
				// Prometheus defines these variables before the annotation's text
				const prelude = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
				if _, err := template.New(k).Funcs(funcs).Parse(prelude + v); err != nil {
					t.Errorf("alert %s: annotation %s: %v", r.Alert, k, err)
				}
			}
		}
	}
	for _, want := range []string{"AIASQueueLatencyHigh", "AIASDeadRunsGrowing", "AIASIntakeErrors", "AIASPostgresPoolSaturated", "AIASSchedulerNotSweeping", "AIASRedisDown",
		"AIASRedisRefusesWork", "AIASPostgresNoConnection"} {
		if !seen[want] {
			t.Errorf("alerts.yml lacks %s", want)
		}
	}
}

func TestDashboardIsWellFormed(t *testing.T) {
	t.Parallel()
	var d dashboard
	readJSON(t, dashboardFile, &d)
	if d.UID == "" {
		t.Error("dashboard has no uid")
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: want the ${datasource} variable and at least one query", p.Title)
		}
	}
	for where, expr := range expressions(t) {
		metricNames(t, where, expr)
	}
}

func TestEveryMetricOfTheDashboardAndAlertsIsExportedByItsProgram(t *testing.T) {
	t.Parallel()
	ingress := start(t, options{role: config.RoleIngress, env: map[string]string{"AIAS_METRICS_ADDR": freeAddr(t)}})
	workerAddr, schedAddr := freeAddr(t), freeAddr(t)
	start(t, options{db: ingress.db, redisURL: ingress.redisURL, role: config.RoleWorker, env: map[string]string{"AIAS_METRICS_ADDR": workerAddr}})
	start(t, options{db: ingress.db, redisURL: ingress.redisURL, role: config.RoleScheduler, env: map[string]string{"AIAS_METRICS_ADDR": schedAddr}})

	acme := ingress.signup("acme")
	url := ingress.createEndpoint(acme.Key, ingress.createWorkflow(acme.Key, orderWorkflow))
	_, id := ingress.post(url, `{"order":{"id":"m","total":500}}`)
	ingress.waitRun(acme.Key, id, "succeeded")

	scraped := map[string]string{
		"ingress":   scrape(t, ingress, ingress.ops+"/metrics", "aias_intake_total"),
		"worker":    scrape(t, ingress, "http://"+workerAddr+"/metrics", "aias_runs_finished_total"),
		"scheduler": scrape(t, ingress, "http://"+schedAddr+"/metrics", "asynq_queue_size"),
	}
	checked := map[string]bool{}
	for where, expr := range expressions(t) {
		for _, name := range metricNames(t, where, expr) {
			if checked[name] || slices.Contains(madeByPrometheus, name) {
				continue
			}
			checked[name] = true
			programs := exportersOf(name)
			if programs == nil {
				t.Errorf("%s reads %s, which no program is known to export (add it to exporters)", where, name)
			}
			for _, p := range programs {
				if !exposes(scraped[p], name) {
					t.Errorf("%s reads %s, missing from the %s's /metrics", where, name, p)
				}
			}
		}
	}
	for _, p := range []string{"ingress", "worker"} {
		if exposes(scraped[p], "asynq_queue_size") {
			t.Errorf("the %s exports asynq_queue_size: queue figures belong to the scheduler alone", p)
		}
	}
}

func exportersOf(name string) []string {
	for _, e := range exporters {
		if strings.HasPrefix(name, e.prefix) {
			return e.programs
		}
	}
	return nil
}

// exposes reports whether an exposition holds a sample of the series name.
func exposes(exposition, name string) bool {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `[{ ]`).MatchString(exposition)
}

// scrape reads an ops listener's /metrics once it holds want.
func scrape(t *testing.T, s *system, url, want string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := s.do("GET", url, "", "", nil)
		if r.Status == 200 && exposes(r.String(), want) || time.Now().After(deadline) {
			return r.String()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := loopback.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
