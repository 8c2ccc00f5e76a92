package config_test

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"aias/internal/config"
)

// docker-compose.yml and deploy/kubernetes set environment variables by
// name; a typo there is a setting silently ignored. These tests hold the
// manifests to what the programs read.

// configVars are the variables config reads, from the --help text.
func configVars(t *testing.T) map[string]bool {
	t.Helper()
	vars := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  ([A-Z][A-Z0-9_]+) `).FindAllStringSubmatch(config.Help(), -1) {
		vars[m[1]] = true
	}
	if len(vars) < 10 {
		t.Fatalf("found %d variables in config.Help(), the pattern is wrong", len(vars))
	}
	return vars
}

// minimal is the smallest environment each program starts with; Load
// failing on it means a new required variable must be added here (and to
// the manifests).
var minimal = map[string]map[string]string{
	"aias-ingress":   {"DATABASE_URL": "postgres://a@db/aias", "AIAS_ENCRYPTION_KEYS": testKeys},
	"aias-worker":    {"DATABASE_URL": "postgres://a@db/aias", "AIAS_ENCRYPTION_KEYS": testKeys},
	"aias-scheduler": {"DATABASE_URL": "postgres://a@db/aias"},
	"aias migrate":   {"DATABASE_URL": "postgres://a@db/aias"},
	"aias seed":      {"DATABASE_URL": "postgres://a@db/aias"},
}

var roles = map[string]config.Role{
	"aias-ingress": config.RoleIngress, "aias-worker": config.RoleWorker,
	"aias-scheduler": config.RoleScheduler, "aias migrate": config.RoleMigrate, "aias seed": config.RoleMigrate,
}

// deployed are variables whose defaults suit a laptop, not a deployment:
// the manifests must set them although the programs start without them.
var deployed = map[string][]string{
	"aias-ingress":   {"REDIS_URL", "AIAS_PUBLIC_URL"}, // the default Redis is 127.0.0.1; webhook URLs are built from the public URL
	"aias-worker":    {"REDIS_URL"},
	"aias-scheduler": {"REDIS_URL"},
	"aias migrate":   {"AIAS_MIGRATE_DATABASE_URL"}, // the schema owner, not the serving role of DATABASE_URL
	"aias seed":      {"AIAS_MIGRATE_DATABASE_URL", "AIAS_PUBLIC_URL"},
}

// required lists what program needs set: the variables without which it
// does not start, and those of deployed.
func required(t *testing.T, program string) []string {
	t.Helper()
	env := minimal[program]
	if _, err := config.Load(func(k string) string { return env[k] }, roles[program]); err != nil {
		t.Fatalf("%s does not start on its minimal environment %v: %v", program, env, err)
	}
	var out []string
	for name := range env {
		without := func(k string) string {
			if k == name {
				return ""
			}
			return env[k]
		}
		if _, err := config.Load(without, roles[program]); err != nil {
			out = append(out, name)
		}
	}
	return append(out, deployed[program]...)
}

// container is one AIAS program as a manifest runs it.
type container struct {
	where   string // file and name
	program string // "aias-worker", "aias migrate", ...
	env     map[string]bool
	ports   map[string]int // named container ports
	probes  []probe
}

type probe struct{ path, port string }

func TestManifestsSetOnlyVariablesTheProgramsRead(t *testing.T) {
	t.Parallel()
	vars := configVars(t)
	for _, c := range append(composeContainers(t), kubernetesContainers(t)...) {
		for name := range c.env {
			if !vars[name] {
				t.Errorf("%s sets %s, which AIAS does not read (a typo?)", c.where, name)
			}
		}
	}
	// ConfigMaps and Secrets may hold AIAS_* variables no container shows.
	for _, d := range kubernetesDocs(t) {
		for _, key := range append(keys(d.Data), keys(d.StringData)...) {
			if (strings.HasPrefix(key, "AIAS_") || strings.HasPrefix(key, "STRIPE_") || strings.HasSuffix(key, "_URL")) && !vars[key] {
				t.Errorf("%s %s holds %s, which AIAS does not read", d.file, d.Metadata.Name, key)
			}
		}
	}
}

func TestManifestsGiveEachProgramWhatItRequires(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, c := range append(composeContainers(t), kubernetesContainers(t)...) {
		if _, ok := roles[c.program]; !ok {
			t.Errorf("%s runs %q, which is not an AIAS program", c.where, c.program)
			continue
		}
		file, _, _ := strings.Cut(c.where, ":")
		seen[file+" "+c.program] = true
		for _, name := range required(t, c.program) {
			if !c.env[name] {
				t.Errorf("%s runs %s without %s", c.where, c.program, name)
			}
		}
	}
	for _, want := range []string{"docker-compose.yml aias-ingress", "docker-compose.yml aias-worker", "docker-compose.yml aias-scheduler",
		"docker-compose.yml aias migrate", "kubernetes aias-ingress", "kubernetes aias-worker", "kubernetes aias-scheduler", "kubernetes aias migrate"} {
		if !seen[want] {
			t.Errorf("no manifest runs %s", want)
		}
	}
}

func TestKubernetesProbesReachTheProgramsListeners(t *testing.T) {
	t.Parallel()
	cfg := kubernetesConfig(t)
	for _, c := range kubernetesContainers(t) {
		if c.program == "aias migrate" {
			continue
		}
		// Every program answers probes on its ops listener, the ingress too.
		addrVar := "AIAS_METRICS_ADDR"
		loaded, err := config.Load(func(k string) string {
			if v, ok := minimal["aias-ingress"][k]; ok { // the Secrets' values are placeholders
				return v
			}
			return cfg[k]
		}, roles[c.program])
		if err != nil {
			t.Fatalf("the ConfigMap does not load for %s: %v", c.program, err)
		}
		addr := loaded.MetricsAddr
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("%s: %s = %q: %v", c.where, addrVar, addr, err)
		}
		if len(c.probes) < 2 {
			t.Errorf("%s: want a readiness and a liveness probe, got %d", c.where, len(c.probes))
		}
		for _, p := range c.probes {
			if got := c.ports[p.port]; port != strconv.Itoa(got) {
				t.Errorf("%s: probe %s on port %q (%d), but %s listens on %s", c.where, p.path, p.port, got, addrVar, port)
			}
			if path, _, _ := strings.Cut(p.path, "?"); path != "/healthz" && path != "/readyz" {
				t.Errorf("%s: probe path %s, want /healthz or /readyz", c.where, p.path)
			}
		}
	}
}

// composeContainers reads docker-compose.yml's services that run AIAS.
func composeContainers(t *testing.T) []container {
	t.Helper()
	var f struct {
		Services map[string]struct {
			Image       string            `json:"image"`
			Command     []string          `json:"command"`
			Environment map[string]string `json:"environment"`
		} `json:"services"`
	}
	readManifest(t, "../../docker-compose.yml", &f)
	var out []container
	for name, s := range f.Services {
		if !strings.HasPrefix(s.Image, "aias:") {
			continue
		}
		c := container{where: "docker-compose.yml: service " + name, program: program(s.Command), env: map[string]bool{}}
		for k := range s.Environment {
			c.env[k] = true
		}
		out = append(out, c)
	}
	return out
}

// k8sDoc is the part of a Kubernetes object these tests read.
type k8sDoc struct {
	file     string
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Data       map[string]string `json:"data"`
	StringData map[string]string `json:"stringData"`
	Spec       struct {
		Template struct {
			Spec podSpec `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

type podSpec struct {
	Containers []struct {
		Name    string   `json:"name"`
		Image   string   `json:"image"`
		Command []string `json:"command"`
		Env     []struct {
			Name string `json:"name"`
		} `json:"env"`
		EnvFrom []struct {
			ConfigMapRef *struct {
				Name string `json:"name"`
			} `json:"configMapRef"`
			SecretRef *struct {
				Name string `json:"name"`
			} `json:"secretRef"`
		} `json:"envFrom"`
		Ports []struct {
			Name          string `json:"name"`
			ContainerPort int    `json:"containerPort"`
		} `json:"ports"`
		ReadinessProbe *k8sProbe `json:"readinessProbe"`
		LivenessProbe  *k8sProbe `json:"livenessProbe"`
	} `json:"containers"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `json:"path"`
		Port any    `json:"port"`
	} `json:"httpGet"`
}

// kubernetesDocs reads every object of deploy/kubernetes.
func kubernetesDocs(t *testing.T) []k8sDoc {
	t.Helper()
	files, err := filepath.Glob("../../deploy/kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes (%v)", err)
	}
	var docs []k8sDoc
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			var d k8sDoc
			if err := yaml.Unmarshal([]byte(part), &d); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if d.Kind != "" {
				d.file = filepath.Base(file)
				docs = append(docs, d)
			}
		}
	}
	return docs
}

// kubernetesConfig is the aias-config ConfigMap.
func kubernetesConfig(t *testing.T) map[string]string {
	t.Helper()
	for _, d := range kubernetesDocs(t) {
		if d.Kind == "ConfigMap" && d.Metadata.Name == "aias-config" {
			return d.Data
		}
	}
	t.Fatal("no aias-config ConfigMap in deploy/kubernetes")
	return nil
}

// kubernetesContainers reads the AIAS containers of deploy/kubernetes with
// the variables their env and envFrom give them.
func kubernetesContainers(t *testing.T) []container {
	t.Helper()
	docs := kubernetesDocs(t)
	sources := map[string][]string{} // "ConfigMap/name" → keys
	for _, d := range docs {
		if d.Kind == "ConfigMap" || d.Kind == "Secret" {
			sources[d.Kind+"/"+d.Metadata.Name] = append(keys(d.Data), keys(d.StringData)...)
		}
	}
	var out []container
	for _, d := range docs {
		for _, k := range d.Spec.Template.Spec.Containers {
			if !strings.HasPrefix(k.Image, "aias:") {
				continue
			}
			c := container{where: "kubernetes: " + d.file + " " + k.Name, program: program(k.Command), env: map[string]bool{}, ports: map[string]int{}}
			for _, e := range k.Env {
				c.env[e.Name] = true
			}
			for _, from := range k.EnvFrom {
				var src string
				switch {
				case from.ConfigMapRef != nil:
					src = "ConfigMap/" + from.ConfigMapRef.Name
				case from.SecretRef != nil:
					src = "Secret/" + from.SecretRef.Name
				}
				ks, ok := sources[src]
				if !ok {
					t.Errorf("%s: envFrom %s, which no manifest defines", c.where, src)
				}
				for _, key := range ks {
					c.env[key] = true
				}
			}
			for _, p := range k.Ports {
				c.ports[p.Name] = p.ContainerPort
			}
			for _, p := range []*k8sProbe{k.ReadinessProbe, k.LivenessProbe} {
				if p != nil {
					port, _ := p.HTTPGet.Port.(string)
					c.probes = append(c.probes, probe{path: p.HTTPGet.Path, port: port})
				}
			}
			out = append(out, c)
		}
	}
	return out
}

// program names what a container's command runs.
func program(cmd []string) string {
	if len(cmd) > 1 && cmd[0] == "aias" {
		return "aias " + cmd[1]
	}
	if len(cmd) == 0 {
		return "aias-ingress" // the image's default command
	}
	return cmd[0]
}

func readManifest(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
